"""`ewppt explain`: the conflict (HiGHS's IIS) and the least change to the values in the files
(issue 7, item 1; issue 15, section 1).

Each scenario below is tiny (instances/tiny/README.md) made infeasible on purpose; the
conflicting rules and the least change (fewest values, then least relative change) are derived
by hand in each test's docstring. Budgets: coastal 0.01 x 1,000 = 10 and harbour 0.02 x 500 = 10
million a year, 2011-2012.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from optimizer import load_instance, solve
from optimizer.analysis.explain import explain
from tests.conftest import INSTANCES
from tests.test_outputs import run_cli

TINY = INSTANCES / "tiny"


def copy_of_tiny(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(TINY, folder)
    return folder


def named(explanation) -> set[tuple]:
    """The conflict's rows as (family, rule, donor, recipient, instrument, year)."""
    table = explanation.tables()["conflict"]
    return {tuple(None if pd.isna(v) else v for v in row)
            for row in table[["family", "rule", "donor", "recipient", "instrument", "year"]].itertuples(index=False)}


def apply_changes(folder: Path, explanation) -> dict:
    """Write the explanation's file changes into the instance folder; returns the scenario
    overrides (dotted keys) for the changes to scenario.toml."""
    overrides = {}
    for change in explanation.changes.itertuples():
        if change.file == "scenario.toml":
            overrides[f"{change.section}.{change.column}"] = change.value
            continue
        table = pd.read_csv(folder / change.file)
        match = pd.Series(True, index=table.index)
        for column in ("donor", "recipient", "instrument", "year"):
            value = getattr(change, column)
            if column in table.columns and not pd.isna(value):
                match &= table[column] == value
        assert match.sum() == 1, change
        table.loc[match, change.column] = change.value
        table.to_csv(folder / change.file, index=False)
    return overrides


def test_shares_over_one(tmp_path):
    """household_finance_min 0.6 + public_goods_min 0.5 ask 6 + 5 = 11 million of a budget of
    10: the conflict is those two rows and one budget, of one donor and year (every donor-year
    has the same conflict; an IIS is one of them). One value must change (either share by 0.1);
    household's 0.6 -> 0.5 is the smaller relative change (1/6 against public goods' 1/5)."""
    shares = {"priorities.household_finance_min": 0.6, "priorities.public_goods_min": 0.5}
    instance = load_instance(TINY, **shares)
    assert solve(instance).status == "infeasible"
    e = explain(instance)
    assert e.status == "infeasible"
    rows = named(e)
    (donor, year), = {(r[2], r[5]) for r in rows}
    assert rows == {("budget", None, donor, None, None, year),
                    ("priority_share", "household_finance_min", donor, None, None, year),
                    ("priority_share", "public_goods_min", donor, None, None, year)}
    assert e.headline == (f"{donor} {year}: household_finance_min 6.00 + public_goods_min 5.00 = 11.00 million exceed "
                          f"the whole budget of 10.00 million")
    assert e.bounds == ["aid is never negative"]
    assert isinstance(e.changes, pd.DataFrame)
    assert e.penalty == pytest.approx(0.1 / 0.6, abs=1e-7)
    (change,) = e.changes.itertuples()
    assert (change.file, change.column, change.current, change.value) == (
        "scenario.toml", "household_finance_min", 0.6, pytest.approx(0.5))
    assert e.checked
    relaxed = {**shares, **apply_changes(tmp_path, e)}
    assert solve(load_instance(TINY, **relaxed)).status == "optimal"


def test_quotas_over_the_budget(tmp_path):
    """Quotas coastal->upland 6 and coastal->plateau 5 ask 11 million a year of coastal's 10:
    the conflict is the two quota rows and coastal's budget in one year. One quota must fall by 1
    million: upland's 6 -> 5 (relative 1/6, against plateau's 1/5)."""
    folder = copy_of_tiny(tmp_path, "quotas")
    pairs = pd.read_csv(folder / "pairs.csv")
    pairs.loc[pairs["recipient"].isin(["upland", "plateau"]) & (pairs["donor"] == "coastal"), "base_quota"] = [6, 5]
    pairs.to_csv(folder / "pairs.csv", index=False)
    e = explain(load_instance(folder))
    rows = named(e)
    (year,) = {r[5] for r in rows}
    assert rows == {("budget", None, "coastal", None, None, year),
                    ("quota", None, "coastal", "upland", None, year),
                    ("quota", None, "coastal", "plateau", None, year)}
    assert e.headline == (f"coastal {year}: quota coastal->plateau 5.00 + quota coastal->upland 6.00 = 11.00 million "
                          f"exceed the whole budget of 10.00 million")
    assert e.penalty == pytest.approx(1 / 6, abs=1e-7)
    (change,) = e.changes.itertuples()
    assert (change.file, change.recipient, change.current, change.value) == ("pairs.csv", "upland", 6, 5)
    apply_changes(folder, e)
    assert solve(load_instance(folder)).status == "optimal"


