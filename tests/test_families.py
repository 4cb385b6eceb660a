"""One small test per constraint family on variants of the tiny instance, each with its
optimum worked out by hand (the base plan is derived in instances/tiny/README.md)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from models import build_model
from optimizer import solve
from tests.helpers import plan_totals

APPROX = dict(rel=1e-9, abs=1e-7)


def with_table(instance, name: str, rows: list[dict]) -> object:
    """The instance with rows appended to one table."""
    table = pd.concat([instance.table(name), pd.DataFrame(rows)], ignore_index=True)
    return dataclasses.replace(instance, **{name: table})


def test_budget_dual_matches_a_finite_difference(tiny):
    """Raising coastal's 2011 revenue by 100 (budget +1 at proportion 0.01) adds its dual, 40."""
    base = solve(tiny)
    revenue = tiny.revenue.copy()
    revenue.loc[(revenue["donor"] == "coastal") & (revenue["year"] == 2011), "revenue"] += 100
    richer = solve(dataclasses.replace(tiny, revenue=revenue))
    assert richer.objective - base.objective == pytest.approx(40, **APPROX)


def test_capacity_limits_absorption(tiny):
    """Plateau can absorb 1 of cdf a year: 2 of cdf (240 people), then roads up to its cap
    (6 more, 360 people), all paid by coastal whose alternative (40) is worth less than
    harbour's (50). Coastal keeps 6 for upland's second cdf segment: 2760 - 2*120 + 6*60 ... = 2680."""
    capped = with_table(tiny, "capacity", [
        {"recipient": "plateau", "instrument": "cdf", "year": t, "max_aid": 1.0} for t in (2011, 2012)])
    result = solve(capped)
    assert result.objective == pytest.approx(2680, **APPROX)
    assert plan_totals(result.allocation) == pytest.approx({
        ("coastal", "plateau", "cdf"): 2, ("coastal", "plateau", "roads"): 6, ("coastal", "upland", "cdf"): 12,
        ("harbour", "valley", "cdf"): 8, ("harbour", "valley", "roads"): 12}, **APPROX)
    cap = result.binding[result.binding["family"] == "capacity"]
    assert cap["binding"].all() and len(cap) == 2


def test_base_quota_forces_a_pair(tiny):
    """harbour-plateau must get 3 a year: harbour covers plateau (6, 600 people) and keeps 14
    for valley (cdf 8, roads 6); coastal spends all 20 at upland (cdf 16, loan guarantee 4)."""
    pairs = tiny.pairs.copy()
    pairs.loc[(pairs["donor"] == "harbour") & (pairs["recipient"] == "plateau"), "base_quota"] = 3.0
    result = solve(dataclasses.replace(tiny, pairs=pairs))
    assert result.objective == pytest.approx(600 + 400 + 120 + 600 + 640 + 300, **APPROX)
    assert plan_totals(result.allocation, by=("donor", "recipient")) == pytest.approx({
        ("coastal", "upland"): 20, ("harbour", "plateau"): 6, ("harbour", "valley"): 14}, **APPROX)


def test_quota_growth_beyond_flat_budgets_is_infeasible(tiny):
    """Budgets are flat (10 and 10), so every pair growing 50% a year cannot add up."""
    result = solve(tiny, **{"priorities.quota_growth_min": 0.5})
    assert result.status == "infeasible"
    assert result.objective is None and result.allocation.empty
    assert "explain" in result.message


def test_quota_growth_zero_keeps_each_pair_non_decreasing(tiny):
    result = solve(tiny, **{"priorities.quota_growth_min": 0.0})
    assert result.objective == pytest.approx(2760, **APPROX)
    by_pair_year = plan_totals(result.allocation, by=("donor", "recipient", "year"))
    for (d, w) in zip(tiny.pairs["donor"], tiny.pairs["recipient"]):
        assert by_pair_year.get((d, w, 2012), 0) >= by_pair_year.get((d, w, 2011), 0) - 1e-7


def test_women_share_of_household_finance(tiny):
    """Only cdf is household finance and it targets women, so any women_min holds; with cdf
    no longer targeting women a positive women_min forbids household aid altogether."""
    assert solve(tiny, **{"priorities.women_min": 1.0}).objective == pytest.approx(2760, **APPROX)
    instruments = tiny.instruments.copy()
    instruments["targets_women"] = False
    result = solve(dataclasses.replace(tiny, instruments=instruments), **{"priorities.women_min": 0.5})
    assert result.status == "optimal"
    assert result.allocation[result.allocation["instrument"] == "cdf"].empty


def test_public_goods_max(tiny):
    """public_goods_max 0.1: each donor may put 1 a year (2 in all) into public goods.
    Harbour: valley cdf 8 (640) + valley roads 2 (100) + plateau cdf 4 (480); its other 6 lift
    nobody. Coastal: upland cdf 16 (1000) + plateau roads 2 (120) + upland loan guarantee 2
    (60). Objective 1220 + 1180 = 2400."""
    result = solve(tiny, **{"priorities.public_goods_max": 0.1})
    assert result.objective == pytest.approx(2400, **APPROX)
    totals = plan_totals(result.allocation, by=("donor", "category"))
    assert totals[("harbour", "public_goods")] == pytest.approx(2, **APPROX)
    assert totals[("coastal", "public_goods")] == pytest.approx(2, **APPROX)
    effective = plan_totals(result.allocation, by=("recipient", "instrument"))
    assert effective[("plateau", "cdf")] >= 4 - 1e-7 and effective[("upland", "cdf")] == pytest.approx(16, **APPROX)


