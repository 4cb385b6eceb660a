"""Timing that counts (issue 14): instruments' lag_years and the people_years objective.

Derived by hand on tiny in instances/tiny/README.md ("Lags and people-years"); the model,
evaluate (optimizer.solving.evaluate), the re-check and the sweep's KPIs must agree. The
derivations of people lifted here count only the effects within the plan, as before issue 23:
`[horizon] beyond_plan = "ignored"` (IGNORED); tests/test_horizon.py has the default, effects
after the plan counted in full, and the 8% discount.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import HealthCheck
from hypothesis import strategies as st

from models.assemble import build_model
from optimizer import solve
from optimizer.solving.evaluate import people_lifted, people_lifted_by_plan_end, people_years
from optimizer.studies.study import Study
from optimizer.studies.sweep import sweep
from tests.helpers import assert_sweep_matches_solves, plan_totals, with_lags
from tests.test_properties import instances, load_spec

APPROX = dict(rel=1e-9, abs=1e-7)
IGNORED = {"horizon.beyond_plan": "ignored"}  # only the effects within the plan count (before issue 23)


def ignoring_late_effects(instance):
    """The instance under a scenario that counts only the effects within the plan."""
    return instance.with_scenario(instance.scenario.override(**IGNORED))


def flows(result) -> dict:
    table = result.allocation[["donor", "recipient", "instrument", "year", "aid"]]
    return {(d, w, k, int(t)): a for d, w, k, t, a in table.itertuples(index=False) if abs(a) > 1e-9}


def by_recipient(result, column="people_lifted") -> dict:
    return dict(zip(result.kpis["recipient"], result.kpis[column]))


def test_roads_lag_one_year(tiny):
    """Roads paid in 2012 serve only after the plan, and (effects after the plan ignored) lift
    nobody. Harbour's roads at valley are limited to
    its 2011 budget (10, not 12); its 2012 budget beyond valley cdf's 8 goes to plateau cdf (2),
    which spares coastal 2 for upland cdf segment 2 (at 40): 2760 - 2 x 50 + 2 x 40 = 2740.
    Plateau's 2 of roads must be paid in 2011, by coastal (margin 40 < harbour's 50)."""
    result = solve(with_lags(tiny, roads=1), **IGNORED)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(2740, **APPROX)
    assert result.summary["people_lifted"] == pytest.approx(2740, **APPROX)
    assert plan_totals(result.allocation) == pytest.approx({
        ("coastal", "upland", "cdf"): 16,
        ("coastal", "plateau", "cdf"): 2,
        ("coastal", "plateau", "roads"): 2,
        ("harbour", "valley", "cdf"): 8,
        ("harbour", "valley", "roads"): 10,
        ("harbour", "plateau", "cdf"): 2,
    }, **APPROX)
    plan = flows(result)
    # every roads flow is paid in 2011, and harbour's years are pinned
    assert {key: a for key, a in plan.items() if key[2] == "roads"} == pytest.approx(
        {("coastal", "plateau", "roads", 2011): 2, ("harbour", "valley", "roads", 2011): 10}, **APPROX)
    assert {key: a for key, a in plan.items() if key[0] == "harbour"} == pytest.approx({
        ("harbour", "valley", "roads", 2011): 10,
        ("harbour", "valley", "cdf", 2012): 8,
        ("harbour", "plateau", "cdf", 2012): 2,
    }, **APPROX)
    assert plan_totals(result.allocation, by=("donor", "year")) == pytest.approx(
        {(d, t): 10 for d in ("coastal", "harbour") for t in (2011, 2012)}, **APPROX)
    assert by_recipient(result) == pytest.approx({"upland": 1000, "valley": 1140, "plateau": 600}, **APPROX)


def test_evaluate_counts_only_aid_in_effect(tiny):
    """A plan evaluated by hand with roads' lag 1. Coastal: 2011 plateau cdf 4, plateau roads
    2, upland cdf 4; 2012 upland cdf 10. Harbour: 2011 valley roads 10; 2012 valley cdf 8 and
    valley roads 2. End of plan (2012): roads paid in 2012 count for nothing, so valley has
    640 + 10 x 50 = 1,140 (not 1,240), upland 920, plateau 480 + 120 = 600: 2,660. In 2011 no
    road serves yet: upland cdf 4 (400) and plateau cdf 4 (480), 880. People-years 3,540.
    Counted as the objective counts them (issue 23), valley's 2 of 2012 roads serve from 2013,
    one year after the plan: in full by default, 2 x 50 = 100 more, 1,240; at 8% a year
    2 / 1.08 x 50 = 92.59 more, 640 + 500 + 2,500 / 27 = 1,232.59."""
    rows = [("coastal", "plateau", "cdf", 2011, 4), ("coastal", "plateau", "roads", 2011, 2),
            ("coastal", "upland", "cdf", 2011, 4), ("coastal", "upland", "cdf", 2012, 10),
            ("harbour", "valley", "roads", 2011, 10), ("harbour", "valley", "cdf", 2012, 8),
            ("harbour", "valley", "roads", 2012, 2)]
    plan = pd.DataFrame(rows, columns=["donor", "recipient", "instrument", "year", "aid"])
    lagged = with_lags(tiny, roads=1)
    assert people_lifted(ignoring_late_effects(lagged), plan).to_dict() == pytest.approx(
        {"upland": 920, "valley": 1140, "plateau": 600}, **APPROX)
    assert people_lifted_by_plan_end(lagged, plan).to_dict() == pytest.approx(
        {"upland": 920, "valley": 1140, "plateau": 600}, **APPROX)
    assert people_lifted(lagged, plan).to_dict() == pytest.approx(
        {"upland": 920, "valley": 1240, "plateau": 600}, **APPROX)
    at_8 = lagged.with_scenario(lagged.scenario.override(**{"horizon.discount_rate": 0.08}))
    assert people_lifted(at_8, plan).to_dict() == pytest.approx(
        {"upland": 920, "valley": 640 + 500 + 2500 / 27, "plateau": 600}, **APPROX)
    assert people_lifted(lagged, plan, year=2011).to_dict() == pytest.approx(
        {"upland": 400, "valley": 0, "plateau": 480}, **APPROX)
    assert people_years(lagged, plan).sum() == pytest.approx(3540, **APPROX)
    assert people_lifted(tiny, plan).sum() == pytest.approx(2760, **APPROX)


def test_coverage_floor_with_a_lag_passes_the_recheck(tiny):
    """The coverage floor reads the plan's people lifted (aid in effect by the end, and after
    it discounted; or, effects after the plan ignored, aid in effect only), in the model and in
    the independent re-check (a disagreement would make the solve 'numerical')."""
    for instance in (with_lags(tiny, roads=1), ignoring_late_effects(with_lags(tiny, roads=1))):
        result = solve(instance, **{"priorities.coverage_min": 0.5})
        assert result.status == "optimal", result.message
        lifted = people_lifted(instance, result.allocation)
        poor = instance.recipients.set_index("recipient")["poor_population"]
        assert (lifted >= 0.5 * poor - 1e-6).all()


@pytest.mark.parametrize("lag", [2, 5])
def test_lag_past_the_plan_lifts_nobody(tiny, lag):
    """Roads lifting nobody (their effects start after the plan, and are ignored) leave cdf and
    loan guarantees: coastal fills upland cdf (16: 600 +
    400) and lends 4 more (30 each, 120); harbour fills valley cdf (8: 640) and plateau cdf (4:
    480, cheaper for harbour, whose other money is idle, than for coastal). 2,240: tiny's
    optimum without roads' effect rows."""
    result = solve(with_lags(tiny, roads=lag), **IGNORED)
    effects = tiny.effects[tiny.effects["instrument"] != "roads"].reset_index(drop=True)
    without_roads = solve(dataclasses.replace(tiny, effects=effects))
    assert result.objective == pytest.approx(2240, **APPROX)
    assert without_roads.objective == pytest.approx(2240, **APPROX)
    assert by_recipient(result) == pytest.approx({"upland": 1120, "valley": 640, "plateau": 480}, **APPROX)
    coastal = result.allocation[result.allocation["donor"] == "coastal"]
    assert plan_totals(coastal) == pytest.approx(
        {("coastal", "upland", "cdf"): 16, ("coastal", "upland", "loan_guarantee"): 4}, **APPROX)
    harbour = plan_totals(result.allocation[result.allocation["donor"] == "harbour"])
    assert harbour[("harbour", "valley", "cdf")] >= 8 - 1e-7 and harbour[("harbour", "plateau", "cdf")] >= 4 - 1e-7


