"""Solving the MIP: relax, round and fix first; HiGHS's branch and bound only if needed.

1. Solve the LP relaxation (interior point). Its optimum bounds every plan from above.
2. Round the whole decisions (a fund or project whose relaxed value is at least one half is
   taken, a recipient's cadres the fewest that run its funds taken, funds beyond a recipient's
   admin capacity dropped, least established first), fix them, and solve the LP that is left:
   a plan.
3. If the plan is within `[solver] mip_rel_gap` of the bound (HiGHS's gap: (bound - plan) /
   |plan|), it is optimal to that tolerance. Otherwise HiGHS's branch and bound runs for the
   time left, and the better plan and the tighter bound are kept.

Why: on large plans HiGHS's MIP solves its root LP with the dual simplex method, which the
plans' time degeneracy makes wander (an 800-county generated instance had not finished its
root LP after 300 s), while interior point solves the same LP in about 15 s; with the
funds' effect tightening (models/fund_effects.py) and models/funds.py's admin_capacity_hull,
and the fewest cadres, the rounded plan was 0.064% below the bound on 800 generated counties
(0.014% on 200). Every
figure reported is certified: the bound is the relaxation's (or HiGHS's), the plan is a
feasible solution of the MIP.

The fixed LP of step 2 also gives the plan's duals: what one more million is worth with the
whole decisions held at the plan's values.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from optimizer.solving import interrupt, progress
from optimizer.solving.columns import Weights
from optimizer.data.schema import Scenario

ROUND_UP = 0.5  # a relaxed fund or project at least this much established is taken
HIGHS_DEFAULT_GAP = 1e-4
ROOT_LP_COLUMNS = 10_000  # from this many columns on, HiGHS's MIP solves its root LP by interior point


@dataclass
class MipOutcome:
    status: str  # optimal, time_limit, stopped (a StopRequest or Ctrl-C), infeasible, unbounded, error
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    method: str = "relax-and-fix"  # or branch-and-bound
    termination: str = ""
    nodes: int | None = None
    duals: dict = field(default_factory=dict)

    @property
    def has_plan(self) -> bool:
        return self.objective is not None


def relative_gap(bound: float | None, objective: float | None) -> float | None:
    if bound is None or objective is None or not math.isfinite(bound):
        return None
    return max(0.0, bound - objective) / max(abs(objective), 1e-9)


def discrete_vars(model: pyo.ConcreteModel) -> list:
    return [v for v in model.component_data_objects(pyo.Var) if v.is_integer() and not v.fixed]


def pin(v, value: float) -> None:
    """Hold a whole decision at a value through its bounds. (Pyomo's `fix` would make the
    persistent interface remove and re-add every row the variable is in: 40 s on a
    200-county plan, against milliseconds for a bound change.)"""
    v.setlb(value)
    v.setub(value)
    v.set_value(value, skip_validation=True)


def free_bounds(variables: list) -> list[tuple]:
    """The variables with their own bounds, as release() puts them back."""
    return [(v, v.lower, v.upper) for v in variables]


def release(pinned: list[tuple]) -> None:
    """Give the whole decisions that solve_mip left pinned at the plan their bounds back."""
    for v, lower, upper in pinned:
        v.lower = lower
        v.upper = upper


def solve_mip(opt, model: pyo.ConcreteModel, scenario: Scenario, run) -> tuple[MipOutcome, list]:
    """Solve a built MIP. Returns the outcome and the whole decisions, left fixed at the plan's
    values (by their bounds) with every variable holding the plan (release() them once the
    plan is read).
    `run(opt, model, scenario, relaxation=..., time_limit=...)` is one HiGHS solve."""
    limit = scenario.solver.time_limit
    deadline = time.perf_counter() + (limit if limit is not None else math.inf)
    target = scenario.solver.mip_rel_gap if scenario.solver.mip_rel_gap is not None else HIGHS_DEFAULT_GAP
    discrete = discrete_vars(model)
    pinned = free_bounds(discrete)
    progress.mip_figures(reset=True)

    def left() -> float | None:
        return None if limit is None else max(deadline - time.perf_counter(), 0.01)

    def lp(**options):
        return run(opt, model, scenario, relaxation=True, **options)

    # no crossover: the bound and the relaxed decisions need no vertex (saves about a third)
    with progress.stage("MIP: solving the LP relaxation"):
        # the long curves' vertex weights as needed (optimizer/solving/columns.py: the same LP
        # optimum); loads the model into HiGHS first, a stage within this one
        weights = Weights.of(opt, model)
        status, raw = weights.solve(lp, certify=False, time_left=left, run_crossover="off")
    if status in ("infeasible", "time_limit"):  # no relaxed plan, so no plan at all
        return MipOutcome(status=status, termination=raw.termination_condition.name), []
    if status != "optimal":  # unbounded or trouble: let branch and bound say what it is
        return _branch_and_bound(opt, model, scenario, run, left, discrete, None), pinned
    bound = raw.incumbent_objective
    progress.mip_figures(bound=bound)
    raw.solution_loader.load_vars()

    relaxed = [(v, v.value) for v in discrete]
    own_bounds = {id(v): (v.lb, v.ub) for v in discrete}  # numbers, before any pin
    for generous in (False, True):  # a second, generous rounding if the first leaves no plan
        for v, value in relaxed:
            v.set_value(value, skip_validation=True)
        _fix_rounded(model, discrete, generous, own_bounds)
        with progress.stage("MIP: solving with the rounded whole decisions fixed"):
            status, raw = weights.solve(lp, certify=True, time_left=left)
        if status == "optimal" or status == "time_limit":
            break
    plan = None
    if status == "optimal":
        raw.solution_loader.load_vars()
        plan = MipOutcome(status="optimal", objective=raw.incumbent_objective, bound=bound,
                          gap=relative_gap(bound, raw.incumbent_objective), termination=raw.termination_condition.name,
                          duals=raw.solution_loader.get_duals())
        progress.mip_figures(best=plan.objective)
        if plan.gap <= target:
            return plan, pinned
    if limit is not None and deadline - time.perf_counter() < 0.5:
        if plan is None:
            release(pinned)
            return MipOutcome(status="time_limit", bound=bound, termination="maxTimeLimit"), []
        plan.status = "time_limit"
        return plan, pinned

    saved = [(v, v.value) for v in model.component_data_objects(pyo.Var)] if plan else []
    release(pinned)
    outcome = _branch_and_bound(opt, model, scenario, run, left, discrete, plan, saved)
    if plan is not None and outcome is plan:  # branch and bound found nothing better
        for v, value in saved:
            v.set_value(value, skip_validation=True)
        for v in discrete:
            pin(v, round(v.value))
    return outcome, pinned


def _shown_plan(opt, model, discrete, plan: MipOutcome | None,
                termination: str = "interrupted (HiGHS had not answered the stop)") -> MipOutcome:
    """A stop in branch and bound that HiGHS did not answer (it runs on in its thread; its
    Highs object is not read): the best plan the status line shows, with its bound and gap.
    That is HiGHS's improving solution kept as it was reported (progress.py), loaded into the
    model's variables by their columns, or relax and fix's `plan` (whose values solve_mip puts
    back); None of either: a stop without a plan."""
    _, bound, incumbent = progress.shown()
    if plan is not None:
        bound = plan.bound if bound is None else min(bound, plan.bound)
    if incumbent is not None and (plan is None or incumbent[0] > plan.objective):
        objective, values = incumbent
        columns = opt._pyomo_var_to_solver_var_map
        for v in model.component_data_objects(pyo.Var):
            j = columns.get(id(v))
            if j is not None:
                v.set_value(float(values[j]), skip_validation=True)
        for v in discrete:
            pin(v, round(v.value))
        return MipOutcome(status="stopped", objective=objective, bound=bound, gap=relative_gap(bound, objective),
                          method="branch-and-bound", termination=termination)
    if plan is None:
        return MipOutcome(status="stopped", bound=bound, method="branch-and-bound", termination=termination)
    plan.status, plan.bound, plan.gap = "stopped", bound, relative_gap(bound, plan.objective)
    plan.termination = termination
    return plan


def _give_start(opt, start: list[tuple]):
    """Hand HiGHS a feasible plan as the MIP's starting incumbent, at its next run. Returns the
    undo (call it once that run is over).

    Pyomo's persistent interface updates the model inside its solve (mutable Params, bounds),
    and any such change makes HiGHS forget a solution it was given, so the plan is given in the
    run itself: highspy's `run` is wrapped for that one call."""
    highs = getattr(opt, "_solver_model", None)
    if highs is None:
        return lambda: None
    columns = opt._pyomo_var_to_solver_var_map
    pairs = sorted((columns[id(v)], float(value)) for v, value in start if id(v) in columns and value is not None)
    index = np.array([j for j, _ in pairs], dtype=np.int32)
    values = np.array([value for _, value in pairs], dtype=float)
    run = highs.run

    def run_from_start():
        highs.setSolution(len(index), index, values)
        return run()

    highs.run = run_from_start

    def undo() -> None:
        if highs.__dict__.get("run") is run_from_start:
            del highs.run

    return undo


