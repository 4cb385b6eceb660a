"""The plan's last year (issue 23): effects that start after the plan count, discounted.

Aid of an instrument with lag_years L paid in year t takes effect in t + L; with T the plan's
last year it now counts at delta^max(0, t + L - T), delta = 1 / (1 + r), r = `[horizon]
discount_rate` (0 by default: a person lifted after the plan counts in full; 8% is
China's social discount rate), instead of 1 if t + L <= T else 0 (`beyond_plan = "ignored"`,
still available; tests/test_lag.py derives that form by hand). people_lifted_by_plan_end is the
in-window figure, reported beside it.
"""

from __future__ import annotations

import pandas as pd
import pyomo.environ as pyo
import pytest
from pyomo.repn import generate_standard_repn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.assemble import build_model
from models.steadiness import tie_weight
from optimizer import load_instance, solve
from optimizer.solving.evaluate import people_lifted, people_lifted_by_plan_end
from optimizer.solving.recheck import recheck
from optimizer.solving.solve import solve_model
from optimizer.studies.study import Study
from optimizer.studies.sweep import sweep
from tests.conftest import INSTANCES
from tests.helpers import assert_sweep_matches_solves, plan_totals, with_lags
from tests.test_properties import instances, load_spec

APPROX = dict(rel=1e-9, abs=1e-7)
DELTA = 1 / 1.08  # = 25/27: the weight at 8% of an effect one year after the plan


def flows(result) -> dict:
    table = result.allocation[["donor", "recipient", "instrument", "year", "aid"]]
    return {(d, w, k, int(t)): a for d, w, k, t, a in table.itertuples(index=False) if abs(a) > 1e-9}


def test_discounted_roads_on_tiny_by_hand(tiny):
    """tiny (instances/tiny/README.md: budgets 10 a year for coastal and for harbour, 2011-2012)
    with roads' lag 1, at China's social discount rate of 8%: roads paid in 2012 serve from 2013, one year after the
    plan, and count at delta = 1/1.08 = 25/27.

    Plateau's 600 poor are lifted most cheaply by its cdf (4 at 120) and 2 of roads paid in 2011
    (at 60; paid in 2012 they would need 2/delta), paid by coastal, whose next use (upland cdf's
    second segment) lifts 40 a million, less than harbour's (valley roads, 50 in 2011 and
    50 delta = 46.30 in 2012). Harbour's 2011 budget all goes to valley roads (10, in full);
    its 2012 budget to valley cdf (8 at 80) and 2 more of valley roads, at 2 x 50 x 25/27 =
    92.59 people, more than the 80 that 2 of plateau cdf by harbour would free for coastal's
    upland cdf at 40 (ignoring the effects after the plan, 0 < 80, and the plan lifts 2,740).
    Coastal: plateau cdf 4 and roads 2, upland cdf 14 (6 at 100, 8 at 40).

        upland 600 + 320 = 920;  valley 640 + 500 + 2500/27 = 1,232.59;  plateau 480 + 120 = 600
        objective 2,760 - 2 x 50 x (1 - delta) = 2,760 - 200/27 = 2,752.59
        by the plan's end (valley's 2012 roads not yet serving): 920 + 1,140 + 600 = 2,660

    The years: harbour's are pinned (2011: valley roads 10; 2012: valley cdf 8, roads 2), and
    plateau's roads are coastal's of 2011. Coastal's 2011 budget is 10 = roads 2 + upland cdf u +
    plateau cdf 8 - u, so 2012 holds upland cdf 14 - u and plateau cdf u - 4, u in [4, 8]. The
    steady stage (models/steadiness.py; coastal's budget is even, so each line's profile is half
    of its total a year) minimises the aid above profile, |u - 7| (upland) + |6 - u| (plateau) +
    1 (roads) + 4 + 4 (harbour's lines, held by the objective), least (and without a deep
    shortfall) for u in [6, 7]; the tie-break's fixed weights h (tie_weight) then pick an end,
    the slope of sum h x in u being h(upland 2011) - h(upland 2012) - h(plateau 2011) +
    h(plateau 2012): u = 7 when it is negative, 6 when positive.
    """
    result = solve(with_lags(tiny, roads=1), **{"horizon.discount_rate": 0.08})
    assert result.status == "optimal", result.message
    assert result.objective == pytest.approx(2760 - 200 / 27, **APPROX)
    assert result.summary["people_lifted"] == pytest.approx(2760 - 200 / 27, **APPROX)
    assert result.summary["people_lifted_by_plan_end"] == pytest.approx(2660, **APPROX)
    kpis = result.kpis.set_index("recipient")
    assert kpis["people_lifted"].to_dict() == pytest.approx(
        {"upland": 920, "valley": 640 + 500 + 2500 / 27, "plateau": 600}, **APPROX)
    assert kpis["people_lifted_by_plan_end"].to_dict() == pytest.approx(
        {"upland": 920, "valley": 1140, "plateau": 600}, **APPROX)
    h = {(w, t): tie_weight(("coastal", w, "cdf", t)) for w in ("upland", "plateau") for t in (2011, 2012)}
    slope = h["upland", 2011] - h["upland", 2012] - h["plateau", 2011] + h["plateau", 2012]
    u = 7 if slope < 0 else 6
    assert flows(result) == pytest.approx({
        ("coastal", "plateau", "roads", 2011): 2,
        ("coastal", "upland", "cdf", 2011): u, ("coastal", "upland", "cdf", 2012): 14 - u,
        ("coastal", "plateau", "cdf", 2011): 8 - u, ("coastal", "plateau", "cdf", 2012): u - 4,
        ("harbour", "valley", "roads", 2011): 10, ("harbour", "valley", "roads", 2012): 2,
        ("harbour", "valley", "cdf", 2012): 8,
    }, **APPROX)