def test_people_years_on_tiny(tiny):
    """people_years = people lifted by 2011's aid (counted in 2011) + by all aid (in 2012).

    2011 alone: coastal's 10 go to plateau cdf 4 (120 each) and upland cdf 6 (100), 1,080;
    harbour's to valley cdf 8 (80) and 2 of roads, 2,011 totals 1,820 to 1,840. The plan totals
    stay tiny's people_lifted optimum, 2,760, except for a tie: plateau's 2 of roads, paid by
    harbour in 2011 (60 instead of valley roads' 50: +10 each in 2011) or by coastal in 2012
    (coastal's margin 40 instead of harbour's 50: +10 each in 2012). Every split theta in [0, 2]
    (harbour's 2011 plateau roads) gives 1,820 + 10 theta + 2,760 - 10 theta = 4,580.
    Pinned: coastal's 2011 (plateau cdf 4, upland cdf 6), harbour's 2011 valley cdf 8 and 2 of
    roads, harbour's 2012 valley roads 10, plateau's roads total 2; tied: who pays those 2."""
    # the first stage's optimum and its tie (the steady stage then picks among the tied plans)
    result = solve(tiny, objective="people_years", **{"scenario.year_profile": "free"})
    assert result.status == "optimal"
    assert result.objective == pytest.approx(4580, **APPROX)
    assert result.summary["people_years"] == pytest.approx(4580, **APPROX)
    steady = solve(tiny, objective="people_years")
    assert steady.objective == pytest.approx(4580, **APPROX)
    assert people_years(tiny, steady.allocation).sum() == pytest.approx(4580, **APPROX)
    plan = flows(result)
    assert {key: a for key, a in plan.items() if key[0] == "coastal" and key[3] == 2011} == pytest.approx(
        {("coastal", "plateau", "cdf", 2011): 4, ("coastal", "upland", "cdf", 2011): 6}, **APPROX)
    assert plan[("harbour", "valley", "cdf", 2011)] == pytest.approx(8, **APPROX)
    assert plan[("harbour", "valley", "roads", 2012)] == pytest.approx(10, **APPROX)
    theta = plan.get(("harbour", "plateau", "roads", 2011), 0.0)
    assert 0 <= theta <= 2 + 1e-7
    assert plan.get(("harbour", "valley", "roads", 2011), 0.0) == pytest.approx(2 - theta, **APPROX)
    assert plan.get(("coastal", "plateau", "roads", 2012), 0.0) == pytest.approx(2 - theta, **APPROX)
    assert plan[("coastal", "upland", "cdf", 2012)] == pytest.approx(8 + theta, **APPROX)
    assert result.summary["people_lifted"] == pytest.approx(2760 - 10 * theta, **APPROX)
    # both ends of the tie evaluate to the same people-years
    for theta in (0.0, 2.0):
        rows = [("coastal", "upland", "cdf", 2011, 6), ("coastal", "plateau", "cdf", 2011, 4),
                ("coastal", "upland", "cdf", 2012, 8 + theta), ("coastal", "plateau", "roads", 2012, 2 - theta),
                ("harbour", "valley", "cdf", 2011, 8), ("harbour", "plateau", "roads", 2011, theta),
                ("harbour", "valley", "roads", 2011, 2 - theta), ("harbour", "valley", "roads", 2012, 10)]
        plan = pd.DataFrame(rows, columns=["donor", "recipient", "instrument", "year", "aid"])
        assert people_years(tiny, plan).sum() == pytest.approx(4580, **APPROX)
        assert people_lifted(tiny, plan).sum() == pytest.approx(2760 - 10 * theta, **APPROX)


