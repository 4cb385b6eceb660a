"""Ranging (issue 7, item 3): each interval is confirmed by re-solving the instance with the
figure moved just inside it (the objective follows the reported slope) and just outside it
(the plan changes: the slope is no longer reached, or no plan exists).

Tiny's plan and its budget duals (40 for coastal, 50 for harbour) are derived in
instances/tiny/README.md.
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest

from optimizer import solve
from tests.test_outputs import run_cli

APPROX = dict(rel=1e-9, abs=1e-6)
# tiny with a share and a capacity, so that priority_share and capacity rows are ranged too
VARIANT = {"priorities.enterprise_finance_min": 0.25}


def with_capacity(instance):
    rows = pd.DataFrame([{"recipient": "plateau", "instrument": "cdf", "year": t, "max_aid": 1.0} for t in (2011, 2012)])
    return dataclasses.replace(instance, capacity=pd.concat([instance.capacity, rows], ignore_index=True))


def moved(instance, figure, value: float):
    """The instance (and scenario overrides) with one ranged figure set to `value`."""
    g = figure._asdict()
    if figure.family == "budget":  # a donor-year's budget is p x its revenue: scale the revenue
        revenue = instance.revenue.copy()
        rows = (revenue["donor"] == g["donor"]) & (revenue["year"] == g["year"])
        revenue.loc[rows, "revenue"] *= value / figure.value
        return dataclasses.replace(instance, revenue=revenue), {}
    if figure.family == "quota":
        pairs = instance.pairs.copy()
        pairs.loc[(pairs["donor"] == g["donor"]) & (pairs["recipient"] == g["recipient"]), "base_quota"] = value
        return dataclasses.replace(instance, pairs=pairs), {}
    if figure.family == "priority_share":
        return instance, {f"priorities.{g['rule']}": value}
    if figure.family == "capacity":
        capacity = instance.capacity.copy()
        capacity.loc[(capacity["recipient"] == g["recipient"]) & (capacity["instrument"] == g["instrument"])
                     & (capacity["year"] == g["year"]), "max_aid"] = value
        return dataclasses.replace(instance, capacity=capacity), {}
    assert figure.family == "effects"
    effects = instance.effects.copy()
    effects.loc[(effects["recipient"] == g["recipient"]) & (effects["instrument"] == g["instrument"])
                & (effects["segment"] == g["segment"]), "people_per_million"] = value
    return dataclasses.replace(instance, effects=effects), {}


def objective_at(instance, overrides, figure, value: float) -> float | None:
    changed, more = moved(instance, figure, value)
    changes = {**overrides, **more}
    if changes:  # set directly: an effect moved past its neighbour segment is a model, not a valid instance
        changed = dataclasses.replace(changed, scenario=changed.scenario.override(**changes))
    result = solve(changed)
    return result.objective if result.ok else None


def instance_figures(ranging: pd.DataFrame) -> pd.DataFrame:
    """The rows that are one figure of the instance: a budget (donor-year), a pair's base quota
    (every year), a rule's share (every group and year), a capacity row, an effect segment."""
    keep = ranging["family"].isin(["budget", "capacity", "effects"])
    keep |= (ranging["family"] == "quota") & ranging["year"].isna()
    keep |= (ranging["family"] == "priority_share") & ranging["donor"].isna() & ranging["year"].isna()
    return ranging[keep]


def test_budget_interval_of_tiny_by_hand(tiny):
    """Coastal's 2011 budget (10) ranges over [2, 12] with slope 40: above 10 its money goes to
    upland's second cdf segment (40 per million), which has 2 of its width left; below, the
    same segment gives back up to all its 8. Just inside (11.99, 2.01) the objective moves by
    40 per million; just outside above (12.5) the next use is loan guarantees at 30 (2,855, not
    2,860); below 2 coastal cannot meet upland's 2011 quota of 2 (no plan)."""
    result = solve(tiny, ranging=True)
    table = result.ranging
    row = table[(table["family"] == "budget") & (table["donor"] == "coastal") & (table["year"] == 2011)].iloc[0]
    assert (row["value"], row["lower"], row["upper"], row["slope"]) == pytest.approx((10, 2, 12, 40), **APPROX)
    assert (row["objective_at_lower"], row["objective_at_upper"]) == pytest.approx((2440, 2840), **APPROX)
    assert row["exact"]
    (figure,) = table.loc[[row.name]].itertuples(index=False)
    assert objective_at(tiny, {}, figure, 11.99) == pytest.approx(2760 + 1.99 * 40, **APPROX)
    assert objective_at(tiny, {}, figure, 2.01) == pytest.approx(2760 - 7.99 * 40, **APPROX)
    assert objective_at(tiny, {}, figure, 12.5) == pytest.approx(2840 + 0.5 * 30, **APPROX)
    assert objective_at(tiny, {}, figure, 1.99) is None
    harbour = table[(table["family"] == "budget") & (table["donor"] == "harbour")]
    assert harbour["slope"].tolist() == pytest.approx([50, 50], **APPROX)