def test_every_family_is_a_named_block(tiny):
    """Duals, binding reports and explanations find each family by its component name."""
    scenario = tiny.scenario.override(**{"priorities.quota_growth_min": 0.0, "priorities.enterprise_finance_min": 0.1})
    model = build_model(tiny, scenario)
    for name in ("budget", "quota", "quota_growth", "priority_share", "capacity", "effect_use", "people",
                 "poor_population_cap", "investment"):
        assert model.component(name) is not None, name
    assert len(model.budget) == 4 and len(model.priority_share) == 4 and len(model.quota_growth) == 4


def test_priority_share_duals_match_a_finite_difference(tiny):
    """A binding >= row has a dual <= 0 (d objective / d bound). Raising enterprise_finance_min
    from 0.25 to 0.26 raises each donor-year's bound by 0.1: coastal moves it from upland cdf
    (40) to loan guarantees (30), harbour from valley roads (50) to lending that lifts nobody."""
    low = solve(tiny, **{"priorities.enterprise_finance_min": 0.25})
    high = solve(tiny, **{"priorities.enterprise_finance_min": 0.26})
    shares = low.duals[low.duals["family"] == "priority_share"]
    assert dict(zip(zip(shares["donor"], shares["year"]), shares["dual"])) == pytest.approx(
        {("coastal", 2011): -10, ("coastal", 2012): -10, ("harbour", 2011): -50, ("harbour", 2012): -50}, **APPROX)
    assert high.objective - low.objective == pytest.approx(float(shares["dual"].sum()) * 0.1, **APPROX)


def test_capacity_dual_matches_a_finite_difference(tiny):
    """Plateau cdf capacity 1 a year binds. Plateau is at its cap of 600 people, so one more
    million of cdf (120 people) replaces two of roads (60 each); coastal moves the freed
    million to upland's cdf segment 2 (40): the dual is +40."""
    rows = [{"recipient": "plateau", "instrument": "cdf", "year": t, "max_aid": 1.0} for t in (2011, 2012)]
    base = solve(with_table(tiny, "capacity", rows))
    caps = base.duals[base.duals["family"] == "capacity"]
    assert dict(zip(caps["year"], caps["dual"])) == pytest.approx({2011: 40, 2012: 40}, **APPROX)
    rows[0]["max_aid"] = 1.5
    assert solve(with_table(tiny, "capacity", rows)).objective - base.objective == pytest.approx(20, **APPROX)


def test_kpis_report_the_plans_effect_under_every_objective(tiny):
    """Leveraged investment leaves the effect variables free; the KPIs still evaluate the plan."""
    result = solve(tiny, objective="leveraged_investment")
    people = dict(zip(result.kpis["recipient"], result.kpis["people_lifted"]))
    # upland: loan 10 at 30 per million = 300; the other 10 of coastal and harbour's roads vary
    assert people["upland"] >= 300 - 1e-7
    assert sum(people.values()) == pytest.approx(result.summary["people_lifted"])
    assert result.summary["leveraged_investment_million"] == pytest.approx(68.16)


def test_coverage_floor_lifts_the_least_covered_recipient(tiny):
    """coverage_min = 0.5: upland (2,000 poor) lifts 920 in the base plan and must lift 1,000.
    Coastal, upland's only donor, moves 2 from plateau to upland's second cdf segment (+80 at
    40 per million); harbour takes over plateau's 2 of roads (60 per million, plateau still
    600) and gives up 2 of valley roads (-100 at 50): 2,760 + 80 - 100 = 2,740. One more
    person required at upland costs 1/40 million of coastal's money, which harbour replaces
    at plateau at 50/40 people: the floor's dual is 1 - 1.25 = -0.25. Valley (1,140 of 2,000)
    and plateau (600 of 600) are above the floor."""
    result = solve(tiny, **{"priorities.coverage_min": 0.5})
    assert result.objective == pytest.approx(2740, **APPROX)
    people = dict(zip(result.kpis["recipient"], result.kpis["people_lifted"]))
    assert people == pytest.approx({"upland": 1000, "valley": 1140, "plateau": 600}, **APPROX)
    assert plan_totals(result.allocation, by=("donor", "recipient")) == pytest.approx({
        ("coastal", "upland"): 16, ("coastal", "plateau"): 4, ("harbour", "plateau"): 2, ("harbour", "valley"): 18},
        **APPROX)
    floor = result.binding[result.binding["family"] == "coverage_floor"].set_index("recipient")
    assert list(floor.index) == ["upland", "valley", "plateau"]
    assert floor["binding"].to_dict() == {"upland": True, "valley": False, "plateau": False}
    dual = result.duals[(result.duals["family"] == "coverage_floor") & (result.duals["recipient"] == "upland")]
    assert dual["dual"].item() == pytest.approx(-0.25, **APPROX)


def test_coverage_floor_beyond_what_the_budgets_can_buy_is_infeasible(tiny):
    """A floor of 0.56: upland needs 1,120 people (cdf 6 + 10 at 600 + 400, then 4 of loan
    guarantees at 30), all of coastal's 20; harbour must then pay valley's 1,120 (cdf 8, roads
    9.6) and plateau's 336 (cdf 2.8): 20.4 > 20, infeasible. At 0.55 the four needs cost
    19.33 + 17.2 + 2.75 = 39.28 of the 40 and it is feasible; the equity objective's optimum is
    where they cost exactly 40 (111.667 theta - 22.133 = 40): theta = 2796/5025."""
    assert solve(tiny, **{"priorities.coverage_min": 0.56}).status == "infeasible"
    assert solve(tiny, **{"priorities.coverage_min": 0.55}).status == "optimal"
    assert solve(tiny, objective="equity").objective == pytest.approx(2796 / 5025, **APPROX)