def test_people_years_with_a_lag(tiny):
    """With roads' lag 1 roads count only in 2012, and only if paid in 2011; the objective is
    the sum over the years of the evaluated people, whatever the plan."""
    instance = with_lags(tiny, roads=1)
    result = solve(instance, objective="people_years")
    assert result.status == "optimal"
    assert result.objective == pytest.approx(people_years(instance, result.allocation).sum(), **APPROX)
    assert result.summary["people_lifted"] == pytest.approx(people_lifted(instance, result.allocation).sum(), **APPROX)


def test_every_lag_zero_is_todays_model(tiny):
    """lag_years 0 everywhere adds no row: the model is the one without the column."""
    zero = with_lags(tiny, roads=0, cdf=0, loan_guarantee=0)
    lagged = with_lags(tiny, roads=1)
    assert build_model(zero).nconstraints() == build_model(tiny).nconstraints()
    assert build_model(lagged).nconstraints() == build_model(tiny).nconstraints() + 2  # effect_lag: valley, plateau roads


LAG_SWEEP = {
    "study": {"name": "lags", "design": "grid"},
    "parameter": [
        {"path": "scenario.objective", "values": ["people_lifted", "people_years"]},
        {"path": "proportion.provincial", "values": [0.005, 0.01, 0.02]},
        {"path": "effects.*.roads.people_per_million", "values": [0.5, 1.5], "mode": "factor"},
    ],
}


