"""Re-solves pushed in bulk (optimizer/studies/sweep.py `_SelectiveUpdates`, issue 24): after a
sweep's runner moves a scenario's Params and pushes what they change in bulk, HiGHS holds
exactly the LP a fresh build of that scenario gives it, the Pyomo model's Params hold the
scenario's values, Pyomo's own full update changes nothing, and the plan's objective and KPIs
those of a fresh build's plan. Real HiGHS, hypothesis-chosen sequences of points."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer import load_instance
from optimizer.studies.study import Study, apply_to_instance, resolve_parameters
from optimizer.studies.sweep import ScenarioRunner, _BuiltModel, sweep_scenario

TINY_PARAMETERS = {
    "proportion.provincial": [0.005, 0.01, 0.02],
    "priorities.enterprise_finance_min": [0.0, 0.25],
    "effects.*.cdf.people_per_million": [0.5, 1.0],
    "instruments.*.leverage": [0.5, 1.0, 1.5],
    "instruments.loan_guarantee.leverage": [0.8, 1.25],
}
FACTORS = {"instruments.*.leverage", "instruments.loan_guarantee.leverage"}
# ewppt-2010 as an LP: its funds' big-M coefficients (-fund_capital_max) follow the budgets
RECORD_PARAMETERS = {"proportion.provincial": [0.0009, 0.001, 0.0012], "instruments.*.leverage": [0.5, 1.0, 1.5]}


def study_of(values: dict[str, list]) -> Study:
    return Study.model_validate({"study": {"design": "grid"}, "parameter": [
        {"path": path, "values": levels, **({"mode": "factor"} if path in FACTORS else {})}
        for path, levels in values.items()]})


def lp_of(built: _BuiltModel) -> dict[str, object]:
    """What HiGHS holds: costs, bounds and the matrix's nonzero entries by (row, column)."""
    lp = built.opt._solver_model.getLp()
    start, index, value = (np.array(x) for x in (lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_))
    columns = np.repeat(np.arange(len(start) - 1), np.diff(start))
    entries = {(int(r), int(c)): float(v) for r, c, v in zip(index, columns, value) if v != 0.0}
    return {"col_cost": list(lp.col_cost_), "col_lower": list(lp.col_lower_), "col_upper": list(lp.col_upper_),
            "row_lower": list(lp.row_lower_), "row_upper": list(lp.row_upper_), "entries": entries}


def fresh(instance, parameters, point) -> tuple[_BuiltModel, dict]:
    """The scenario built from its own tables (the rebuild a sweep avoids), solved once."""
    changed = apply_to_instance(instance, parameters, point)
    built = _BuiltModel(changed, sweep_scenario(changed, parameters), parameters)
    return built, built.solve(False)


def check_points(instance, values: dict[str, list], choices: list[dict[str, int]]) -> None:
    study = study_of(values)
    parameters = resolve_parameters(study, instance)
    runner = ScenarioRunner(instance, parameters)
    for n, choice in enumerate(choices):
        point = {p.path: values[p.path][choice[p.path]] for p in parameters}
        record = runner.run(n, point)
        [built] = runner._models.values()
        reference, expected = fresh(instance, parameters, point)
        assert record["status"] == expected["status"]  # some points are infeasible: for both
        # HiGHS holds exactly the fresh build's LP
        mine = lp_of(built)
        assert mine == lp_of(reference)
        # the Pyomo model holds the scenario: every mutable Param has the fresh build's value
        for param in built.model.component_objects(pyo_param(), descend_into=True):
            if param.mutable:
                for key, data in param.items():
                    assert data.value == reference.model.component(param.name)[key].value, (param.name, key)
        # and Pyomo's own full update (every mutable expression evaluated again) pushes nothing new
        built.opt.update_parameters()
        assert lp_of(built) == mine
        if record["status"] != "optimal":
            continue
        assert record["objective"] == pytest.approx(expected["objective"], rel=1e-9, abs=1e-9)
        # KPIs the objective fixes (people-years, leverage and least coverage may differ between
        # two optimal plans of one LP: the years' split and the instruments tie)
        for kpi in ("people_lifted", "total_aid"):
            assert record[kpi] == pytest.approx(expected[kpi], rel=1e-9, abs=1e-6), kpi


def pyo_param():
    import pyomo.environ as pyo

    return pyo.Param


def choices_for(values: dict[str, list], count: int):
    return st.lists(st.fixed_dictionaries({path: st.integers(0, len(levels) - 1) for path, levels in values.items()}),
                    min_size=count, max_size=count)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choices=choices_for(TINY_PARAMETERS, 4))
def test_bulk_push_gives_the_lp_of_a_fresh_build_on_tiny(tiny, choices):
    check_points(tiny, TINY_PARAMETERS, choices)


@settings(max_examples=3, deadline=None)
@given(choices=choices_for(RECORD_PARAMETERS, 3))
def test_bulk_push_gives_the_lp_of_a_fresh_build_on_ewppt_2010(choices):
    check_points(load_instance("ewppt-2010", **{"scenario.model": "lp"}), RECORD_PARAMETERS, choices)


def test_budget_formula_gives_budget_values_bit_for_bit():
    """models.parameters.BudgetFormula (numpy) against budget_values (the Python loop) after
    moving the proportion, the revenue and the capacities."""
    from models.assemble import build_model
    from models.parameters import BudgetFormula, budget_values

    instance = load_instance("ewppt-2010", **{"scenario.model": "lp"})
    m = build_model(instance, mutable={"proportion", "revenue", "max_aid"})
    formula = BudgetFormula(m)
    rng = np.random.default_rng(7)
    for _ in range(3):
        for data in m.proportion.values():
            data.set_value(float(rng.uniform(0.0005, 0.002)))
        for data in list(m.revenue.values())[::7]:
            data.set_value(float(rng.uniform(0, 5000)))
        for data in list(m.max_aid.values())[::3]:
            data.set_value(float(rng.uniform(0, 50)))
        expected = budget_values(m)
        got = formula.values({"proportion", "revenue", "max_aid"})
        assert [d for d, _ in got] == [d for d, _ in expected]
        assert [v for _, v in got] == [v for _, v in expected]
