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

from optimizer.solving import interrupt, progress
from optimizer.solving.evaluate import people_lifted
from optimizer.data.io import Instance
from optimizer.solving.mip import MipOutcome, release, solve_mip
from optimizer.solving.recheck import recheck
from optimizer.solving.results import (BINDING_FAMILIES, DECISION_COLUMNS, FAMILY_INDEX, INDEX_COLUMNS, Result, empty_table,
                                       unscaled)
from optimizer.data.scaling import rescaled, scale_of
from optimizer.data.schema import Scenario

ZERO = 1e-9  # flows below this (million yuan) are reported as zero
EQUITY_TOLERANCE = 1e-7  # the equity level kept in the lexicographic second stage, relative

TERMINATION_STATUS = {
    TerminationCondition.convergenceCriteriaSatisfied: "optimal",
    TerminationCondition.provenInfeasible: "infeasible",
    TerminationCondition.locallyInfeasible: "infeasible",
    TerminationCondition.unbounded: "unbounded",
    TerminationCondition.maxTimeLimit: "time_limit",
}


def solve(instance: Instance, scenario: Scenario | None = None, relax: bool = False, ranging: bool = False,
          **overrides: Any) -> Result:
    """Solve an instance under a scenario (its own by default, with dotted-key overrides).

    `ranging=True` adds `result.ranging`: for each budget, quota, share, capacity and effect,
    the interval in which the plan's basis stays optimal (optimizer/solving/ranging.py).

    `relax=True` solves the LP relaxation (`model = "lp"`) and reports the plan of the
    relaxation, and also solves the MIP to report the integrality gap between the two in the
    summary (`mip_objective`, `integrality_gap` = (relaxation - MIP) / |relaxation|).
    """
    scenario = scenario or instance.scenario
    if overrides:
        scenario = scenario.override(**overrides)
    if relax:
        return _solve_relaxation(instance, scenario, ranging)
    if scenario is not instance.scenario:
        instance = instance.with_scenario(scenario)
    # imported here: the models package imports optimizer's schema and io, and
    # `import optimizer` must not need the models package first
    from models.assemble import build_model

    started = time.perf_counter()
    # in units HiGHS's absolute tolerances suit, the plan back in the instance's (optimizer/data/scaling.py)
    scale = scale_of(instance)
    with progress.stage("building the model"):
        model = build_model(rescaled(instance, scale), scenario)
    built = time.perf_counter()
    result = unscaled(solve_model(model, rescaled(instance, scale), scenario, ranging=ranging), instance, scale,
                      scenario.objective)
    if not scale.plain and result.has_plan:
        result.summary = summarise(result, scenario)
    result.timings = {"build": built - started, **result.timings, "total": time.perf_counter() - started}
    return result


def _solve_relaxation(instance: Instance, scenario: Scenario, ranging: bool = False) -> Result:
    relaxed = solve(instance, scenario.override(**{"scenario.model": "lp"}), ranging=ranging)
    whole = solve(instance, scenario.override(**{"scenario.model": "mip"}))
    mip = whole.objective if whole.has_plan else None
    gap = None
    if relaxed.objective is not None and mip is not None:
        gap = _round(abs(relaxed.objective - mip) / max(abs(relaxed.objective), 1e-9))
    relaxed.summary.update(mip_status=whole.status, mip_objective=mip, integrality_gap=gap)
    relaxed.timings["mip"] = whole.timings.get("total", 0.0)
    return relaxed


def new_solver():
    """The HiGHS solver of Pyomo's new interface; None if highspy cannot be used."""
    opt = SolverFactory("highs")
    return opt if opt.available() else None


