"""solve(instance, scenario) -> Result: build, solve with HiGHS, read back, report.

HiGHS is called through Pyomo's `pyomo.contrib.solver` interface (highspy in process, no LP
files). The same model object and solver object can be re-solved after changing mutable
Params; `solve_model` is that step on its own.
"""

from __future__ import annotations

import io
import math
import time
from typing import Any

import pandas as pd
import pyomo.environ as pyo
from pyomo.common.tee import capture_output
from pyomo.contrib.solver.common.factory import SolverFactory
from pyomo.contrib.solver.common.results import TerminationCondition

from optimizer.evaluate import people_lifted
from optimizer.io import Instance
from optimizer.results import BINDING_FAMILIES, FAMILY_INDEX, INDEX_COLUMNS, Result, empty_table
from optimizer.schema import Scenario

ZERO = 1e-9  # flows below this (million yuan) are reported as zero
EQUITY_TOLERANCE = 1e-7  # the equity level kept in the lexicographic second stage, relative

TERMINATION_STATUS = {
    TerminationCondition.convergenceCriteriaSatisfied: "optimal",
    TerminationCondition.provenInfeasible: "infeasible",
    TerminationCondition.locallyInfeasible: "infeasible",
    TerminationCondition.unbounded: "unbounded",
    TerminationCondition.maxTimeLimit: "time_limit",
}


def solve(instance: Instance, scenario: Scenario | None = None, **overrides: Any) -> Result:
    """Solve an instance under a scenario (its own by default, with dotted-key overrides)."""
    scenario = scenario or instance.scenario
    if overrides:
        scenario = scenario.override(**overrides)
    if scenario is not instance.scenario:
        instance = instance.with_scenario(scenario)
    # imported here: the models package imports optimizer's schema and io, and
    # `import optimizer` must not need the models package first
    from models.assemble import build_model

    started = time.perf_counter()
    model = build_model(instance, scenario)
    built = time.perf_counter()
    result = solve_model(model, instance, scenario)
    result.timings = {"build": built - started, **result.timings, "total": time.perf_counter() - started}
    return result


def new_solver():
    """The HiGHS solver of Pyomo's new interface; None if highspy cannot be used."""
    opt = SolverFactory("highs")
    return opt if opt.available() else None


def solve_model(model: pyo.ConcreteModel, instance: Instance, scenario: Scenario, opt=None) -> Result:
    """Solve a built model and read the plan back into a Result."""
    base = dict(scenario=scenario.model_dump(mode="json"), instance_digest=instance.digest,
                warnings=[str(w) for w in instance.warnings])
    opt = opt or new_solver()
    if opt is None:
        return Result(status="error", objective=None, message="HiGHS (highspy) is not installed or cannot be loaded; "
                      "reinstall with `pip install -e .`", **base)
    started = time.perf_counter()
    status, raw = _run(opt, model, scenario)
    objective = raw.incumbent_objective
    if status == "optimal" and scenario.objective == "equity":
        status, raw = _equity_second_stage(opt, model, scenario, raw)
    solved = time.perf_counter()
    solver_info = {"name": "highs", "version": ".".join(map(str, opt.version())),
                   "termination": str(raw.termination_condition.name)}
    if status != "optimal":
        return Result(status=status, objective=None, message=_status_message(status), solver=solver_info,
                      timings={"solve": solved - started}, **base)

    raw.solution_loader.load_vars()
    duals = raw.solution_loader.get_duals()
    allocation = allocation_table(model)
    result = Result(
        status="optimal",
        objective=float(objective),
        message="optimal plan found",
        allocation=allocation,
        kpis=kpi_table(model, instance, allocation),
        duals=dual_table(model, duals),
        binding=binding_table(model),
        solver=solver_info,
        **base,
    )
    result.summary = summarise(result, scenario)
    result.timings = {"solve": solved - started, "extract": time.perf_counter() - solved}
    return result


def _run(opt, model: pyo.ConcreteModel, scenario: Scenario, warm: bool = False, **options: Any):
    """Solve once; `warm` re-solves with the simplex method from HiGHS's current basis."""
    config = dict(load_solutions=False, raise_exception_on_nonoptimal_result=False,
                  time_limit=scenario.solver.time_limit, threads=scenario.solver.threads,
                  rel_gap=scenario.solver.mip_rel_gap)
    method = "simplex" if warm else scenario.solver.method
    if method != "choose":
        options = {"solver": method, **options}
    if warm:
        # a re-solve of a loaded model: HiGHS's notices are off by option, no capture needed
        raw = opt.solve(model, **config, solver_options={"output_flag": False, **options})
    else:
        raw = _quiet_solve(opt, model, config, options)
    condition = raw.termination_condition
    if condition == TerminationCondition.infeasibleOrUnbounded:
        # Presolve could not tell which: ask again without it.
        raw = _quiet_solve(opt, model, config, {**options, "presolve": "off"})
        condition = raw.termination_condition
    return TERMINATION_STATUS.get(condition, "error"), raw


def _quiet_solve(opt, model: pyo.ConcreteModel, config: dict, options: dict):
    # HiGHS writes notices (for example about zero coefficients from Params that are 0 now
    # but may move in a study) straight to the process's stdout while Pyomo loads or updates
    # the model; keep them off the planner's terminal. (Pyomo keeps HiGHS's solve log itself.)
    with capture_output(output=io.StringIO(), capture_fd=True):
        return opt.solve(model, **config, solver_options=options)