@pytest.mark.parametrize("variant", ["tiny", "shares and capacity"])
def test_every_exact_interval_holds_just_inside_and_breaks_just_outside(tiny, variant):
    """For every figure of the instance whose interval is exact: re-solving with the figure
    moved 99% of the way to either end gives the objective the slope predicts. Moving it 1% of
    the interval's width (at least 0.01) beyond an end gives no plan, or for a right-hand side
    (budgets, quotas, shares, capacities) a plan no better than the line, since the optimum of
    a maximisation is concave in its right-hand sides. (An effect is a coefficient of the
    people rows, in which the optimum has no such shape.) Several ends are confirmed strictly:
    the objective leaves the line there."""
    instance = tiny if variant == "tiny" else with_capacity(tiny)
    overrides = {} if variant == "tiny" else VARIANT
    result = solve(instance, ranging=True, **overrides)
    figures = instance_figures(result.ranging)
    assert set(figures["family"]) >= ({"budget", "quota", "effects"} if variant == "tiny"
                                      else {"budget", "quota", "effects", "priority_share", "capacity"})
    strictly_outside = 0
    checked = 0
    for figure in figures[figures["exact"]].itertuples(index=False):
        for end in (figure.lower, figure.upper):
            if math.isinf(end) or end == figure.value:
                continue
            inside = figure.value + 0.99 * (end - figure.value)
            if figure.family in ("effects", "quota", "capacity", "budget") and inside < 0:
                continue
            predicted = result.objective + figure.slope * (inside - figure.value)
            assert objective_at(instance, overrides, figure, inside) == pytest.approx(predicted, rel=1e-7, abs=1e-6), \
                (figure, end)
            checked += 1
            step = max(0.01 * abs(end - figure.value), 0.01)
            outside = end + math.copysign(step, end - figure.value)
            if outside < 0 or (figure.family == "priority_share" and outside > 1):
                continue
            beyond = objective_at(instance, overrides, figure, outside)
            linear = result.objective + figure.slope * (outside - figure.value)
            if beyond is not None and figure.family != "effects":
                assert beyond <= linear + 1e-6, (figure, end)
            if beyond is None or abs(beyond - linear) > 1e-6:
                strictly_outside += 1
    assert checked >= 10 and strictly_outside >= 3


def test_mip_and_equity_plans_are_ranged(tmp_path):
    """A MIP plan is ranged as the LP with its whole decisions fixed, an equity plan as its
    second (people lifted) stage; both give a budget row per donor-year."""
    from optimizer import load_instance
    from tests.conftest import INSTANCES

    mip = solve(load_instance(INSTANCES / "ewppt-2010"), ranging=True, **{"solver.mip_rel_gap": 0.01})
    assert mip.ok and mip.summary["model"] == "mip"
    budgets = mip.ranging[mip.ranging["family"] == "budget"]
    assert len(budgets) == 15 * 5
    assert (budgets["lower"] <= budgets["value"] + 1e-9).all() and (budgets["value"] <= budgets["upper"] + 1e-9).all()
    tiny = load_instance(INSTANCES / "tiny")
    equity = solve(tiny, objective="equity", ranging=True)
    assert equity.ok and len(equity.ranging[equity.ranging["family"] == "budget"]) == 4


def test_cli_writes_the_ranging_table(tmp_path):
    done = run_cli("solve", "tiny", "--ranging", "--out", str(tmp_path / "plan"))
    assert done.returncode == 0, done.stderr
    assert "Budgets: the plan's basis stays optimal" in done.stdout
    table = pd.read_csv(tmp_path / "plan" / "ranging.csv")
    assert list(table.columns[:3]) == ["family", "rule", "donor"] and len(table) == 23
    without = run_cli("solve", "tiny", "--out", str(tmp_path / "plain"))
    assert without.returncode == 0 and not (tmp_path / "plain" / "ranging.csv").exists()