def test_default_counts_roads_after_the_plan_in_full_on_tiny(tiny):
    """At the default rate 0, effect_lag's right-hand side is every yuan of the line (delta = 1), the
    same as effect_use's, so tiny with roads' lag 1 has the optimum of tiny without lags, 2,760
    (instances/tiny/README.md): harbour's 2 million of valley roads paid in 2012 (50 people a
    million) count in full, and by the plan's end the plan lifts what the aid in effect by 2012
    lifts (evaluate's in-window figure, at most the 2,760)."""
    lagged = with_lags(tiny, roads=1)
    assert lagged.scenario.horizon.discount_rate == 0.0
    result = solve(lagged)
    assert result.status == "optimal", result.message
    assert result.objective == pytest.approx(2760, **APPROX)
    assert result.summary["people_lifted"] == pytest.approx(2760, **APPROX)
    by_end = result.summary["people_lifted_by_plan_end"]
    assert by_end == pytest.approx(people_lifted_by_plan_end(lagged, result.allocation).sum(), **APPROX)
    assert by_end <= 2760 + 1e-7


@pytest.mark.parametrize("rate", [0.0, 0.08, 0.2, 0.25, 0.5, 1.0])
def test_discount_rate_moves_the_plan_at_one_quarter(tiny, rate):
    """Valley's 2012 roads (50 delta a million) against coastal's upland cdf at 40: while delta
    > 0.8 (r < 25%) harbour pays them, and the plan lifts 2,760 - 100 (1 - delta); beyond, harbour's
    2 go to plateau cdf and the plan is the in-window one, 2,740 (tests/test_lag.py). At r = 25%
    the two tie at 2,740."""
    delta = 1 / (1 + rate)
    result = solve(with_lags(tiny, roads=1), **{"horizon.discount_rate": rate})
    assert result.status == "optimal", result.message
    assert result.objective == pytest.approx(max(2760 - 100 * (1 - delta), 2740), **APPROX)
    if rate > 0.25:
        assert plan_totals(result.allocation)[("harbour", "plateau", "cdf")] == pytest.approx(2, **APPROX)
        assert result.summary["people_lifted_by_plan_end"] == pytest.approx(2740, **APPROX)


def test_ignored_is_the_in_window_model(tiny):
    """`beyond_plan = "ignored"` builds the rows of before issue 23: the roads flows of 2012
    leave effect_lag; discounted (here at 8%) they are in it with weight delta."""
    lagged = with_lags(tiny, roads=1)
    ignored = build_model(lagged, lagged.scenario.override(**{"horizon.beyond_plan": "ignored"}))
    discounted = build_model(lagged, lagged.scenario.override(**{"horizon.discount_rate": 0.08}))
    row = ("valley", "roads")

    def coefficients(model):
        repn = generate_standard_repn(model.effect_lag[row].body)
        return {v.name: pyo.value(c) for v, c in zip(repn.linear_vars, repn.linear_coefs)}

    ignored_coefs, discounted_coefs = coefficients(ignored), coefficients(discounted)
    assert ignored_coefs == {"s[valley,roads,1]": 1.0, "x[harbour,valley,roads,2011]": -1.0}
    assert discounted_coefs == pytest.approx({"s[valley,roads,1]": 1.0, "x[harbour,valley,roads,2011]": -1.0,
                                              "x[harbour,valley,roads,2012]": -DELTA}, **APPROX)


