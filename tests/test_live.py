"""optimizer/studies/live.py: a planner's live plan, the model built once and moved by Params,
gives the plan `ewppt solve --set` gives for every sequence of settings (the workbench's promise)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer import load_instance
from optimizer.analysis.explain import explain
from optimizer.data.errors import InvalidInstance
from optimizer.solving.solve import solve
from optimizer.solving.steady import SteadyCopy
from optimizer.studies.live import LivePlan, settings_for_changes
from optimizer.studies.study import ParameterSpec, Study, apply_to_instance, resolve_parameters
from tests.conftest import INSTANCES

CELLS = ("pairs", "capacity")


def reference(instance, settings: dict):
    """What `ewppt solve` gives: the instance with the settings written into its files, built afresh."""
    scenario_keys = {k: v for k, v in settings.items() if k != "locks" and k.split(".")[0] not in CELLS}
    cells = {k: v for k, v in settings.items() if k.split(".")[0] in CELLS}
    if "locks" in settings:
        from optimizer.data.io import Instance
        from optimizer.data.schema import TABLES

        tables = {name: instance.table(name) for name in TABLES}
        tables["locks"] = settings["locks"]
        instance = Instance(path=instance.path, scenario=instance.scenario, **tables)
    instance = instance.with_scenario(instance.scenario.override(**scenario_keys))
    if cells:
        study = Study(parameter=tuple(ParameterSpec(path=k, values=(v,), mode="value") for k, v in cells.items()))
        instance = apply_to_instance(instance, resolve_parameters(study, instance), cells)
    return solve(instance)


def same_plan(live, expected) -> None:
    assert live.status == expected.status
    if expected.objective is None:
        assert live.objective is None
        return
    assert live.objective == pytest.approx(expected.objective, rel=1e-9, abs=1e-9)
    for key in ("people_lifted", "total_aid_million", "min_coverage"):
        assert live.summary[key] == pytest.approx(expected.summary[key], rel=1e-7, abs=1e-7), key


FLOW = ["donor", "recipient", "instrument", "year"]


DECISION = ["kind", "donor", "recipient", "instrument", "project", "year"]


def same_flows(live, expected) -> None:
    """The same allocation, flow by flow, and the same whole decisions (an LP relaxation's
    fractional cadres and funds included), to 1e-7; the same KPIs per recipient. (A warm
    re-solve's values can differ from a fresh solve's in the last digits: not bit for bit.)"""
    if expected.objective is None:
        return
    for table, keys, column in (("allocation", FLOW, "aid"), ("decisions", DECISION, "count"),
                                ("kpis", ["recipient"], "people_lifted")):
        mine, theirs = (getattr(r, table).astype({k: str for k in keys}).set_index(keys)[column] for r in (live, expected))
        both = pd.concat([mine.rename("live"), theirs.rename("solve")], axis=1).fillna(0.0)
        off = (both["live"] - both["solve"]).abs() > 1e-7 * (1 + both["solve"].abs())
        assert not off.any(), (table, both[off])


def test_every_setting_in_sequence_gives_ewppt_solves_plan_on_the_tiny_instance():
    tiny = load_instance(INSTANCES / "tiny")
    live = LivePlan(tiny)
    sequence = [
        {},
        {"proportion.provincial": 0.012},
        {"proportion.provincial": 0.012, "priorities.enterprise_finance_min": 0.3},  # a priority set: rebuilt
        {"proportion.provincial": 0.012, "priorities.enterprise_finance_min": 0.4},  # moved in place
        {"priorities.enterprise_finance_min": 0.4, "pairs.coastal.upland.base_quota": 3.0},
        {"priorities.enterprise_finance_min": 0.4},  # the quota back to the file's value
        {"priorities.enterprise_finance_min": 0.4, "priorities.scope": "national"},
        {"scenario.objective": "equity"},
        {"scenario.objective": "equity", "priorities.coverage_min": 0.001},
        {},
    ]
    rebuilt = []
    for settings in sequence:
        solved = live.solve(settings)
        same_plan(solved.result, reference(tiny, settings))
        rebuilt.append(bool(solved.rebuilt))
    assert rebuilt == [True, False, True, False, False, False, True, True, True, True]


def test_a_knob_on_ewppt_2010_is_a_param_move_with_the_plan_of_ewppt_solve_set():
    ewppt = load_instance(INSTANCES / "ewppt-2010")
    live = LivePlan(ewppt)
    for settings in ({"scenario.model": "lp"}, {"scenario.model": "lp", "priorities.enterprise_finance_min": 0.35},
                     {"scenario.model": "lp", "capacity.tibet.infrastructure.2012": 1.0},
                     # a donor's budget split over the years moves: the steady stage's profile shares move
                     {"scenario.model": "lp", "proportion.provincial": 0.0007, "proportion.county": 0.0001}):
        solved = live.solve(settings)
        expected = reference(ewppt, settings)
        same_plan(solved.result, expected)
        same_flows(solved.result, expected)
    assert live.builds == 1 and live._steady.builds == 1


def test_a_bad_setting_names_itself():
    tiny = load_instance(INSTANCES / "tiny")
    live = LivePlan(tiny)
    with pytest.raises(InvalidInstance, match="atlantis"):
        live.solve({"pairs.coastal.atlantis.base_quota": 1.0})
    with pytest.raises(InvalidInstance, match="0 or more"):
        live.solve({"pairs.coastal.upland.base_quota": -1.0})
    with pytest.raises(ValueError, match="enterprise_finance_min"):
        live.solve({"priorities.enterprise_finance_min": 2.0})


def test_explains_least_change_applied_as_settings_makes_the_plan_feasible():
    tiny = load_instance(INSTANCES / "tiny")
    settings = {"priorities.enterprise_finance_min": 0.7, "priorities.household_finance_min": 0.5}
    live = LivePlan(tiny)
    solved = live.solve(settings)
    assert solved.result.status == "infeasible"
    explanation = explain(solved.instance)
    fixed = settings_for_changes(explanation.changes, settings, tiny)
    assert live.solve(fixed).result.status == "optimal"


def test_a_lock_change_rebuilds_and_gives_the_plan_with_that_lock():
    tiny = load_instance(INSTANCES / "tiny")
    instrument = tiny.instruments["instrument"].iloc[0]
    locks = pd.DataFrame([{"donor": "coastal", "recipient": "upland", "instrument": instrument, "year": 2011,
                           "aid": None, "min_aid": 1.0, "max_aid": None}]).reindex(columns=tiny.locks.columns)
    live = LivePlan(tiny)
    live.solve({})
    solved = live.solve({"locks": locks})
    assert "locks" in solved.rebuilt
    same_plan(solved.result, reference(tiny, {"locks": locks}))
    flows = solved.result.allocation
    mine = flows[(flows["donor"] == "coastal") & (flows["recipient"] == "upland") & (flows["instrument"] == instrument)
                 & (flows["year"] == 2011)]
    assert mine["aid"].sum() >= 1.0 - 1e-9


# knobs a planner moves on the tiny instance (None: the setting left out, the file's value)
KNOBS = {
    "proportion.provincial": [0.006, 0.01, 0.014],
    "proportion.prefectural": [0.015, 0.02, 0.03],
    "pairs.coastal.upland.base_quota": [0.0, 2.0, 5.0],
    "pairs.harbour.valley.base_quota": [None, 0.0, 4.0],
    "priorities.enterprise_finance_min": [None, 0.1, 0.3],
    "priorities.public_goods_min": [None, 0.2, 0.4],
}
setting = st.fixed_dictionaries({}, optional={k: st.sampled_from([v for v in vs if v is not None])
                                              for k, vs in KNOBS.items()})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.sampled_from(["lp", "mip"]), sequence=st.lists(setting, min_size=2, max_size=4))
def test_a_session_re_solved_through_any_knob_sequence_gives_ewppt_solves_plan(model, sequence):
    """Whatever the order of the knob changes (the steady stage's LP kept and warm started, its
    bounds, budgets and coefficients moved), each plan is the plan a fresh `ewppt solve --set`
    gives, flow by flow."""
    tiny = load_instance(INSTANCES / "tiny")
    live = LivePlan(tiny)
    for knobs in sequence:
        chosen = {"scenario.model": model, **knobs}
        solved = live.solve(chosen)
        expected = reference(tiny, chosen)
        same_plan(solved.result, expected)
        same_flows(solved.result, expected)


def test_the_steady_stage_is_kept_and_warm_started_across_param_moves():
    """Param moves re-solve the steady stage's LP kept from the last solve (built once, started
    from its basis); a change of structure rebuilds the model and with it the stage's LP."""
    tiny = load_instance(INSTANCES / "tiny")
    live = LivePlan(tiny)
    for provincial in (0.01, 0.012, 0.008, 0.01):
        solved = live.solve({"proportion.provincial": provincial, "pairs.coastal.upland.base_quota": 3.0})
        same_flows(solved.result, reference(tiny, {"proportion.provincial": provincial,
                                                   "pairs.coastal.upland.base_quota": 3.0}))
        assert solved.result.solver["steady_stage"] == "optimal"
    assert live.builds == 1 and live._steady.builds == 1 and live._steady.warm
    # HiGHS's time limit counts every run of one Highs: each re-solve's limit starts where the last run ended
    from optimizer.solving.solve import STEADY_MIN_SECONDS

    highs = live._steady.highs
    limit = highs.getOptionValue("time_limit")
    limit = limit[-1] if isinstance(limit, tuple) else limit  # (status, value) in some highspy versions
    assert limit > STEADY_MIN_SECONDS and limit - highs.getRunTime() > STEADY_MIN_SECONDS - 1.0
    first = live._steady
    live.solve({"scenario.objective": "equity"})  # a structure change: a new model, a new stage LP
    assert live.builds == 2 and live._steady is not first and isinstance(live._steady, SteadyCopy)


def test_a_scenario_change_re_runs_the_scenario_checks_and_keeps_the_tables_problems():
    """with_scenario runs the checks that read no scenario once per tables: the problems found are
    those of every check run afresh, and a scenario the tables cannot serve is still refused."""
    from optimizer.data.checks import run_checks
    from optimizer.data.schema import TABLES

    tiny = load_instance(INSTANCES / "tiny")
    tables = {name: tiny.table(name) for name in TABLES}
    for overrides in ({"proportion.provincial": 0.0, "proportion.prefectural": 0.0},  # a warning: no budget
                      {"priorities.enterprise_finance_min": 0.7, "priorities.household_finance_min": 0.5}):
        scenario = tiny.scenario.override(**overrides)
        moved = tiny.with_scenario(tiny.scenario).with_scenario(scenario)
        errors, warnings = run_checks(tables, scenario)
        assert not errors and warnings and [str(w) for w in moved.warnings] == [str(w) for w in warnings]
    with pytest.raises(InvalidInstance, match="revenue"):
        tiny.with_scenario(tiny.scenario).with_scenario(tiny.scenario.override(**{"scenario.years": [2030, 2031]}))