def test_the_proportion_when_the_planner_allows_it(tmp_path):
    """The quotas of test_quotas_over_the_budget (6 + 5 of coastal's 10 a year), with the
    proportions allowed to move: coastal's budget is 0.01 x its provincial revenue of 1,000, so
    provincial 0.01 -> 0.011 gives 11 (one value, relative 0.1), less than lowering upland's
    quota (1/6). harbour (prefectural) is untouched. Without the option the quota moves."""
    folder = copy_of_tiny(tmp_path, "quotas")
    pairs = pd.read_csv(folder / "pairs.csv")
    pairs.loc[pairs["recipient"].isin(["upland", "plateau"]) & (pairs["donor"] == "coastal"), "base_quota"] = [6, 5]
    pairs.to_csv(folder / "pairs.csv", index=False)
    e = explain(load_instance(folder), proportion=True)
    (change,) = e.changes.itertuples()
    assert (change.file, change.section, change.column, change.current, change.value) == (
        "scenario.toml", "proportion", "provincial", 0.01, pytest.approx(0.011))
    assert e.penalty == pytest.approx(0.1, abs=1e-7) and e.checked
    assert solve(load_instance(folder, **apply_changes(folder, e))).status == "optimal"
    done = run_cli("explain", str(folder), "--change-proportion")
    assert done.returncode == 1 and "scenario.toml [proportion] provincial: 0.01 -> 0.011 (+10.0%)" in done.stdout
    bad = run_cli("explain", str(folder), "--weight", "proportion=2")
    assert bad.returncode == 2 and "with --change-proportion" in bad.stderr and "Traceback" not in bad.stderr


def test_quota_growth_is_searched_alone():
    """quota_growth_min 0.5 on tiny's flat budgets: coastal spends exactly 10 a year on upland
    and plateau, so both growing by (1 + g) needs 10 >= (1 + g) 10: only g = 0 holds. No share,
    quota or capacity can help (the growth rows multiply aid by 1 + g, out of the linear
    search), so quota_growth_min is searched alone: 0.5 -> 0."""
    e = explain(load_instance(TINY, **{"priorities.quota_growth_min": 0.5}))
    (change,) = e.changes.itertuples()
    assert (change.column, change.current, change.value) == ("quota_growth_min", 0.5, 0)
    assert e.checked and "searched alone" in e.note


def test_without_a_count_in_time_the_l1_form_answers(monkeypatch):
    """When the fewest-values stage finds no count within its time, the least weighted relative
    change alone answers (the L1 form): on the shares of test_shares_over_one it is the same
    change, household 0.6 -> 0.5, and says how it was found."""
    import optimizer.analysis.explain as module

    monkeypatch.setattr(module, "COUNT_TIME_LIMIT", 0.0)
    e = explain(load_instance(TINY, **{"priorities.household_finance_min": 0.6, "priorities.public_goods_min": 0.5}))
    (change,) = e.changes.itertuples()
    assert (change.column, change.value) == ("household_finance_min", pytest.approx(0.5)) and e.checked
    assert "whatever the count" in e.note


