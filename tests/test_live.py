"""optimizer/studies/live.py: a planner's live plan, the model built once and moved by Params,
gives the plan `ewppt solve --set` gives for every sequence of settings (the workbench's promise)."""

from __future__ import annotations

import pandas as pd
import pytest

from optimizer import load_instance
from optimizer.analysis.explain import explain
from optimizer.data.errors import InvalidInstance
from optimizer.solving.solve import solve
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
                     {"scenario.model": "lp", "capacity.tibet.infrastructure.2012": 1.0}):
        solved = live.solve(settings)
        same_plan(solved.result, reference(ewppt, settings))
    assert live.builds == 1


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
