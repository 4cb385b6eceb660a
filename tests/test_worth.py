"""One "worth of a million" (issue 15, section 2): the report, the duals table and ranging give
the same figure for one more million of a donor's budget, the one a planner means (the budget's
priority shares following it). On main the report said 62.7 people for Beijing's budget (the
budget row's dual, shares held fixed in million yuan) and ranging 51.834."""

from __future__ import annotations

import pytest

from optimizer import load_instance, solve
from optimizer.reports.report import budget_duals, load_result


def test_report_duals_and_ranging_agree_for_beijing(tmp_path):
    result = solve(load_instance("ewppt-2010", **{"scenario.year_profile": "free"}), ranging=True)
    result.write(tmp_path / "plan", "csv")
    _, tables = load_result(tmp_path / "plan")
    report = budget_duals(tables["duals"]).loc["beijing"]
    duals = result.duals[(result.duals["family"] == "budget_worth") & (result.duals["donor"] == "beijing")]
    ranging = result.ranging[(result.ranging["family"] == "budget") & (result.ranging["donor"] == "beijing")]
    years = sorted(ranging["year"])
    assert years == [2011, 2012, 2013, 2014, 2015]
    for year in years:
        slope = float(ranging.loc[ranging["year"] == year, "slope"].iloc[0])
        assert float(duals.loc[duals["year"] == year, "dual"].iloc[0]) == pytest.approx(slope, rel=1e-6)
        assert float(report[year]) == pytest.approx(slope, rel=1e-6)
    # the other figure is kept under its own name, and differs here (shares bind)
    own = result.duals[(result.duals["family"] == "budget") & (result.duals["donor"] == "beijing")]
    assert (own["dual"] - duals["dual"].to_numpy()).abs().max() > 1