def solve_model(model: pyo.ConcreteModel, instance: Instance, scenario: Scenario, opt=None,
                ranging: bool = False) -> Result:
    """Solve a built model and read the plan back into a Result (with its ranging table when
    `ranging`: computed here, while HiGHS still holds the plan's LP and basis).

    A MIP that stops at its time limit with a plan reports that plan, with status
    `time_limit`, the best bound and the gap; the duals of a MIP plan are those of the LP
    with its whole decisions fixed (what one more million is worth, given those decisions).
    """
    base = dict(scenario=scenario.model_dump(mode="json"), instance_digest=instance.digest,
                warnings=[str(w) for w in instance.warnings])
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
    try:
        if outcome.status == "optimal" and scenario.objective == "equity":
            with progress.stage("equity: the most people lifted at the best least coverage"):
                outcome, raw = _equity_second_stage(opt, model, scenario, outcome)
            if outcome.status == "optimal":
                raw.solution_loader.load_vars()
        solved = time.perf_counter()
        solver_info = {"name": "highs", "version": ".".join(map(str, opt.version())), "termination": outcome.termination,
                       "model": "mip" if model.integer else "lp"}
        if model.integer:
            solver_info.update(method=outcome.method, best_bound=outcome.bound, mip_gap=outcome.gap,
                               mip_nodes=outcome.nodes)
        if outcome.status not in ("optimal", "time_limit") or not outcome.has_plan:
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
        message = "optimal plan found" if outcome.status == "optimal" else (
            f"time limit reached: best plan found, within {outcome.gap:.2%} of the best bound"
            if outcome.gap is not None else "time limit reached: best plan found (no bound)")
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
        if ranging:
            with progress.stage("ranging"):
                result.ranging = _ranging(opt, model, result)
    finally:
        release(fixed)
    result.summary = summarise(result, scenario)
    result.timings = {"solve": solved - started, "extract": time.perf_counter() - solved}
    return result


def _ranging(opt, model: pyo.ConcreteModel, result: Result) -> pd.DataFrame:
    """The plan's ranging table; an LP HiGHS cannot range gives an empty table and a warning."""
    from optimizer.solving.ranging import RangingUnavailable, empty_ranging, ranging_table

    try:
        return ranging_table(opt, model)
    except RangingUnavailable as exc:
        result.warnings.append(f"ranging: {exc}")
        return empty_ranging()


def _solve_lp(opt, model: pyo.ConcreteModel, scenario: Scenario) -> MipOutcome:
    """An LP in one HiGHS solve, as an outcome (its plan loaded into the model)."""
    status, raw = _run(opt, model, scenario)
    outcome = MipOutcome(status=status, termination=raw.termination_condition.name, method="lp")
    if status == "optimal":
        raw.solution_loader.load_vars()
        outcome.objective, outcome.duals = raw.incumbent_objective, raw.solution_loader.get_duals()
    return outcome


def _run(opt, model: pyo.ConcreteModel, scenario: Scenario, warm: bool = False, relaxation: bool = False,
         time_limit: float | None | str = "scenario", **options: Any):
    """Solve once; `warm` re-solves with the simplex method from HiGHS's current basis;
    `relaxation` solves a MIP's LP relaxation; `time_limit` overrides the scenario's."""
    limit = scenario.solver.time_limit if time_limit == "scenario" else time_limit
    config = dict(load_solutions=False, raise_exception_on_nonoptimal_result=False, threads=scenario.solver.threads,
                  rel_gap=scenario.solver.mip_rel_gap)
    # HiGHS keeps options between solves of one model: always set the ones that vary
    options = {"time_limit": math.inf if limit is None else float(limit), "run_crossover": "on", **options}
    if model.integer:
        options["solve_relaxation"] = relaxation
    method = "simplex" if warm else scenario.solver.method
    if method != "choose":
        options = {"solver": method, **options}
    highs = _loaded(opt, model)
    with interrupt.solving(highs):  # Ctrl-C stops HiGHS and raises here, whatever HiGHS reports
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
    if condition == TerminationCondition.interrupted:  # stopped by HiGHS's own interrupt: as Python would
        raise KeyboardInterrupt
    return TERMINATION_STATUS.get(condition, "numerical"), raw


def _loaded(opt, model: pyo.ConcreteModel):
    """The highspy.Highs behind `opt`, holding `model`, its callbacks watched for progress.
    (Pyomo creates it in the first solve; loading it first lets the callbacks see that solve.)"""
    if opt._model is not model or opt._solver_model is None:
        with progress.stage("loading the model into HiGHS"):
            with capture_output(output=io.StringIO(), capture_fd=True):  # HiGHS's notices, as below
                opt.set_instance(model)
    progress.watch(opt._solver_model)
    return opt._solver_model