def test_capacity_under_the_budget(tmp_path):
    """harbour must spend 10 million in 2011 on valley and plateau, whose capacities for all
    three instruments in 2011 add up to 2+2+2+1+1+1 = 9 (investment demand is raised so that
    the investment coupling limits nothing): the conflict is harbour's 2011 budget and the six
    capacity rows. One capacity must rise by 1 million: one of valley's (2 -> 3, relative 1/2,
    against 1 for one of plateau's)."""
    folder = copy_of_tiny(tmp_path, "capacity")
    rec = pd.read_csv(folder / "recipients.csv")
    rec["investment_demand"] = 1000
    rec.to_csv(folder / "recipients.csv", index=False)
    pd.DataFrame([(w, k, 2011, cap) for w, cap in (("valley", 2), ("plateau", 1))
                  for k in ("loan_guarantee", "cdf", "roads")],
                 columns=["recipient", "instrument", "year", "max_aid"]).to_csv(folder / "capacity.csv", index=False)
    e = explain(load_instance(folder))
    assert named(e) == {("budget", None, "harbour", None, None, 2011)} | {
        ("capacity", None, None, w, k, 2011) for w in ("valley", "plateau") for k in ("loan_guarantee", "cdf", "roads")}
    assert e.headline == ("harbour 2011: the budget of 10.00 million must be spent, but 6 limits let it spend at most "
                          "9.00 million")
    assert e.penalty == pytest.approx(0.5, abs=1e-7)
    (change,) = e.changes.itertuples()
    assert (change.file, change.recipient, change.year, change.current, change.value) == (
        "capacity.csv", "valley", 2011, 2, 3)
    apply_changes(folder, e)
    assert solve(load_instance(folder)).status == "optimal"


def test_a_lock_over_the_budget_is_named(tmp_path):
    """A promise of 12 million of roads from coastal to upland in 2011, where coastal's budget
    is 10: the conflict is the lock and that budget; the least change lowers the promise to 10
    (relative 2/12)."""
    folder = copy_of_tiny(tmp_path, "lock")
    pd.DataFrame([{"donor": "coastal", "recipient": "upland", "instrument": "roads", "year": 2011, "aid": 12}]).to_csv(
        folder / "locks.csv", index=False)
    e = explain(load_instance(folder))
    assert named(e) == {("budget", None, "coastal", None, None, 2011),
                        ("lock", None, "coastal", "upland", "roads", 2011)}
    lock = next(c for c in e.conflict if c.family == "lock")
    assert lock.text == "lock coastal->upland roads 2011: exactly 12.00 million (locks.csv)"
    assert e.headline == ("coastal 2011: lock coastal->upland roads 12.00 = 12.00 million exceed the whole budget of "
                          "10.00 million")
    assert e.penalty == pytest.approx(2 / 12, abs=1e-7)
    (change,) = e.changes.itertuples()
    assert (change.file, change.column, change.current, change.value) == ("locks.csv", "aid", 12, 10)
    apply_changes(folder, e)
    assert solve(load_instance(folder)).status == "optimal"


def test_a_fund_larger_than_any_budget(tmp_path):
    """cdf funds need at least 100 million, and a lock asks for at least 1 million of cdf from
    coastal to upland in 2011. Upland's fund can hold at most coastal's 20 million over the
    plan, so even the LP relaxation cannot establish any part of it: the conflict is the lock,
    the fund minimum and the fund's capital limit."""
    from tests.test_mip import variant

    folder = variant(tmp_path, "fund", instruments={"cdf": (100, 0)})
    pd.DataFrame([{"donor": "coastal", "recipient": "upland", "instrument": "cdf", "year": 2011, "min_aid": 1}]
                 ).to_csv(folder / "locks.csv", index=False)
    e = explain(load_instance(folder))
    assert named(e) == {("lock", None, "coastal", "upland", "cdf", 2011), ("fund_min", None, None, "upland", "cdf", None),
                        ("fund_max", None, None, "upland", "cdf", None)}
    assert any("at least 100.00 million over the plan" in c.text for c in e.conflict)
    (change,) = e.changes.itertuples()
    assert (change.file, change.column, change.current, change.value) == ("locks.csv", "min_aid", 1, 0)


def test_a_conflict_in_the_whole_decisions(tmp_path):
    """cdf funds need at least 15 million over the plan; locks ask for at least 1 million of
    cdf and at least 6 million of roads a year from coastal to upland. Coastal's 10 a year then
    leave upland's cdf at most 4 + 4 = 8 < 15 over the plan, so the fund cannot be established,
    yet the cdf lock needs it. The LP relaxation is feasible (a fraction of a fund), so there
    is no IIS; the least change of the MIP drops the cdf lock to 0 (one value, relative 1;
    lowering the roads locks would take two values)."""
    from tests.test_mip import variant

    folder = variant(tmp_path, "fund", instruments={"cdf": (15, 0)})
    pd.DataFrame([("coastal", "upland", "cdf", 2011, 1), ("coastal", "upland", "roads", 2011, 6),
                  ("coastal", "upland", "roads", 2012, 6)],
                 columns=["donor", "recipient", "instrument", "year", "min_aid"]).to_csv(folder / "locks.csv", index=False)
    instance = load_instance(folder)
    assert solve(instance, **{"scenario.model": "lp"}).status == "optimal"
    assert solve(instance).status == "infeasible"
    e = explain(instance)
    assert e.status == "infeasible" and e.conflict == []
    assert "whole decisions" in e.headline
    assert e.penalty == pytest.approx(1.0, abs=1e-7)
    (change,) = e.changes.itertuples()
    assert (change.file, change.instrument, change.column, change.current, change.value) == (
        "locks.csv", "cdf", "min_aid", 1, 0)
    apply_changes(folder, e)
    assert solve(load_instance(folder)).status == "optimal"


