"""The tiny instance, solved by hand in instances/tiny/README.md: exact objective and plan.

Where the optimum is unique at the level asserted, the test asserts it exactly; the split of a
donor's plan total between the two years is not unique (the effect counts the whole plan), so
those tests assert plan totals and each donor-year's budget.
"""

from __future__ import annotations

import pytest

from optimizer import solve
from tests.helpers import plan_totals

APPROX = dict(rel=1e-9, abs=1e-7)


def test_people_lifted_optimum(tiny):
    result = solve(tiny)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(2760, **APPROX)
    assert plan_totals(result.allocation) == pytest.approx({
        ("coastal", "plateau", "cdf"): 4,
        ("coastal", "plateau", "roads"): 2,
        ("coastal", "upland", "cdf"): 14,
        ("harbour", "valley", "cdf"): 8,
        ("harbour", "valley", "roads"): 12,
    }, **APPROX)
    people = dict(zip(result.kpis["recipient"], result.kpis["people_lifted"]))
    assert people == pytest.approx({"upland": 920, "valley": 1240, "plateau": 600}, **APPROX)
    # every donor-year spends exactly its budget: 0.01 * 1000 and 0.02 * 500
    assert plan_totals(result.allocation, by=("donor", "year")) == pytest.approx(
        {(d, t): 10 for d in ("coastal", "harbour") for t in (2011, 2012)}, **APPROX)


def test_people_lifted_duals_are_marginal_values(tiny):
    """One more million for coastal is worth 40 people (upland cdf segment 2), for harbour 50
    (valley roads); plateau's poor-population cap is binding."""
    result = solve(tiny)
    budget = result.duals[result.duals["family"] == "budget"]
    assert dict(zip(zip(budget["donor"], budget["year"]), budget["dual"])) == pytest.approx(
        {("coastal", 2011): 40, ("coastal", 2012): 40, ("harbour", 2011): 50, ("harbour", 2012): 50}, **APPROX)
    caps = result.binding[result.binding["family"] == "poor_population_cap"]
    assert dict(zip(caps["recipient"], caps["binding"])) == {"upland": False, "valley": False, "plateau": True}


def test_weighted_people_lifted_optimum(tiny):
    """Plateau's weight 2 adds its 600 people once more; the plan is the same."""
    result = solve(tiny, objective="weighted_people_lifted")
    assert result.objective == pytest.approx(3360, **APPROX)
    assert plan_totals(result.allocation, by=("recipient", "instrument")) == pytest.approx({
        ("plateau", "cdf"): 4, ("plateau", "roads"): 2, ("upland", "cdf"): 14,
        ("valley", "cdf"): 8, ("valley", "roads"): 12,
    }, **APPROX)


def test_leveraged_investment_optimum(tiny):
    """Upland absorbs 20 of lending a year: 5 of loan guarantee at leverage 4. Valley absorbs
    4 + cumulative roads: l1 = 2.8, l2 = 4.24 with roads 7.2 and 5.76. Objective 4 * 17.04."""
    result = solve(tiny, objective="leveraged_investment")
    assert result.objective == pytest.approx(68.16, **APPROX)
    flows = {(d, w, k, t): a for d, w, k, t, a in result.allocation[["donor", "recipient", "instrument", "year", "aid"]]
             .itertuples(index=False)}
    assert flows[("coastal", "upland", "loan_guarantee", 2011)] == pytest.approx(5, **APPROX)
    assert flows[("coastal", "upland", "loan_guarantee", 2012)] == pytest.approx(5, **APPROX)
    harbour = {key: value for key, value in flows.items() if key[0] == "harbour"}
    assert harbour == pytest.approx({
        ("harbour", "valley", "loan_guarantee", 2011): 2.8,
        ("harbour", "valley", "roads", 2011): 7.2,
        ("harbour", "valley", "loan_guarantee", 2012): 4.24,
        ("harbour", "valley", "roads", 2012): 5.76,
    }, **APPROX)


def test_enterprise_share_moves_the_plan(tiny):
    """enterprise_finance_min 0.25: each donor-year puts 2.5 into loan guarantees; coastal's
    lift 30 people per million at upland, harbour's lift nobody but keep valley's lending
    within 4 + roads. Objective 2760 - 5 * (40 - 30) - 5 * 50 = 2460."""
    result = solve(tiny, **{"priorities.enterprise_finance_min": 0.25})
    assert result.objective == pytest.approx(2460, **APPROX)
    assert plan_totals(result.allocation) == pytest.approx({
        ("coastal", "plateau", "cdf"): 4,
        ("coastal", "plateau", "roads"): 2,
        ("coastal", "upland", "cdf"): 9,
        ("coastal", "upland", "loan_guarantee"): 5,
        ("harbour", "valley", "cdf"): 8,
        ("harbour", "valley", "loan_guarantee"): 5,
        ("harbour", "valley", "roads"): 7,
    }, **APPROX)
    shares = result.binding[(result.binding["family"] == "priority_share")]
    assert shares["binding"].all() and len(shares) == 4


@pytest.mark.parametrize(
    ("scope", "objective", "plateau_by_donor"),
    [
        # each donor-year must send 2 to plateau: 8 arrive, 6 are useful
        ("donor", 2640, {"coastal": 4, "harbour": 4}),
        # 4 a year in all, paid by coastal whose other use is worth least (40 < 50)
        ("national", 2680, {"coastal": 8}),
    ],
)
def test_special_aid_share_by_scope(tiny, scope, objective, plateau_by_donor):
    result = solve(tiny, **{"priorities.special_aid_min": 0.2, "priorities.scope": scope})
    assert result.objective == pytest.approx(objective, **APPROX)
    plateau = result.allocation[result.allocation["recipient"] == "plateau"]
    assert plan_totals(plateau, by=("donor",)) == pytest.approx(plateau_by_donor, **APPROX)