def _quiet_solve(opt, model: pyo.ConcreteModel, config: dict, options: dict):
    # HiGHS writes notices (for example about zero coefficients from Params that are 0 now
    # but may move in a study) straight to the process's stdout while Pyomo loads or updates
    # the model; keep them off the planner's terminal. (Pyomo keeps HiGHS's solve log itself.)
    with capture_output(output=io.StringIO(), capture_fd=True):
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


def _status_message(status: str) -> str:
    return {
        "infeasible": "the scenario is infeasible: its priorities, quotas, capacities and budgets conflict "
                      "(run `ewppt explain` to see which)",
        "unbounded": "the objective is unbounded: some aid has no limit",
        "time_limit": "the time limit was reached before an optimal plan was proven",
        "numerical": "HiGHS stopped with numerical trouble or an error, without a plan it could vouch for",
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


def decision_table(model: pyo.ConcreteModel) -> pd.DataFrame:
    """The plan's whole decisions: funds established (with their capital), projects built
    (with their cost) and cadres sent (with their cost). Zero decisions are left out; in an LP
    relaxation `count` may be a fraction."""
    sets = model.index_sets
    rows = []
    for w, k in sets.fund_keys:
        y = _clean(model.y[w, k].value)
        if y > 0:
            capital = sum(model.x[f].value or 0.0 for f in sets.flows_by_recipient_instrument.get((w, k), ()))
            rows.append(("fund", "", w, k, "", pd.NA, y, _clean(capital)))
    for q in sets.projects:
        v = _clean(model.v[q].value)
        if v > 0:
            w, k, _ = sets.project_of[q]
            rows.append(("project", "", w, k, q, pd.NA, v, _round(v * pyo.value(model.project_cost[q]))))
    for d, w, t in sets.cadre_keys:
        c = _clean(model.c[d, w, t].value)
        if c > 0:
            rows.append(("cadres", d, w, "", "", t, c, _round(c * pyo.value(model.cadre_cost[d, w]))))
    table = pd.DataFrame(rows, columns=DECISION_COLUMNS)
    return table.astype({"year": "Int64"}) if rows else empty_table("decisions")


def kpi_table(model: pyo.ConcreteModel, instance: Instance, allocation: pd.DataFrame) -> pd.DataFrame:
    """Per recipient: aid, people lifted (evaluated from the allocation and the whole
    decisions), coverage, leverage (set-up costs mobilise nothing)."""
    sets = model.index_sets
    established = {key: model.y[key].value or 0.0 for key in sets.fund_keys}
    built = {q: model.v[q].value or 0.0 for q in sets.projects}
    lifted = people_lifted(instance, allocation, established, built)
    inst = instance.instruments.set_index("instrument")
    leverage = inst["leverage"].astype(float)
    aid = allocation.groupby("recipient")["aid"].sum()
    leveraged = (allocation["aid"] * allocation["instrument"].map(leverage).astype(float)).groupby(allocation["recipient"]).sum()
    for (w, k), y in established.items():
        if y > ZERO and leverage[k] * inst.at[k, "setup_cost"] > 0:
            leveraged[w] = leveraged.get(w, 0.0) - leverage[k] * inst.at[k, "setup_cost"] * y
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
    decisions = result.decisions
    mip = {key: result.solver.get(key) for key in ("best_bound", "mip_gap")} if result.solver.get("model") == "mip" else {}
    return {
        "model": result.solver.get("model", "lp"),
        **mip,
        "funds_established": _round(decisions.loc[decisions["kind"] == "fund", "count"].sum()),
        "projects_built": _round(decisions.loc[decisions["kind"] == "project", "count"].sum()),
        "cadre_years": _round(decisions.loc[decisions["kind"] == "cadres", "count"].sum()),
        "cadre_cost_million": _round(decisions.loc[decisions["kind"] == "cadres", "money"].sum()),
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