def test_sweep_with_lags_equals_independent_solves(tiny):
    instance = with_lags(tiny, roads=1, cdf=1)
    study = Study.model_validate(LAG_SWEEP)
    results = sweep(instance, study, workers=1)
    assert len(results) == 12 and (results["status"] == "optimal").all()
    assert_sweep_matches_solves(results, study, instance, rel=1e-9)


def test_sweep_kpis_equal_evaluate_on_the_same_plan(tiny):
    """Free of ties between plans: the sweep's numpy KPIs of each scenario's own plan equal
    evaluate's people lifted and people-years of that plan."""
    from optimizer.studies.study import apply_to_instance, resolve_parameters
    from optimizer.studies.sweep import ScenarioRunner

    instance = with_lags(tiny, roads=1, cdf=1)
    study = Study.model_validate(LAG_SWEEP)
    parameters = resolve_parameters(study, instance)
    runner = ScenarioRunner(instance, parameters, save_allocation=True)
    for n, values in enumerate([("people_years", 0.01, 1.5), ("people_lifted", 0.02, 0.5), ("people_years", 0.005, 1)]):
        point = {p.path: value for p, value in zip(parameters, values)}
        record = runner.run(n, point)
        assert record["status"] == "optimal", record["message"]
        scenario = apply_to_instance(instance, parameters, point)
        assert record["people_lifted"] == pytest.approx(people_lifted(scenario, record["allocation"]).sum(), **APPROX)
        assert record["people_years"] == pytest.approx(people_years(scenario, record["allocation"]).sum(), **APPROX)


# ------------------------------------------------------------------------------ properties

LAG_SETTINGS = settings(max_examples=25, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@LAG_SETTINGS
@given(spec=instances(objectives=("people_lifted",)))
def test_lags_zero_keep_todays_optimum(spec):
    instance = load_spec(spec)
    today = solve(instance)
    zero = solve(with_lags(instance, **{k: 0 for k in instance.instruments["instrument"]}))
    assert today.status == zero.status == "optimal"
    assert zero.objective == pytest.approx(today.objective, rel=1e-9, abs=1e-7)


@LAG_SETTINGS
@given(spec=instances(objectives=("people_lifted",)), data=st.data())
def test_people_years_between_one_and_all_years_of_people_lifted(spec, data):
    instance = load_spec(spec)
    years = len(spec.years)
    lags = {k: data.draw(st.integers(0, years), label=f"lag {k}") for k in instance.instruments["instrument"]}
    instance = with_lags(instance, **lags)
    lifted = solve(instance)
    yearly = solve(instance, objective="people_years")
    assert lifted.status == yearly.status == "optimal"
    tol = 1e-6 * max(1.0, lifted.objective)
    # the people_lifted plan is worth at least its end-of-plan figure in people-years (issue 23: its
    # objective also counts, discounted, the effects after the plan, which no plan year sees)
    assert lifted.summary["people_lifted_by_plan_end"] - tol <= lifted.summary["people_years"] <= yearly.objective + tol
    # and no year lifts more than the end of the plan, nor more than the best end of plan
    by_end = yearly.summary["people_lifted_by_plan_end"]
    assert by_end - tol <= yearly.objective <= years * by_end + tol
    assert yearly.objective <= years * lifted.objective + tol
    assert yearly.summary["people_lifted"] <= lifted.objective + tol