def test_recheck_and_evaluate_agree_with_the_model(tiny):
    """A lagged plan (roads and cdf lag 1) under a coverage floor of 40%: the model's z, evaluate's
    people lifted and the re-check count the same people. The floor holds for the people the
    objective counts (the re-check passes, or the solve would be `numerical`), not for the
    people lifted by the plan's end alone, which the re-check of the same plan under
    `beyond_plan = "ignored"` reports."""
    instance = with_lags(tiny, roads=1, cdf=1)
    instance = instance.with_scenario(instance.scenario.override(**{"priorities.coverage_min": 0.4}))
    model = build_model(instance)
    result = solve_model(model, instance, instance.scenario)
    assert result.status == "optimal", result.message
    z = {w: pyo.value(model.z[w]) for w in model.recipients}
    lifted = people_lifted(instance, result.allocation)
    assert lifted.to_dict() == pytest.approx(z, rel=1e-7, abs=1e-6)
    assert result.objective == pytest.approx(sum(z.values()), rel=1e-9)
    assert result.kpis.set_index("recipient")["people_lifted"].to_dict() == pytest.approx(z, rel=1e-7, abs=1e-6)
    assert recheck(instance, result.allocation, result.decisions) == []
    by_end = people_lifted_by_plan_end(instance, result.allocation)
    assert (by_end < 0.4 * 2000).sum() >= 1
    ignored = instance.with_scenario(instance.scenario.override(**{"horizon.beyond_plan": "ignored"}))
    assert any(v.startswith("coverage ") for v in recheck(ignored, result.allocation, result.decisions))


def test_ewppt_2010_evaluate_equals_the_model():
    """The bundled lagged MIP (funds with set-up costs, projects, cadres; infrastructure and public
    services lag 1): evaluate's people lifted from the plan alone equal the model's z per
    recipient, and the plan's end figure is at most that."""
    instance = load_instance(INSTANCES / "ewppt-2010")
    model = build_model(instance)
    result = solve_model(model, instance, instance.scenario)
    assert result.status == "optimal", result.message
    z = pd.Series({w: pyo.value(model.z[w]) for w in model.recipients})
    kpis = result.kpis.set_index("recipient")
    assert kpis["people_lifted"].to_dict() == pytest.approx(z.to_dict(), rel=1e-6, abs=1e-4)
    assert (kpis["people_lifted_by_plan_end"] <= kpis["people_lifted"] + 1e-6).all()
    assert result.summary["people_lifted"] == pytest.approx(result.objective, rel=1e-6)


HORIZON_SWEEP = {
    "study": {"name": "horizon", "design": "grid"},
    "parameter": [
        {"path": "horizon.discount_rate", "values": [0.0, 0.08, 0.5]},
        {"path": "proportion.provincial", "values": [0.01, 0.02]},
    ],
}


def test_sweep_of_the_discount_rate_equals_independent_solves(tiny):
    """discount_rate is a mutable Param: a sweep re-solves one model and matches a fresh solve
    of each scenario (objective, people lifted, total aid), and its people_lifted_by_plan_end
    is the in-window figure of its own plan."""
    instance = with_lags(tiny, roads=1, cdf=1)
    study = Study.model_validate(HORIZON_SWEEP)
    results = sweep(instance, study, workers=1)
    assert len(results) == 6 and (results["status"] == "optimal").all()
    assert_sweep_matches_solves(results, study, instance, rel=1e-9)
    assert (results["people_lifted_by_plan_end"] <= results["people_lifted"] + 1e-7).all()
    # at r = 0 every yuan counts in full: tiny's optimum without lags, 2,760, at its own budgets
    first = results[(results["horizon.discount_rate"] == 0.0) & (results["proportion.provincial"] == 0.01)]
    assert float(first["objective"].iloc[0]) == pytest.approx(2760, **APPROX)


HORIZON_SETTINGS = settings(max_examples=25, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@HORIZON_SETTINGS
@given(spec=instances(objectives=("people_lifted", "weighted_people_lifted", "equity")),
       rate=st.floats(0.0, 10.0), ignored=st.booleans())
def test_every_lag_zero_is_unchanged_by_the_discount_rate(spec, rate, ignored):
    """With every lag 0 no effect starts after the plan: whatever the discount rate (or with
    those effects ignored) the model, its objective and every flow are those of the default."""
    instance = load_spec(spec)
    instance = with_lags(instance, **{k: 0 for k in instance.instruments["instrument"]})
    other = {"horizon.discount_rate": rate, "horizon.beyond_plan": "ignored" if ignored else "discounted"}
    assert build_model(instance).nconstraints() == build_model(
        instance, instance.scenario.override(**other)).nconstraints()
    today, moved = solve(instance), solve(instance, **other)
    assert today.status == moved.status
    if today.has_plan:
        assert moved.objective == pytest.approx(today.objective, rel=1e-9, abs=1e-7)
        assert flows(moved) == pytest.approx(flows(today), rel=1e-9, abs=1e-7)
        assert moved.summary["people_lifted"] == pytest.approx(moved.summary["people_lifted_by_plan_end"], **APPROX)