def _fix_rounded(model: pyo.ConcreteModel, discrete: list, generous: bool = False,
                 bounds: dict | None = None) -> None:
    """Round the relaxed whole decisions to a choice the admin capacities allow, and pin it.

    A fund or project is taken when the relaxation establishes at least half of it. The
    `generous` second try (when the first leaves no feasible plan) takes every fund and project
    the relaxation touches at all, and every fund to which it gives at least the minimum capital
    (capital a share rule puts there beyond what has effect shows in F but hardly in y).
    (Taking those funds at the first try opened too many: on 800 generated counties the
    rounded plan fell from 0.68% to over 1% below the bound.)
    Cadres go to the nearest count. A recipient's funds beyond its admin capacity (after
    cadres) are dropped, the least established in the relaxation first.
    """
    sets = model.index_sets
    threshold = 1e-6 if generous else ROUND_UP
    relaxed_y = {key: model.y[key].value or 0.0 for key in sets.fund_keys}
    capital = {key: sum(model.x[f].value or 0.0 for f in sets.flows_by_recipient_instrument.get(key, ()))
               for key in sets.fund_keys}
    relaxed_c = {key: model.c[key].value or 0.0 for key in model.c} if hasattr(model, "c") else {}
    bounds = bounds or {id(v): (v.lb, v.ub) for v in discrete}
    for v in discrete:
        value = v.value or 0.0
        lower, upper = bounds[id(v)]
        whole = round(value) if upper is None or upper > 1 else float(value >= threshold)
        pin(v, min(max(whole, lower or 0), upper if upper is not None else whole))
    for (w, k), amount in capital.items() if generous else ():
        least = max(pyo.value(model.min_fund_size[k]), pyo.value(model.setup_cost[k]), 1e-6)
        if amount >= least * (1 - 1e-6):
            pin(model.y[w, k], 1)
    funds_of: dict[str, list] = {}
    for w, k in sets.fund_keys:
        funds_of.setdefault(w, []).append((w, k))
    for w in sets.admin_recipients:
        opened = sorted((key for key in funds_of[w] if model.y[key].value > 0.5),
                        key=lambda key: (-relaxed_y[key], -capital[key]))
        cadres = [model.c[key] for key in sets.cadres_by_recipient.get(w, ())]
        if not generous:
            _fewest_cadres(model, w, cadres, len(opened), relaxed_c, bounds)
        capacity = pyo.value(model.admin_capacity[w]) + sum(
            pyo.value(model.cadre_capacity[c.index()[:2]]) * c.value for c in cadres)
        for key in opened[int(math.floor(capacity + 1e-9)):]:
            pin(model.y[key], 0)


