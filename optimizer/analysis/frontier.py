"""The efficiency-equity frontier by epsilon-constraint: people lifted against the least coverage.

    from optimizer.analysis.frontier import frontier
    found = frontier(instance, points=5)
    found.table                      # one row per plan: coverage floor, least coverage, people lifted, ...
    found.points[0].result           # each point is a full plan (allocation, kpis, duals, binding, ...)
    found.write("results/tiny-frontier")   # frontier.csv, frontier.png, point-1/, point-2/, ...

The two objectives
------------------
For a plan x, with E the recipients the equity objective looks at (paired, with effect rows
and N[w] > 0: `models.objectives.equity_recipients`):

    P(x) = sum_w z[w]                        people lifted (efficiency)
    C(x) = min over w in E of z[w] / N[w]    the least coverage (equity)

Both are maximised and they conflict: the cheapest people to lift are not in the worst-covered
recipient. The frontier is the set of plans for which neither can rise without the other
falling. It is always this pair, whatever the scenario's own objective (a scenario that asks
for weighted people or leverage still gets people lifted against the least coverage).

The method (epsilon-constraint)
-------------------------------
End point A: max P, the people-lifted optimum of the scenario (with its own `coverage_min` if it
sets one); c_A = C(x_A) is its least coverage.

End point B: theta* = max C is the equity objective's optimum (its first stage, solved on a
model built with the equity objective). B is

    max P   s.t.   coverage_floor[w]:  z[w] >= theta_B N[w]   (w in E),

with theta_B = theta* (1 - 1e-7) - 1e-12: exactly the problem the equity objective's
lexicographic second stage solves (optimizer/solving/solve.py, the same tolerance), so B is the most
people lifted at the best least coverage. The floor sits that little below theta* because at
theta* itself HiGHS's tolerances may call the rows infeasible. B is solved on the
people-lifted model (not taken from the equity model's second stage) because there it is one
more warm-started re-solve after the interior points, while the equity model's second stage
changes the objective and needs a fresh solve.

Interior points: the same problem with the floor at

    eps_i = c_A + i (theta* - c_A) / (n - 1),   i = 1 .. n - 2,

an even grid strictly between the end points (n plans in all). P*(eps), the most people at
floor eps, is non-increasing in eps; for an LP it is concave and piecewise linear (the
optimal value of an LP as one right-hand side moves), so the points trace the frontier's
corners ever more closely as n grows.

One model, re-solved: the people-lifted model is built once with `coverage_min` a mutable
Param (`models/coverage.py`); each point sets it and re-solves the same model with the same
persistent HiGHS object. For an LP the re-solves warm-start the (dual) simplex method from the
previous point's basis (only right-hand sides move, so the old basis stays dual feasible); the
first solve uses the scenario's method. A second model, with the equity objective, is built
once for theta*. Every point is read back, evaluated and re-checked by `optimizer/solving/recheck.py`
(including its coverage floor) like any plan; its run.json records its scenario
(objective people_lifted, coverage_min = eps, and `solver.method = "simplex"` for a warm
re-solve).

A MIP instance gives MIP plans: each point is solved as `solve` solves a MIP (relax and fix,
branch and bound when needed, within the scenario's `mip_rel_gap`), so P*(eps) need not be
concave, and a point within the gap of its own optimum may be beaten by a neighbour: on
ewppt-2010 neighbouring points differ by 6 to 120 people of 917,000, less than HiGHS's default
gap of 1e-4 (about 90 people). A frontier shown must be a frontier, so while a point is
dominated the dominated points are re-solved with a gap ten times smaller (at most
TIGHTEN_ROUNDS times, down to MIN_GAP = 1e-6); then every plan whose gap exceeds half the
smallest step in people between neighbouring points is solved once more to that gap (at least
MIN_GAP), so that the steps are the frontier's and not the solver's slack; a point still
dominated then takes the best plan (most people, then most coverage) among the points whose
least coverage keeps its floor: that plan is feasible for it and better than what its own
solve found (`plan_of` names it). Each plan's own relative gap is the table's `mip_gap`, and
the message gives the largest. On ewppt-2010 (5 points) this takes about 30 s against 27 s.

What is reported
----------------
Each point's coverage floor eps, its least coverage C(x) (at least eps, measured from the
plan's kpis over E), its people lifted P(x) (evaluated from the allocation), the cost of
equity against A (P(x_A) - P(x), in people and as a share of P(x_A)), the people given up per
percentage point of least coverage since the previous frontier point, its status, and whether
it is dominated: another point has at least its people and at least its coverage, and more of
one (beyond 1e-7 relative). Dominated points (for example A when its plan is not the most
equitable of the plans with the most people, or a MIP plan within the gap) are flagged, drawn
apart and left out of `efficient`; the points left are the frontier, non-dominated. A point
that fails (infeasible, time limit, numerical) keeps its status in the table; the others go on.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from optimizer.data import numbers
from optimizer.data.io import Instance, atomic_write
from optimizer.data.numbers import share
from optimizer.data.output import result_folder
from optimizer.solving.results import Format, Result, round_figure
from optimizer.data.scaling import require_plain
from optimizer.data.schema import Scenario
from optimizer.solving.solve import EQUITY_TOLERANCE

DOMINANCE_TOLERANCE = 1e-7  # relative: differences below this are solver noise, not a better plan
ROLES = {"efficiency": "A: most people lifted", "epsilon": "epsilon", "equity": "B: highest least coverage"}
TABLE_COLUMNS = ["point", "name", "role", "coverage_floor", "min_coverage", "people_lifted", "cost_of_equity",
                 "cost_of_equity_share", "people_per_coverage_point", "objective", "mip_gap", "status", "dominated",
                 "plan_of", "message"]
TIGHTEN_ROUNDS = 3  # a MIP frontier's dominated points are re-solved with a gap 10x smaller, at most this often
MIN_GAP = 1e-6


@dataclass
class FrontierPoint:
    """One plan of the frontier: its floor eps, the plan, and what the plan achieves."""

    name: str  # point-1, point-2, ... (also its folder)
    role: str  # efficiency (A), epsilon (interior) or equity (B)
    coverage_floor: float  # eps: every recipient in E lifts at least this share of its poor
    result: Result
    min_coverage: float | None = None  # C(x), over E
    people_lifted: float | None = None  # P(x), evaluated from the allocation
    dominated: bool = False
    improved_from: str = ""  # a MIP point that took a neighbour's better plan (see _tighten)
    resolved: bool = False  # a MIP point re-solved with a smaller gap (see _tighten)


@dataclass
class Frontier:
    """The points in order of their coverage floor (A first, B last) and the summary table."""

    points: list[FrontierPoint] = field(default_factory=list)
    table: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TABLE_COLUMNS))
    max_min_coverage: float | None = None  # theta*, the equity objective's optimum
    model_kind: str = "lp"
    mip_rel_gap: float | None = None  # the relative MIP gap the points were solved to (a MIP frontier)
    message: str = ""
    scenario_name: str = ""

    @property
    def efficient(self) -> list[FrontierPoint]:
        """The frontier itself: plans that no other point dominates."""
        return [p for p in self.points if p.result.has_plan and not p.dominated]

    @property
    def failed(self) -> Result | None:
        """The first point that did not solve to optimality."""
        return next((p.result for p in self.points if not p.result.ok), None)

    def write(self, out_dir: str | Path, fmt: Format = "csv") -> list[Path]:
        """Each point's plan in its own folder (point-1/, point-2/, ...), the table as
        frontier.csv and the plot as frontier.png (when any point has a plan); the folder is
        replaced as a whole, so no point of an earlier, longer frontier stays."""
        out = Path(out_dir)
        names = [point.name for point in self.points] + ["frontier.csv"]
        with result_folder(out) as folder:
            for point in self.points:
                point.result.write(folder / point.name, fmt)
            atomic_write(folder / "frontier.csv",
                         lambda tmp: self.table.to_csv(tmp, index=False, float_format="%.10g", lineterminator="\n"))
            if any(p.result.has_plan for p in self.points):
                write_plot(self, folder / "frontier.png")
                names.append("frontier.png")
        return [out / name for name in names]


def frontier(instance: Instance, points: int = 5, scenario: Scenario | None = None, **overrides) -> Frontier:
    """`points` plans from the most people lifted (A) to the highest least coverage (B), by
    epsilon-constraint on one people-lifted model (see this module's docstring). The scenario is
    the instance's own by default, with dotted-key overrides as for `solve`."""
    if points < 2:
        raise ValueError(f"points must be at least 2 (the two end points), got {points}")
    from models.assemble import build_model
    from models.objectives import equity_recipients
    from optimizer.solving.solve import new_solver, solve_model

    scenario = scenario or instance.scenario
    if overrides:
        scenario = scenario.override(**overrides)
    asked = scenario.objective
    # the floor must exist as rows to be moved: the scenario's own, or 0 (no floor)
    own_floor = scenario.priorities.coverage_min or 0.0
    scenario = scenario.override(**{"objective": "people_lifted", "priorities.coverage_min": own_floor})
    instance = instance.with_scenario(scenario)
    require_plain(instance, "frontier")
    model = build_model(instance, scenario, mutable={"coverage_min"})
    found = Frontier(model_kind="mip" if model.integer else "lp", scenario_name=scenario.name)
    note = "" if asked in ("people_lifted", "equity") else (
        f" (the scenario's objective {asked} is not used: the frontier is always people lifted against the least "
        "coverage)")

    opt = new_solver()
    best = _point(found, "efficiency", own_floor, solve_model(model, instance, scenario, opt))
    if not best.result.ok:
        found.message = f"no people-lifted optimum to start from: {best.result.status}{note}"
        return _summarise(found)
    _only_the_floor_moves(opt, model)  # (an optimal A means HiGHS is there)
    recipients = equity_recipients(model)
    best.min_coverage = _min_coverage(best.result, recipients)
    if not recipients:
        found.message = ("no recipient is paired, has effect rows and poor people: the least coverage is undefined, "
                         f"so the frontier is the people-lifted optimum alone{note}")
        return _summarise(found)

    theta, failure = _max_min_coverage(instance, scenario, build_model)
    if failure is not None:
        _point(found, "equity", float("nan"), failure)
        found.message = f"the highest least coverage could not be found: {failure.status}{note}"
        return _summarise(found)
    found.max_min_coverage = theta
    floor_b = max(0.0, theta * (1 - EQUITY_TOLERANCE) - 1e-12)  # as the equity objective's second stage
    if floor_b <= best.min_coverage + DOMINANCE_TOLERANCE:
        found.message = (f"the people-lifted optimum already has the highest least coverage ({numbers.share(theta, 2)}): "
                         f"the frontier is one plan{note}")
        return _summarise(found)

    step = (theta - best.min_coverage) / (points - 1)
    floors = [best.min_coverage + i * step for i in range(1, points - 1)]
    for n, eps in enumerate([*floors, floor_b], start=2):
        model.coverage_min.set_value(eps)
        changes = {"priorities.coverage_min": eps}
        if not model.integer:  # only right-hand sides moved: warm-start the simplex method from the last basis
            changes["solver.method"] = "simplex"
        at_eps = scenario.override(**changes)
        # the tables and their checks do not depend on the floor or the method: no need to re-run them
        result = solve_model(model, dataclasses.replace(instance, scenario=at_eps), at_eps, opt)
        point = _point(found, "equity" if n == points else "epsilon", eps, result)
        point.min_coverage = _min_coverage(result, recipients)
    if model.integer:
        _tighten(found, model, instance, scenario, opt, recipients)
    solved = sum(p.result.ok for p in found.points)
    gap = ""
    if found.mip_rel_gap is not None:
        gaps = [p.result.solver.get("mip_gap") for p in found.points if p.result.has_plan]
        gaps = [g for g in gaps if g is not None]
        resolved = [p.name for p in found.points if p.resolved]
        gap = (f"; MIP plans within a relative gap of {share(max(gaps), 4) if gaps else '-'} of their optimum "
               f"(column MIP gap)"
               + (f", {', '.join(resolved)} re-solved with a smaller gap (down to {share(found.mip_rel_gap, 4)}: a "
                  "neighbour dominated its first plan, or its gap exceeded the step between points)" if resolved else "")
               + (f"; {', '.join(p.name for p in found.points if p.improved_from)} took a neighbour's better plan"
                  if any(p.improved_from for p in found.points) else ""))
    found.message = (f"{solved} of {len(found.points)} plans optimal; least coverage from {share(best.min_coverage, 4)} "
                     f"(most people lifted) to {share(theta, 4)} (the equity optimum){gap}{note}")
    return _summarise(found)


def _tighten(found: Frontier, model, instance: Instance, scenario: Scenario, opt, recipients: list[str]) -> None:
    """A MIP frontier whose plans are each within the MIP gap of their optimum can show a point
    that another dominates (point 5 with more people and more coverage than points 2-4 on
    ewppt-2010 at HiGHS's default gap 1e-4, where neighbouring points differ by 60 people of
    917,000, less than the gap). So: while a point is dominated, re-solve the dominated points
    with a gap ten times smaller (down to MIN_GAP); a point still dominated then takes the best
    plan of the points that keep its coverage floor (most people, then most coverage), which
    is feasible for it and better than what its own solve found. Then every plan whose own gap
    is larger than half the smallest step in people between neighbouring points (relative to
    the most people) is solved once more to that gap (at least MIN_GAP), so that the step a
    planner reads is not the solver's slack (ewppt-2010: point 5 rose from 917,071 to 917,135
    people at a gap of 3e-6). The gap used is reported."""
    from optimizer.solving.mip import HIGHS_DEFAULT_GAP

    gap = scenario.solver.mip_rel_gap if scenario.solver.mip_rel_gap is not None else HIGHS_DEFAULT_GAP
    for _ in range(TIGHTEN_ROUNDS):
        _flag_dominated(found)
        dominated = [p for p in found.points if p.dominated]
        if not dominated or gap <= MIN_GAP:
            break
        gap = max(gap / 10, MIN_GAP)
        for p in dominated:
            _resolve_point(found, p, gap, model, instance, scenario, opt, recipients)
    # the gap of each plan should be smaller than the step between neighbouring points: one
    # more solve, at half the smallest step (relative to the most people), of each plan above it
    lifted = [p.people_lifted for p in found.points if p.result.has_plan and p.people_lifted is not None]
    if len(lifted) >= 2:
        tolerance = DOMINANCE_TOLERANCE * (1 + max(lifted))
        steps = [abs(a - b) for a, b in zip(lifted, lifted[1:]) if abs(a - b) > tolerance]
        needed = max(MIN_GAP, min(steps) / max(lifted) / 2) if steps else gap
        if needed < gap:
            for p in found.points:
                achieved = p.result.solver.get("mip_gap") if p.result.has_plan else None
                if achieved is None or achieved <= needed:
                    continue
                _resolve_point(found, p, needed, model, instance, scenario, opt, recipients)
            gap = needed
    found.mip_rel_gap = gap
    _flag_dominated(found)
    for p in found.points:
        if not p.dominated:
            continue
        keeping = [q for q in found.points if q.result.has_plan and q.min_coverage is not None
                   and q.min_coverage >= p.coverage_floor - DOMINANCE_TOLERANCE]
        better = max(keeping, key=lambda q: (q.people_lifted, q.min_coverage))
        if better is not p:
            result = copy.deepcopy(better.result)
            result.message = (f"the plan of {better.name}: it keeps this point's coverage floor and lifts more people "
                              f"than this point's own solve found within the MIP gap")
            _replace_plan(found, p, result, recipients)
            p.improved_from = better.name
    _flag_dominated(found)


def _as_good(result: Result, point: FrontierPoint) -> bool:
    """A re-solved plan replaces the point's when it lifts as many people, within solver noise
    (its own gap is then the smaller one)."""
    people = float(result.kpis["people_lifted"].sum())
    return people >= point.people_lifted - DOMINANCE_TOLERANCE * (1 + abs(point.people_lifted))


def _resolve_point(found, p, gap: float, model, instance, scenario, opt, recipients) -> None:
    """Solve point p again at MIP gap `gap`; keep the new plan if it is at least as good."""
    from optimizer.solving.solve import solve_model

    model.coverage_min.set_value(p.coverage_floor)
    at = scenario.override(**{"priorities.coverage_min": p.coverage_floor, "solver.mip_rel_gap": gap})
    result = solve_model(model, dataclasses.replace(instance, scenario=at), at, opt)
    if result.has_plan and _as_good(result, p):
        _replace_plan(found, p, result, recipients)
        p.resolved = True


def _replace_plan(found: Frontier, point: FrontierPoint, result: Result, recipients: list[str]) -> None:
    n = found.points.index(point) + 1
    result.summary.update(frontier_point=n, frontier_role=ROLES[point.role], coverage_floor=point.coverage_floor)
    point.result = result
    point.people_lifted = float(result.kpis["people_lifted"].sum())
    point.min_coverage = _min_coverage(result, recipients)


def _point(found: Frontier, role: str, eps: float, result: Result) -> FrontierPoint:
    name = f"point-{len(found.points) + 1}"
    people = float(result.kpis["people_lifted"].sum()) if result.has_plan else None
    point = FrontierPoint(name=name, role=role, coverage_floor=eps, result=result, people_lifted=people)
    if result.has_plan:
        result.summary.update(frontier_point=len(found.points) + 1, frontier_role=ROLES[role], coverage_floor=eps)
    found.points.append(point)
    return point


def _only_the_floor_moves(opt, model) -> None:
    """Between points only the coverage floor's Param moves (and, in a MIP, the bounds that
    relax and fix uses to pin whole decisions): skip Pyomo's scans for other changes."""
    updates = opt.config.auto_updates
    for flag in ("check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
                 "check_for_new_or_removed_params", "check_for_new_objective", "update_constraints",
                 "update_named_expressions", "update_objective"):
        setattr(updates, flag, False)
    updates.update_vars = bool(model.integer)
    updates.update_parameters = True


def _max_min_coverage(instance: Instance, scenario: Scenario, build_model) -> tuple[float | None, Result | None]:
    """theta* = max C(x): the first stage of the equity objective, on a model built for it.
    Returns (theta*, None), or (None, a Result saying why not)."""
    from optimizer.solving.mip import release, solve_mip
    from optimizer.solving.solve import _run, new_solver

    equity = scenario.override(objective="equity")
    instance = dataclasses.replace(instance, scenario=equity)  # same tables, same checks
    model = build_model(instance, equity)
    opt = new_solver()
    if model.integer:
        outcome, pinned = solve_mip(opt, model, equity, _run)
        release(pinned)
        status, theta = outcome.status, outcome.objective
    else:
        status, raw = _run(opt, model, equity)
        theta = raw.incumbent_objective if status == "optimal" else None
    if status == "optimal" and theta is not None:
        return float(theta), None
    return None, Result(status=status if status != "optimal" else "numerical", objective=None,
                        message=f"the equity objective (the highest least coverage) stopped with status {status}",
                        scenario=equity.model_dump(mode="json"), instance_digest=instance.digest)


def _min_coverage(result: Result, recipients: list[str]) -> float | None:
    """C(x): the least people lifted / poor population over the recipients E, from the kpis."""
    if not result.has_plan or not recipients:
        return None
    kpis = result.kpis.set_index("recipient").loc[recipients]
    coverage = kpis["people_lifted"].astype(float) / kpis["poor_population"].astype(float)
    return float(coverage.min())


def _flag_dominated(found: Frontier) -> None:
    """p is dominated when another point has at least its people and coverage, and more of one."""
    with_plan = [p for p in found.points if p.result.has_plan and p.min_coverage is not None]
    if with_plan:
        most = max(abs(p.people_lifted) for p in with_plan)
        people_tol, coverage_tol = DOMINANCE_TOLERANCE * (1 + most), DOMINANCE_TOLERANCE
        for p in with_plan:
            p.dominated = any(
                q is not p
                and q.people_lifted >= p.people_lifted - people_tol and q.min_coverage >= p.min_coverage - coverage_tol
                and (q.people_lifted > p.people_lifted + people_tol or q.min_coverage > p.min_coverage + coverage_tol)
                for q in with_plan)


def _summarise(found: Frontier) -> Frontier:
    """Flag dominated points and build the table."""
    _flag_dominated(found)
    best = found.points[0].people_lifted if found.points and found.points[0].result.has_plan else None
    # people given up per percentage point of least coverage, along the frontier
    trade: dict[str, float] = {}
    efficient = sorted(found.efficient, key=lambda p: p.min_coverage if p.min_coverage is not None else -1)
    for before, after in zip(efficient, efficient[1:]):
        gained = (after.min_coverage - before.min_coverage) * 100
        if gained > 100 * DOMINANCE_TOLERANCE:  # two plans at one coverage (within noise) trade nothing
            trade[after.name] = round_figure((before.people_lifted - after.people_lifted) / gained)
    rows = []
    for n, p in enumerate(found.points, start=1):
        result = p.result
        cost = best - p.people_lifted if best is not None and p.people_lifted is not None else math.nan
        rows.append({
            "point": n,
            "name": p.name,
            "role": ROLES[p.role],
            "coverage_floor": round_figure(p.coverage_floor),
            "min_coverage": round_figure(p.min_coverage) if p.min_coverage is not None else math.nan,
            "people_lifted": round_figure(p.people_lifted) if p.people_lifted is not None else math.nan,
            "cost_of_equity": round_figure(cost),
            "cost_of_equity_share": round_figure(cost / best) if best else math.nan,
            "people_per_coverage_point": trade.get(p.name, math.nan),
            "objective": result.objective if result.objective is not None else math.nan,
            "mip_gap": result.solver.get("mip_gap", math.nan) if found.model_kind == "mip" else math.nan,
            "status": result.status,
            "dominated": bool(p.dominated),
            "plan_of": p.improved_from or "",
            "message": result.message,
        })
    found.table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    return found


def frontier_figure(found: Frontier):
    """People lifted against the least coverage: the frontier's points joined in order, end
    points labelled, dominated points drawn apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    table = found.table[found.table["people_lifted"].notna() & found.table["min_coverage"].notna()]
    efficient = table[~table["dominated"]].sort_values("min_coverage")
    dominated = table[table["dominated"]]
    fig, ax = plt.subplots(figsize=(7.5, 5.0))
    ax.plot(efficient["min_coverage"], efficient["people_lifted"], "-o", color="#1f77b4", markersize=6,
            label="frontier (non-dominated plans)")
    if len(dominated):
        ax.plot(dominated["min_coverage"], dominated["people_lifted"], "x", color="0.55", markersize=8,
                label="dominated (flagged, not on the frontier)")
    for row in table.itertuples(index=False):
        role = row.role if row.role != ROLES["epsilon"] else ""
        text = f"{row.point}" + (f"  {role}" if role else "")
        ha = "left" if row.role != ROLES["equity"] else "right"
        ax.annotate(text, (row.min_coverage, row.people_lifted), textcoords="offset points",
                    xytext=(8 if ha == "left" else -8, 6), ha=ha, fontsize=9)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel("least coverage: people lifted / poor population of the worst-covered recipient (%)")
    ax.set_ylabel("people lifted over the plan (persons)")
    kind = "MIP plans" if found.model_kind == "mip" else "LP plans"
    ax.set_title(f"{found.scenario_name}: efficiency-equity frontier\n"
                 f"{len(table)} {kind} by epsilon-constraint on the least coverage", fontsize=11)
    ax.grid(True, color="0.9")
    ax.margins(x=0.12, y=0.12)
    ax.legend(loc="lower left", fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


def write_plot(found: Frontier, path: Path) -> None:
    import matplotlib.pyplot as plt

    from optimizer.data.output import png_bytes

    fig = frontier_figure(found)
    try:
        data = png_bytes(fig, dpi=110)
    finally:
        plt.close(fig)
    atomic_write(path, lambda tmp: tmp.write_bytes(data))