def test_a_feasible_scenario_has_nothing_to_explain(tiny):
    assert explain(tiny).status == "feasible"


def test_cli(tmp_path):
    """`ewppt solve` on an infeasible scenario points to `explain`; `explain` prints the
    conflict and the values to change, writes them with --out, and exits 1."""
    folder = copy_of_tiny(tmp_path, "shares")
    scenario = (folder / "scenario.toml").read_text()
    (folder / "scenario.toml").write_text(scenario.replace('scope = "donor"', 'scope = "donor"\n'
                                                           'household_finance_min = 0.6\npublic_goods_min = 0.5'))
    solved = run_cli("solve", str(folder), "--out", str(tmp_path / "r"))
    assert solved.returncode == 1 and "ewppt explain" in solved.stderr
    done = run_cli("explain", str(folder), "--out", str(tmp_path / "why"))
    assert done.returncode == 1, done.stderr
    assert ("household_finance_min 6.00 + public_goods_min 5.00 = 11.00 million exceed the whole budget of 10.00 million"
            in done.stdout)
    assert "scenario.toml [priorities] household_finance_min: 0.6 -> 0.5 (-16.7%)" in done.stdout
    assert len(pd.read_csv(tmp_path / "why" / "conflict.csv")) == 3
    changes = pd.read_csv(tmp_path / "why" / "changes.csv")
    assert len(changes) == 1 and changes["file"].iloc[0] == "scenario.toml"
    # the same scenario by --set on the bundled folder
    overridden = run_cli("explain", str(TINY), "--set", "priorities.household_finance_min=0.6",
                         "--set", "priorities.public_goods_min=0.5")
    assert overridden.returncode == 1 and "exceed the whole budget" in overridden.stdout
    feasible = run_cli("explain", str(TINY))
    assert feasible.returncode == 0 and "feasible" in feasible.stdout
    bad = run_cli("explain", str(TINY), "--weight", "budget=2")
    assert bad.returncode == 2 and "--weight, key 'budget', value 2: expected one of" in bad.stderr
    typo = run_cli("explain", str(TINY), "--set", "priorities.women_mn=0.3")
    assert typo.returncode == 2 and "did you mean 'priorities.women_min'" in typo.stderr


@pytest.mark.parametrize("overrides", [
    {"priorities.household_finance_min": 0.6, "priorities.public_goods_min": 0.5},
    {"priorities.quota_growth_min": 0.5},
    {"priorities.coverage_min": 0.6},
])
def test_the_subset_is_infeasible_and_irreducible(tiny, overrides):
    """irreducible_subset's rows (with every column bound) cannot all hold, and freeing any one
    of them lets the others hold: checked by solving the LP with only those rows."""
    import highspy
    import numpy as np

    from models.assemble import build_model
    from optimizer.analysis.explain import irreducible_subset
    from optimizer.solving.solve import _run, new_solver

    scenario = tiny.scenario.override(**overrides)
    model, opt = build_model(tiny, scenario), new_solver()
    assert _run(opt, model, scenario)[0] == "infeasible"
    lp = opt._solver_model.getLp()
    subset = irreducible_subset(lp)
    assert subset is not None and len(subset.rows) >= 2

    def infeasible_with(rows) -> bool:
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.passModel(lp)
        others = np.setdiff1d(np.arange(lp.num_row_), rows).astype(np.int32)
        highs.changeRowsBounds(len(others), others, np.full(len(others), -highspy.kHighsInf),
                               np.full(len(others), highspy.kHighsInf))
        highs.run()
        return highs.getModelStatus() == highspy.HighsModelStatus.kInfeasible

    assert infeasible_with(subset.rows)
    for dropped in subset.rows:
        assert not infeasible_with([r for r in subset.rows if r != dropped]), dropped