def _equity_second_stage(opt, model: pyo.ConcreteModel, scenario: Scenario, first):
    """Keep the optimal least coverage and maximise people lifted among those plans.

    The reported objective stays the first stage's least coverage.
    """
    theta = first.incumbent_objective
    model.theta.setlb(max(0.0, theta * (1 - EQUITY_TOLERANCE) - 1e-12))
    model.objective.deactivate()
    model.secondary_objective.activate()
    try:
        status, raw = _run(opt, model, scenario, warm=True)
    finally:
        model.secondary_objective.deactivate()
        model.objective.activate()
        model.theta.setlb(0)
    return status, raw


def _status_message(status: str) -> str:
    return {
        "infeasible": "the scenario is infeasible: its priorities, quotas, capacities and budgets conflict "
                      "(run `ewppt explain` to see which)",
        "unbounded": "the objective is unbounded: some aid has no limit",
        "time_limit": "the time limit was reached before an optimal plan was proven",
        "error": "HiGHS stopped with an error or numerical trouble",
    }[status]


# ------------------------------------------------------------------------------ read back


def allocation_table(model: pyo.ConcreteModel) -> pd.DataFrame:
    sets = model.index_sets
    rows = [
        (d, w, k, sets.category[k], t, _clean(model.x[d, w, k, t].value))
        for (d, w, k, t) in sets.flows
    ]
    table = pd.DataFrame(rows, columns=["donor", "recipient", "instrument", "category", "year", "aid"])
    return table[table["aid"] > 0].reset_index(drop=True)


def kpi_table(model: pyo.ConcreteModel, instance: Instance, allocation: pd.DataFrame) -> pd.DataFrame:
    """Per recipient: aid, people lifted (evaluated from the allocation), coverage, leverage."""
    lifted = people_lifted(instance.effects, instance.recipients, allocation)
    leverage = dict(zip(instance.instruments["instrument"], instance.instruments["leverage"]))
    aid = allocation.groupby("recipient")["aid"].sum()
    leveraged = (allocation["aid"] * allocation["instrument"].map(leverage)).groupby(allocation["recipient"]).sum()
    rows = []
    for w, name, poor in instance.recipients[["recipient", "name", "poor_population"]].itertuples(index=False):
        people = _round(lifted[w])
        rows.append((w, name, float(poor), _round(aid.get(w, 0.0)), people,
                     _round(people / poor) if poor > 0 else math.nan, _round(leveraged.get(w, 0.0))))
    return pd.DataFrame(rows, columns=["recipient", "name", "poor_population", "aid", "people_lifted", "coverage",
                                       "leveraged_investment"])


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """Index columns as text and a nullable integer year, whatever the family mix."""
    return table.astype({"year": "Int64"})


def _index_row(family: str, index: Any) -> dict[str, Any]:
    index = index if isinstance(index, tuple) else (index,)
    row = dict.fromkeys(INDEX_COLUMNS)
    row.update(zip(FAMILY_INDEX[family], index))
    return row


def dual_table(model: pyo.ConcreteModel, duals: dict) -> pd.DataFrame:
    """Duals in the sense d objective / d right-hand side, per family and index."""
    rows = []
    for family in FAMILY_INDEX:
        block = model.component(family)
        if block is None:
            continue
        for index, con in block.items():
            if con in duals:
                rows.append({"family": family, **_index_row(family, index), "dual": _round(duals[con])})
    return _typed(pd.DataFrame(rows, columns=empty_table("duals").columns)) if rows else empty_table("duals")


def binding_table(model: pyo.ConcreteModel) -> pd.DataFrame:
    """Slack of every inequality a planner sets (priorities, quotas, capacities, caps)."""
    rows = []
    for family in BINDING_FAMILIES:
        block = model.component(family)
        if block is None:
            continue
        for index, con in block.items():
            body = pyo.value(con.body)
            slacks = []
            if con.has_lb():
                slacks.append(body - pyo.value(con.lower))
            if con.has_ub():
                slacks.append(pyo.value(con.upper) - body)
            slack = max(0.0, min(slacks))
            scale = 1.0 + max(abs(pyo.value(b)) for b in (con.lower, con.upper) if b is not None)
            rows.append({"family": family, **_index_row(family, index), "slack": _round(slack),
                         "binding": bool(slack <= 1e-7 * scale)})
    return _typed(pd.DataFrame(rows, columns=empty_table("binding").columns)) if rows else empty_table("binding")


def summarise(result: Result, scenario: Scenario) -> dict[str, Any]:
    kpis = result.kpis
    covered = kpis["coverage"].dropna()
    return {
        "objective_name": scenario.objective,
        "objective": result.objective,
        "total_aid_million": _round(float(result.allocation["aid"].sum())),
        "people_lifted": _round(float(kpis["people_lifted"].sum())),
        "min_coverage": _round(float(covered.min())) if len(covered) else None,
        "leveraged_investment_million": _round(float(kpis["leveraged_investment"].sum())),
        "binding_priorities": int(result.binding.loc[result.binding["family"] == "priority_share", "binding"].sum()),
        "binding_limits": int(result.binding["binding"].sum()),
    }


def _round(value: float) -> float:
    """Round away solver noise so that equal plans write equal files."""
    value = round(float(value), 9)
    return 0.0 if value == 0 else value


def _clean(value: float | None) -> float:
    if value is None or abs(value) < ZERO:
        return 0.0
    return _round(value)