def _fewest_cadres(model: pyo.ConcreteModel, w: str, cadres: list, funds: int, relaxed: dict, bounds: dict) -> None:
    """Pin w's cadres at the fewest that let it run `funds` funds: each at its least, then one
    more at a time where the relaxation sent the most beyond that, while w's capacity is short.
    (Cadres only raise admin capacity and cost their donor's budget; rounded to the nearest
    count they left recipients short of the capacity the funds taken need, which dropped a
    fund the relaxation had fully established: 22 of them on 200 generated counties.)"""
    capacity = pyo.value(model.admin_capacity[w])
    for c in cadres:
        pin(c, bounds[id(c)][0] or 0)
        capacity += pyo.value(model.cadre_capacity[c.index()[:2]]) * c.value
    while capacity < funds - 1e-9:
        room = [c for c in cadres if bounds[id(c)][1] is None or c.value + 1 <= bounds[id(c)][1]]
        if not room:
            return
        best = max(room, key=lambda c: (relaxed[c.index()] - c.value, pyo.value(model.cadre_capacity[c.index()[:2]])))
        pin(best, best.value + 1)
        capacity += pyo.value(model.cadre_capacity[best.index()[:2]])


def _branch_and_bound(opt, model, scenario, run, time_left, discrete, plan: MipOutcome | None,
                      start: list[tuple] = ()) -> MipOutcome:
    """HiGHS's MIP for the time left (`time_left()`, read as HiGHS starts); keeps `plan` (from
    relax and fix) if it stays the better.

    HiGHS starts from `start` (the plan's (variable, value) pairs) as its first incumbent, and
    on a large model (ROOT_LP_COLUMNS) solves its root LP by interior point (`mip_lp_solver`; its
    cut rounds and nodes stay on the dual simplex): with its default, the dual simplex, an
    800-county root LP had not finished after 300 s; by interior point it took about as long as
    the relaxation of step 1, and HiGHS's own rounding and cuts at the root then left about 0.1%
    (see benchmarks/README.md). Small models keep the dual simplex, whose vertex picks the
    same plan among tied ones as before."""
    with interrupt.keeping():  # Ctrl-C from here on keeps the plan shown
        if plan is not None and interrupt.keeps_plans() and interrupt.requested():  # stopped before HiGHS starts
            return _shown_plan(opt, model, discrete, plan, "interrupted (before branch and bound)")
        undo = _give_start(opt, start) if start else (lambda: None)
        try:
            with progress.stage("MIP: branch and bound"):
                root = "ipm" if model.nvariables() >= ROOT_LP_COLUMNS else "choose"
                status, raw = run(opt, model, scenario, relaxation=False, time_limit=time_left(), mip_lp_solver=root)
        except interrupt.Detached:  # stopped, and HiGHS did not answer: the plan the status line shows
            return _shown_plan(opt, model, discrete, plan)
        finally:
            undo()
    info = opt._solver_model.getInfo() if getattr(opt, "_solver_model", None) is not None else None
    nodes = None if info is None else int(info.mip_node_count)
    found = raw.incumbent_objective if status in ("optimal", "time_limit", "stopped") else None
    bound = raw.objective_bound if raw.objective_bound is not None and math.isfinite(raw.objective_bound) else None
    if plan is not None:
        bound = plan.bound if bound is None else min(bound, plan.bound)
    if status not in ("optimal", "time_limit", "stopped") and plan is None:
        return MipOutcome(status=status, method="branch-and-bound", termination=raw.termination_condition.name,
                          nodes=nodes)
    if found is not None and (plan is None or found > plan.objective):
        raw.solution_loader.load_vars()
        outcome = MipOutcome(status=status, objective=found, bound=bound, gap=relative_gap(bound, found),
                             method="branch-and-bound", termination=raw.termination_condition.name, nodes=nodes)
        for v in discrete:
            pin(v, round(v.value))
        if status == "stopped":  # no HiGHS run after a stop: the plan without its duals
            return outcome
        # the plan is on the screen: a stop while its duals are computed keeps it, without them
        try:
            with interrupt.keeping(), progress.stage("MIP: duals of the plan"):
                fixed_status, fixed = run(opt, model, scenario, relaxation=True, time_limit=None, keep=True)
        except interrupt.Detached:
            fixed_status = "stopped"
        if fixed_status == "optimal":
            outcome.duals = fixed.solution_loader.get_duals()
        elif fixed_status == "stopped":
            outcome.status = "stopped"
        return outcome
    if plan is None:
        return MipOutcome(status=status, bound=bound, method="branch-and-bound",
                          termination=raw.termination_condition.name, nodes=nodes)
    target = scenario.solver.mip_rel_gap if scenario.solver.mip_rel_gap is not None else HIGHS_DEFAULT_GAP
    plan.bound, plan.gap, plan.nodes = bound, relative_gap(bound, plan.objective), nodes
    plan.status = "stopped" if status == "stopped" else \
        "optimal" if status == "optimal" or plan.gap <= target else "time_limit"
    plan.termination = raw.termination_condition.name
    return plan
