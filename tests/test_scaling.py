"""The same plan in other units: money and people rescaled for HiGHS (optimizer/data/scaling.py), and a
re-check whose tolerance follows the data's own size.

`instances/tiny` with every money figure x10^k and people_per_million x10^-k is the same problem:
its optimum lifts 2,760 people with the same flows x10^k. HiGHS's absolute tolerances used to
call a plan lifting 480 (k = 11) or 0 (k = 12) people optimal.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from optimizer.data.errors import InvalidInstance
from optimizer.solving.evaluate import people_lifted
from optimizer.data.io import bundled_instances, load_instance
from optimizer.solving.recheck import recheck
from optimizer.data.scaling import MONEY_COLUMNS, RATE_COLUMNS, scale_of
from optimizer.solving.solve import solve

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"


def scaled_tiny(folder: Path, money: float, rate: float) -> Path:
    """tiny with every money figure x money and people_per_million x rate, written as CSV."""
    shutil.copytree(TINY, folder)
    factors = {**{(t, c): money for t, cs in MONEY_COLUMNS.items() for c in cs},
               **{(t, c): rate for t, cs in RATE_COLUMNS.items() for c in cs}}
    for table in {t for t, _ in factors}:
        path = folder / f"{table}.csv"
        if not path.exists():
            continue
        rows = list(csv.DictReader(path.open(encoding="utf-8")))
        for row in rows:
            for column in row:
                if (table, column) in factors and row[column]:
                    row[column] = repr(float(row[column]) * factors[table, column])
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(out.getvalue(), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def tiny_plan():
    return solve(load_instance(TINY))


@pytest.mark.parametrize("k", range(-6, 13))
def test_tiny_in_other_units_has_the_same_optimum(k: int, tmp_path: Path, tiny_plan) -> None:
    """Money x10^k, people_per_million x10^-k: 2,760 people, by a plan that (in tiny's units) keeps
    every rule of tiny and lifts 2,760 there; or a refusal of figures outside their ranges."""
    folder = scaled_tiny(tmp_path / "tiny", 10.0 ** k, 10.0 ** -k)
    try:
        instance = load_instance(folder)
    except InvalidInstance as exc:  # figures outside the documented ranges: refused, never mis-solved
        assert all("expected a value <=" in p.message for p in exc.problems), exc
        return
    result = solve(instance)
    assert result.status == "optimal", result.message
    assert result.objective == pytest.approx(2760, rel=1e-9)
    assert result.summary["people_lifted"] == pytest.approx(2760, rel=1e-9)
    # the year split is free (alternative optima): compare the plan by tiny's rules and effect
    plan = result.allocation.assign(aid=result.allocation["aid"] / 10.0 ** k)
    tiny = load_instance(TINY)
    assert recheck(tiny, plan, result.decisions) == []
    assert people_lifted(tiny, plan).sum() == pytest.approx(2760, rel=1e-9)
    # a budget's dual is people per million yuan: x10^-k
    budget = result.duals[result.duals["family"] == "budget"]["dual"].to_numpy()
    expected = tiny_plan.duals[tiny_plan.duals["family"] == "budget"]["dual"].to_numpy()
    assert budget == pytest.approx(expected * 10.0 ** -k, rel=1e-9)


@pytest.mark.parametrize("name", bundled_instances())
def test_bundled_instances_are_solved_as_they_are(name: str) -> None:
    assert scale_of(load_instance(name)).plain


def test_money_far_too_small_for_the_zero_cut(tmp_path: Path) -> None:
    """Money x1e-12 alone (people as they are): every flow is below the 1e-9 zero cut of the
    plain solve. Lifting 2,920 people per million yuan of tiny (tiny with poor populations that
    never bind), the plan lifts 2.92e-9 people and keeps its flows."""
    instance = load_instance(scaled_tiny(tmp_path / "tiny", 1e-12, 1.0))
    result = solve(instance)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(2.92e-9, rel=1e-6)
    assert result.allocation["aid"].sum() == pytest.approx(40e-12, rel=1e-9)


def test_recheck_tolerance_follows_the_data(tmp_path: Path) -> None:
    """A plan that spends nothing breaks tiny's budgets also in units where each budget is 1e-8
    (the old 1e-6 x (1 + |budget|) tolerance let it pass); the optimal plan in those units passes."""
    instance = load_instance(scaled_tiny(tmp_path / "tiny", 1e-9, 1.0))
    nothing = pd.DataFrame(columns=["donor", "recipient", "instrument", "category", "year", "aid"])
    decisions = pd.DataFrame(columns=["kind", "donor", "recipient", "instrument", "project", "year", "count", "money"])
    assert any(v.startswith("budget coastal 2011") for v in recheck(instance, nothing, decisions))
    plan = solve(instance)
    assert plan.status == "optimal" and recheck(instance, plan.allocation, plan.decisions) == []


def test_a_plan_with_no_aid_is_optimal_and_written(tmp_path: Path) -> None:
    """Proportions 0 and quotas 0: nothing to give. The re-check crashed (KeyError: 'donor')."""
    instance = load_instance(TINY, **{"proportion.provincial": 0.0, "proportion.prefectural": 0.0})
    instance = dataclasses.replace(instance, pairs=instance.pairs.assign(base_quota=0.0))
    result = solve(instance)
    assert result.status == "optimal" and result.objective == 0 and result.allocation.empty
    assert result.summary["people_lifted"] == 0
    for fmt in ("csv", "xlsx", "parquet"):
        assert result.write(tmp_path / fmt, fmt)


def test_studies_refuse_what_solve_rescales(tmp_path: Path) -> None:
    """Studies build their models unscaled: on tiny x1e12 they refuse (exit 2) instead of calling a
    wrong plan optimal."""
    from optimizer.analysis.alternatives import alternatives
    from optimizer.analysis.frontier import frontier
    from optimizer.studies.study import Study
    from optimizer.studies.sweep import sweep
    from optimizer.analysis.target import target

    instance = load_instance(scaled_tiny(tmp_path / "tiny", 1e12, 1e-12))
    study = Study.model_validate({"study": {"design": "grid"}, "parameter": [
        {"path": "proportion.provincial", "values": [0.01, 0.02]}]})
    for run in (lambda: alternatives(instance), lambda: frontier(instance), lambda: target(instance, people=1000),
                lambda: sweep(instance, study, workers=1)):
        with pytest.raises(InvalidInstance, match="does not yet: give money in million yuan"):
            run()
