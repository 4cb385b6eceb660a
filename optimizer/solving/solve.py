"""solve(instance, scenario) -> Result: build, solve with HiGHS, read back, report.

HiGHS is called through Pyomo's `pyomo.contrib.solver` interface (highspy in process, no LP
files). The same model object and solver object can be re-solved after changing mutable
Params; `solve_model` is that step on its own.

Run control: `stop=interrupt.StopRequest()` lets another thread (or Ctrl-C) stop the solve and
keep the best plan branch and bound has (status "stopped"; `interrupt.Stopped` before any
plan); `[solver] time_limit` bounds the whole solve, the steady stage included (from the
first HiGHS run; building the model is not counted).
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.contrib.solver.common.results import TerminationCondition

from optimizer.data.io import Instance
from optimizer.data.provenance import instance_figures
from optimizer.data.scaling import rescaled, scale_of
from optimizer.data.schema import Scenario
from optimizer.solving import interrupt, progress
from optimizer.solving.quiet import exclusive, quiet
from optimizer.solving.columns import Weights
from optimizer.solving.mip import MipOutcome, release, solve_mip
from optimizer.solving.recheck import recheck
from optimizer.solving.steady import steady_plan
from optimizer.solving.results import (Result, allocation_table, binding_table, category_record, decision_table,
                                       dual_table, kpi_table, round_figure, summarise, unscaled)

EQUITY_TOLERANCE = 1e-7  # the equity level kept in the lexicographic second stage, relative

TERMINATION_STATUS = {
    TerminationCondition.convergenceCriteriaSatisfied: "optimal",
    TerminationCondition.provenInfeasible: "infeasible",
    TerminationCondition.locallyInfeasible: "infeasible",
    TerminationCondition.unbounded: "unbounded",
    TerminationCondition.maxTimeLimit: "time_limit",
}


def solve(instance: Instance, scenario: Scenario | None = None, relax: bool = False, ranging: bool = False,
          stop: interrupt.StopRequest | None = None, **overrides: Any) -> Result:
    """Solve an instance under a scenario (its own by default, with dotted-key overrides).

    `ranging=True` adds `result.ranging`: for each budget, quota, share, capacity and effect,
    the interval in which the plan's basis stays optimal (optimizer/solving/ranging.py).

    `relax=True` solves the LP relaxation (`model = "lp"`) and reports the plan of the
    relaxation, and also solves the MIP to report the integrality gap between the two in the
    summary (`mip_objective`, `integrality_gap` = (relaxation - MIP) / |relaxation|).

    `stop` (an `interrupt.StopRequest`): `stop.request()` from any thread stops this solve only;
    in branch and bound with a plan the result has status "stopped" (the plan, its MIP gap and
    best bound; the steady stage, ranging and the plan's duals are skipped), before any plan
    `interrupt.Stopped` is raised. Ctrl-C does the same (KeyboardInterrupt before a plan).
    """
    scenario = scenario or instance.scenario
    if overrides:
        scenario = scenario.override(**overrides)
    if relax:
        return _solve_relaxation(instance, scenario, ranging, stop)
    if scenario is not instance.scenario:
        instance = instance.with_scenario(scenario)
    # imported here: the models package imports optimizer's schema and io, and
    # `import optimizer` must not need the models package first
    from models.assemble import build_model

    started = time.perf_counter()
    # in units HiGHS's absolute tolerances suit, the plan back in the instance's (optimizer/data/scaling.py)
    scale = scale_of(instance)
    with interrupt.controlled(stop):
        with progress.stage("building the model"), PauseGC():  # (see _loaded)
            model = build_model(rescaled(instance, scale), scenario, segment_rows=ranging)
        built = time.perf_counter()
        result = unscaled(solve_model(model, rescaled(instance, scale), scenario, ranging=ranging, stop=stop), instance,
                          scale, scenario.objective)
    if not scale.plain and result.has_plan:
        result.summary = summarise(result, scenario, instance)
    result.timings = {"build": built - started, **result.timings, "total": time.perf_counter() - started}
    return result


def _solve_relaxation(instance: Instance, scenario: Scenario, ranging: bool = False,
                      stop: interrupt.StopRequest | None = None) -> Result:
    relaxed = solve(instance, scenario.override(**{"scenario.model": "lp"}), ranging=ranging, stop=stop)
    if relaxed.status == "stopped":
        return relaxed
    whole = solve(instance, scenario.override(**{"scenario.model": "mip"}), stop=stop)
    if whole.status == "stopped":  # the stop is the run's outcome: the relaxation's plan, as stopped
        relaxed.status = "stopped"
        relaxed.message = f"the LP relaxation's plan; the MIP solved for the gap: {whole.message}"
    mip = whole.objective if whole.has_plan else None
    gap = None
    if relaxed.objective is not None and mip is not None:
        gap = round_figure(abs(relaxed.objective - mip) / max(abs(relaxed.objective), 1e-9))
    relaxed.summary.update(mip_status=whole.status, mip_objective=mip, integrality_gap=gap)
    relaxed.timings["mip"] = whole.timings.get("total", 0.0)
    return relaxed


def new_solver():
    """The HiGHS solver of Pyomo's new interface (what `SolverFactory("highs")` makes), loading
    models in bulk into the same LP (optimizer/solving/loading.py) on the pyomo releases that
    module was written against; None if highspy cannot be used."""
    from pyomo.contrib.solver.solvers.highs import Highs

    from optimizer.solving.loading import BulkHighs, supported

    opt = BulkHighs() if supported() else Highs()
    return opt if opt.available() else None


def solve_model(model: pyo.ConcreteModel, instance: Instance, scenario: Scenario, opt=None,
                ranging: bool = False, stop: interrupt.StopRequest | None = None, steady=None) -> Result:
    """Solve a built model and read the plan back into a Result (with its ranging table when
    `ranging`: computed here, while HiGHS still holds the plan's LP and basis).

    A MIP that stops at its time limit with a plan reports that plan, with status
    `time_limit`, the best bound and the gap; the duals of a MIP plan are those of the LP
    with its whole decisions fixed (what one more million is worth, given those decisions).
    `stop` as in `solve`: a MIP stopped in branch and bound with a plan reports it with status
    `stopped`. The scenario's time limit covers every stage here, the steady stage included.
    `steady` (a `steady.SteadyCopy` the caller keeps with `model` and `opt`) keeps the steady
    stage's LP between re-solves of this model, moved and warm started (a live plan's re-solve).
    """
    with interrupt.controlled(stop, scenario.solver.time_limit):
        return _solve_model(model, instance, scenario, opt, ranging, steady)


def _solve_model(model: pyo.ConcreteModel, instance: Instance, scenario: Scenario, opt, ranging: bool,
                 steady_copy=None) -> Result:
    base = dict(scenario=scenario.model_dump(mode="json"), instance_digest=instance.digest,
                warnings=[str(w) for w in instance.warnings], figures=instance_figures(instance.path))
    opt = opt or new_solver()
    if opt is None:
        return Result(status="solver_missing", objective=None, message="HiGHS (highspy) is not installed or cannot be loaded; "
                      "reinstall with `pip install -e .`", **base)
    started = time.perf_counter()
    if model.integer:
        outcome, fixed = solve_mip(opt, model, scenario, _run)
    else:
        with progress.stage("solving the LP"):
            outcome, fixed = _solve_lp(opt, model, scenario), []
    if outcome.status == "stopped" and not outcome.has_plan:
        release(fixed)
        interrupt.stopped_without_plan()
    planned = ("optimal", "time_limit", "stopped")
    try:
        stopped_by = interrupt.keep() if outcome.status == "stopped" else ""  # the forced exit now waits for it
        first_status = ""  # the first stage's own status, when the steady stage was stopped
        if outcome.status == "optimal" and scenario.objective == "equity":
            with progress.stage("equity: the most people lifted at the best least coverage"):
                outcome, raw = _equity_second_stage(opt, model, scenario, outcome)
            if outcome.status == "optimal":
                raw.solution_loader.load_vars()
        ranged, notes = None, []
        if outcome.status == "stopped" and outcome.has_plan and not outcome.duals:
            notes.append("duals: not computed, the solve was stopped (the duals table is empty)")
        if ranging and outcome.status == "stopped":
            notes.append("ranging: skipped, the solve was stopped")
        elif ranging and outcome.status in planned and outcome.has_plan:  # the first stage's basis
            with progress.stage("ranging"):
                ranged = _ranging(opt, model, notes)
        steady = None
        if outcome.status in planned and outcome.has_plan and getattr(model, "steady_years", None):
            steady = _steady_stage(opt, model, scenario, outcome.status, time.perf_counter() - started, notes,
                                   steady_copy)
            if steady == "stopped":  # stopped in the steady stage: the first stage's plan, reported as stopped
                stopped_by = interrupt.keep()
                first_status, outcome.status = outcome.status, "stopped"
        solved = time.perf_counter()
        solver_info = {"name": "highs", "version": ".".join(map(str, opt.version())), "termination": outcome.termination,
                       "model": "mip" if model.integer else "lp"}
        if model.integer:
            solver_info.update(method=outcome.method, best_bound=outcome.bound, mip_gap=outcome.gap,
                               mip_nodes=outcome.nodes)
        if steady is not None:
            solver_info["steady_stage"] = steady
        if outcome.status not in planned or not outcome.has_plan:
            return Result(status=outcome.status, objective=None, message=_status_message(outcome.status),
                          solver=solver_info, timings={"solve": solved - started}, **base)
        allocation = allocation_table(model)
        decisions = decision_table(model)
        # HiGHS's word is not enough: the plan must keep every rule in the instance's own terms
        with progress.stage("re-checking the plan"):
            violations = recheck(instance.with_scenario(scenario) if scenario is not instance.scenario else instance,
                                 allocation, decisions, whole=model.integer)
        if violations:
            return Result(status="numerical", objective=None, solver=solver_info, timings={"solve": solved - started},
                          message=f"HiGHS returned a plan that breaks {len(violations)} rule(s) on re-check, for "
                                  f"example: {'; '.join(violations[:3])}", **base)
        message = "optimal plan found" if outcome.status == "optimal" else _stopped_message(outcome, stopped_by,
                                                                                                first_status)
        result = Result(
            status=outcome.status,
            objective=float(outcome.objective),
            message=message,
            allocation=allocation,
            kpis=kpi_table(model, instance, allocation),
            duals=dual_table(model, outcome.duals),
            binding=binding_table(model),
            decisions=decisions,
            has_plan=True,
            solver=solver_info,
            **base,
        )
        result.ranging = ranged
        result.by_category = category_record(model, instance, allocation)
        result.warnings += notes
    finally:
        release(fixed)
    result.summary = summarise(result, scenario, instance)
    result.timings = {"solve": solved - started, "extract": time.perf_counter() - solved}
    return result


def _stopped_message(outcome: MipOutcome, stopped_by: str, first_status: str = "") -> str:
    """A plan that is not proven optimal, or stopped: why it stopped, and how far from the bound."""
    reason = "time limit reached" if outcome.status == "time_limit" else stopped_by
    if first_status == "optimal":
        return f"{reason}: the first stage's optimal plan, without the steady year profiles"
    if first_status:
        reason += " (the first stage had stopped at its time limit)"
    if outcome.gap is None:
        return f"{reason}: best plan found (no bound)"
    return f"{reason}: best plan found, within {outcome.gap:.2%} of the best bound"


def _steady_stage(opt, model: pyo.ConcreteModel, scenario: Scenario, status: str, first_stage: float,
                  notes: list[str], reuse=None) -> str:
    """Run the steady stage within what is left of the time limit; returns its status
    (`optimal`, HiGHS's status when it stopped, or `skipped: ...`), a note when the plan stays
    the first stage's."""
    first = ("the plan is the first stage's, whose funding lines may jump between years "
             "(--set scenario.year_profile=free skips the stage)")
    if status == "stopped":
        notes.append(f"year profiles: the steady stage was skipped, the solve was stopped; {first}")
        return "skipped: stopped"
    # bounded: the steady plan is worth a few times the first stage, not an unbounded wait, and
    # no more than the time limit leaves
    limit = max(STEADY_MIN_SECONDS, STEADY_TIMES * first_stage)
    left = interrupt.time_left()
    if left is not None and left < STEADY_LEAST_SECONDS:
        notes.append(f"year profiles: the time limit ({scenario.solver.time_limit:,.0f} s) left no time for the "
                     f"steady stage; {first}")
        return "skipped: time limit"
    if left is not None:
        limit = min(limit, left)
    with progress.stage("steady year profiles: the same objective, funding lines on their profiles"):
        steady = steady_plan(opt, model, scenario, limit, reuse).status
    if steady == "stopped":
        notes.append(f"year profiles: the steady stage was stopped; {first}")
    elif steady != "optimal":
        notes.append(f"year profiles: the steady stage stopped ({steady}, limit {limit:,.0f} s); {first}")
    return steady


def _ranging(opt, model: pyo.ConcreteModel, notes: list[str]) -> pd.DataFrame:
    """The plan's ranging table; an LP HiGHS cannot range gives an empty table and a warning."""
    from optimizer.solving.ranging import RangingUnavailable, empty_ranging, ranging_table

    try:
        return ranging_table(opt, model)
    except RangingUnavailable as exc:
        notes.append(f"ranging: {exc}")
        return empty_ranging()


def _solve_lp(opt, model: pyo.ConcreteModel, scenario: Scenario) -> MipOutcome:
    """An LP in one HiGHS solve, as an outcome (its plan loaded into the model)."""
    # the long curves' vertex weights as needed (optimizer/solving/columns.py: the same LP optimum)
    status, raw = Weights.of(opt, model).solve(lambda **options: _run(opt, model, scenario, **options),
                                               certify=True, time_left=lambda: "scenario")
    outcome = MipOutcome(status=status, termination=raw.termination_condition.name, method="lp")
    if status == "optimal":
        raw.solution_loader.load_vars()
        outcome.objective, outcome.duals = raw.incumbent_objective, raw.solution_loader.get_duals()
    return outcome


def _run(opt, model: pyo.ConcreteModel, scenario: Scenario, warm: bool = False, relaxation: bool = False,
         time_limit: float | None | str = "scenario", keep: bool = False, **options: Any):
    """Solve once; `warm` re-solves with the simplex method from HiGHS's current basis;
    `relaxation` solves a MIP's LP relaxation; `time_limit` overrides the scenario's. Under a
    solve that keeps its plans, a stop in branch and bound, or in a run with `keep` (one after
    a plan was shown), returns status "stopped" instead of raising."""
    limit = scenario.solver.time_limit if time_limit == "scenario" else time_limit
    config = dict(load_solutions=False, raise_exception_on_nonoptimal_result=False, threads=scenario.solver.threads,
                  rel_gap=scenario.solver.mip_rel_gap)
    # HiGHS keeps options between solves of one model: always set the ones that vary
    highs = _loaded(opt, model)
    options = {"time_limit": interrupt.run_limit(highs, limit), "run_crossover": "on", **options}
    if model.integer:
        options["solve_relaxation"] = relaxation
    method = "simplex" if warm else scenario.solver.method
    if method != "choose":
        options = {"solver": method, **options}
    _size_thread_pool(scenario.solver.threads)
    # a stop in branch and bound under a solve that keeps its plans returns what HiGHS has
    keep = (keep or (model.integer and not relaxation)) and interrupt.keeps_plans()
    with interrupt.solving(highs, keep=keep):  # otherwise a stop raises here, whatever HiGHS reports
        if warm:
            # a re-solve of a loaded model: HiGHS's notices are off by option, no capture needed
            with exclusive():  # Pyomo's solve captures the output itself
                raw = opt.solve(model, **config, solver_options={"output_flag": False, **options})
        else:
            raw = _quiet_solve(opt, model, config, options)
        condition = raw.termination_condition
        if keep and interrupt.requested():
            return "stopped", raw
        if condition == TerminationCondition.infeasibleOrUnbounded:
            # Presolve could not tell which: ask again without it.
            raw = _quiet_solve(opt, model, config, {**options, "presolve": "off"})
            condition = raw.termination_condition
    if condition == TerminationCondition.interrupted:  # stopped by HiGHS's own interrupt: as Python would
        raise KeyboardInterrupt
    return TERMINATION_STATUS.get(condition, "numerical"), raw


_pool_threads: list = [None]  # the `threads` HiGHS's thread pool was last made for here (None: not known)


def _size_thread_pool(threads: int | None) -> None:
    """HiGHS keeps one thread pool a process, made by the first solve; a later solve asking
    another number of threads fails (reported as numerical trouble: an analyst's second solve
    with `solver.threads` changed). So a solve that names its threads gets a pool of that size,
    unless another HiGHS solve runs in this process now. (A solve that names none uses the pool
    there is.)"""
    if threads is None or threads == _pool_threads[0] or interrupt.solving_now():
        return
    import highspy

    highspy.Highs.resetGlobalScheduler(True)
    _pool_threads[0] = threads


def _loaded(opt, model: pyo.ConcreteModel):
    """The highspy.Highs behind `opt`, holding `model`, its callbacks watched for progress.
    (Pyomo creates it in the first solve; loading it first lets the callbacks see that solve.)
    A Highs still running a branch and bound that a stop left (interrupt.busy) is replaced."""
    # a branch and bound left running after a stop (interrupt.Detached) keeps its Highs: load anew
    if opt._model is not model or opt._solver_model is None or interrupt.busy(opt._solver_model):
        # Building and loading make hundreds of thousands of objects that all live on: the garbage
        # collector's passes over them find nothing to free (at 800 counties a third of the load)
        with progress.stage("loading the model into HiGHS"), PauseGC():
            with quiet():  # HiGHS's notices, as below
                opt.set_instance(model)
    progress.watch(opt._solver_model)
    return opt._solver_model


def _quiet_solve(opt, model: pyo.ConcreteModel, config: dict, options: dict):
    # HiGHS writes notices (for example about zero coefficients from Params that are 0 now
    # but may move in a study) straight to the process's stdout while Pyomo loads or updates
    # the model; keep them off the planner's terminal. (Pyomo keeps HiGHS's solve log itself.)
    with quiet():
        return opt.solve(model, **config, solver_options=options)


def _equity_second_stage(opt, model: pyo.ConcreteModel, scenario: Scenario, first: MipOutcome):
    """Keep the optimal least coverage and maximise people lifted among those plans (for a
    MIP, with its whole decisions held at the first stage's plan).

    The reported objective stays the first stage's least coverage. Returns the outcome and
    HiGHS's raw result (whose plan the caller loads).
    """
    theta = first.objective
    model.theta.setlb(max(0.0, theta * (1 - EQUITY_TOLERANCE) - 1e-12))
    model.objective.deactivate()
    model.secondary_objective.activate()
    try:
        # a fresh solve by the scenario's method, not a warm simplex start: the new objective
        # leaves the first stage's basis far from optimal on these degenerate plans (a
        # 300-county LP: 190 s warm against 14 s by interior point)
        status, raw = _run(opt, model, scenario, relaxation=True)
    finally:
        model.secondary_objective.deactivate()
        model.objective.activate()
        model.theta.setlb(0)
    if status != "optimal":
        return MipOutcome(status=status, termination=raw.termination_condition.name, method=first.method), raw
    first.duals = raw.solution_loader.get_duals()
    return first, raw


STEADY_TIMES = 3.0  # the steady stage may take this many times the first stage's time ...
STEADY_MIN_SECONDS = 30.0  # ... and at least this long, within the time limit
STEADY_LEAST_SECONDS = 1.0  # with less of the time limit left, the steady stage is skipped

def _status_message(status: str) -> str:
    return {
        "infeasible": "the scenario is infeasible: its priorities, quotas, capacities and budgets conflict "
                      "(run `ewppt explain` to see which)",
        "unbounded": "the objective is unbounded: some aid has no limit",
        "time_limit": "the time limit was reached before an optimal plan was proven",
        "numerical": "HiGHS stopped with numerical trouble or an error, without a plan it could vouch for",
    }[status]
