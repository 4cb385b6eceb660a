"""The smallest extraction proportion that reaches a target (`ewppt target`).

    from optimizer.analysis.target import target
    found = target(instance, people=2_000_000)        # or coverage=0.3
    found.factor, found.proportions, found.result     # phi, phi * p per level, the plan at phi
    found.write("results/ewppt-2010-target")

The source's policy question: how large must the fixed proportion be? The scenario's three
proportions p[l] are scaled by one factor phi, every budget becoming phi B[d,t], and

    min phi   s.t.  sum_w z[w] >= N                       (people=N)
                    or z[w] >= F N[w] for every recipient (coverage=F: the coverage floor,
                                                           models/coverage.py, with priorities.coverage_min
                                                           = F in place of the scenario's own)
                    every rule of the scenario, with budgets phi B
                    0 <= phi <= phi_max = 1 / max_l p[l]

is one LP with phi a variable (a MIP when the scenario has whole decisions):
models/target.py rewrites the budget, priority share and fund_max rows of the built model,
and the objective is max -phi, so the MIP driver (optimizer/solving/mip.py: relax and fix, then branch
and bound when the gap asks for it) applies unchanged and a MIP's factor is the least within
`[solver] mip_rel_gap`. No bisection over solves: with the factor in the model, HiGHS finds
where the target starts to bind in one solve (figures in benchmarks/README.md). One
exception: under `model = "lp"` on an instance with funds, the funds' big-M depends on the
factor, and a few warm re-solves close the gap between bounds (models/target.py).

phi_max is the factor at which the largest proportion reaches 1 (a proportion is a fraction
of revenue); it keeps the model bounded. A target that no factor up to phi_max reaches is
infeasible; the message then says what any factor does reach (the most people, or the best
least coverage, over every factor in [0, phi_max]: one more solve with the factor a variable
and the people-lifted or equity objective, since at the largest proportions the budgets may
be too large to spend under the capacities) and at which factor, or that the scenario is
infeasible at every factor (quotas, locks or priorities that no budget satisfies), with the
`ewppt explain` options that show why.

The plan (second, lexicographic stage): among the plans at the least factor there are
usually many (any plan lifting N or more). The plan reported is an ordinary `solve` at
proportions phi p, so it is built, solved, evaluated and re-checked like any plan, and a
planner gets the same plan from `ewppt solve --proportion-...` with the printed values: for a
people target with the objective people_lifted (the most people the least budgets can lift,
at least N), for a coverage target with the scenario's own objective (the floor is a row, so
every plan keeps it). The plan is then checked against the target: people lifted >= N
(coverage >= F in every recipient the floor covers), within a relative TOLERANCE. A MIP's
plan comes from `solve`'s relax and fix, which stops within mip_rel_gap of the best plan at phi
and so may fall just short of N: it is then solved again with mip_rel_gap = 0. A plan that
still misses is reported as `numerical`, with the shortfall.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optimizer.data import numbers
from optimizer.data.io import Instance
from optimizer.data.numbers import people as people_text, share
from optimizer.solving.results import Format, Result
from optimizer.data.scaling import require_plain
from optimizer.data.schema import Scenario

TOLERANCE = 1e-6  # relative: a plan within this of the target reaches it (solver tolerances)
PASTE_DIGITS = 9  # significant digits of the proportions printed for `ewppt solve`
MAX_ROUNDS = 20  # re-solves that close the relaxation of funds (models/target.py); a few suffice
CLOSE = 1e-9  # relative: the bounds on the relaxation's factor have met


@dataclass
class Target:
    """The least budget factor for a target, the proportions it means, and the plan there.

    `status`: optimal (the factor is the least, and its plan reaches the target), infeasible
    (no factor up to `max_factor` reaches it, or the scenario is infeasible at any factor),
    time_limit (a MIP stopped: the factor reaches the target but may not be the least), or the
    plan's own status when the re-solve at the factor fails (numerical, solver_missing)."""

    status: str
    message: str
    kind: str  # "people" or "coverage"
    goal: float  # N, or F
    max_factor: float
    factor: float | None = None
    proportions: dict[str, float] = field(default_factory=dict)  # level -> phi p[l]
    result: Result | None = None  # the plan at the factor
    explain_args: list[str] = field(default_factory=list)  # `ewppt explain` options that show why, when infeasible
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "optimal"

    @property
    def people_lifted(self) -> float | None:
        return None if self.result is None or not self.result.has_plan else self.result.summary["people_lifted"]

    def paste_proportions(self) -> dict[str, float]:
        """The proportions rounded up to PASTE_DIGITS significant digits: short enough to type,
        never below the least factor's."""
        return {level: _round_up(value, PASTE_DIGITS) for level, value in self.proportions.items()}

    def solve_options(self, overrides: dict[str, Any] | None = None) -> list[str]:
        """The `ewppt solve` options that give the plan at the factor: its proportions, the
        scenario values the target was given (`overrides`, dotted keys) and what the target
        itself sets (the people target's objective, the coverage target's floor)."""
        options = [f"--proportion-{level} {value:.{PASTE_DIGITS}g}" for level, value in self.paste_proportions().items()]
        settings = {key: value for key, value in (overrides or {}).items() if not key.startswith("proportion.")}
        if self.kind == "people":
            settings["objective"] = "people_lifted"
        else:
            settings["priorities.coverage_min"] = self.goal
        return options + [f"--set {key}={value if isinstance(value, str) else repr(value)}"
                          for key, value in settings.items()]

    def write(self, out_dir: str | Path, fmt: Format = "csv") -> list[Path]:
        """The plan at the factor (tables and run.json, whose summary carries the target and
        the factor); nothing when there is no plan."""
        if self.result is None or not self.result.has_plan:
            return []
        return self.result.write(out_dir, fmt)


def target(instance: Instance, people: float | None = None, coverage: float | None = None,
           scenario: Scenario | None = None, **overrides: Any) -> Target:
    """The least factor phi by which the scenario's proportions must be scaled so that the
    plan lifts at least `people` (N), or lifts at least `coverage` (F) of its poor population
    in every recipient; exactly one of the two. See the module docstring for the method."""
    if (people is None) == (coverage is None):
        raise ValueError("give exactly one target: people or coverage")
    if people is not None and not (math.isfinite(people) and people >= 0):
        raise ValueError(f"people must be a number >= 0, got {people}")
    if coverage is not None and not 0 < coverage <= 1:
        raise ValueError(f"coverage must be a fraction in (0, 1], got {coverage}")
    require_plain(instance, "target")
    scenario = scenario or instance.scenario
    if overrides:
        scenario = scenario.override(**overrides)
    if coverage is not None:
        scenario = scenario.override(**{"priorities.coverage_min": coverage})
    proportion = scenario.proportion.model_dump()
    largest = max(proportion.values())
    if largest <= 0:
        raise ValueError("every proportion of the scenario is 0: there is nothing to scale (set one above 0)")
    max_factor = 1.0 / largest
    if scenario is not instance.scenario:
        instance = instance.with_scenario(scenario)
    kind, goal = ("people", float(people)) if people is not None else ("coverage", float(coverage))
    found = Target(status="unknown", message="", kind=kind, goal=goal, max_factor=max_factor)

    started = time.perf_counter()
    status, factor = _least_factor(instance, scenario, max_factor, people)
    found.timings["target"] = time.perf_counter() - started
    if status == "solver_missing":
        found.status, found.message = status, "HiGHS (highspy) is not installed or cannot be loaded"
        return found
    if factor is None:
        found.status = status
        if status == "infeasible":
            found.message, found.explain_args = _why_out_of_reach(instance, scenario, found)
        else:
            found.message = f"the target model stopped without a factor: {status}"
        return found

    found.factor = factor
    found.proportions = _scaled(proportion, factor)
    planned = time.perf_counter()
    plan_scenario = _at_factor(scenario, found.proportions, people is not None)
    plan, reached, shortfall = _plan(instance, plan_scenario, found)
    found.timings["plan"] = time.perf_counter() - planned
    found.result = plan
    what = f"{numbers.people(goal)} people" if kind == "people" else f"a coverage of {numbers.share(goal, 2)} in every recipient"
    if not plan.has_plan:
        found.status = plan.status
        found.message = f"the plan at factor {factor:.9g} did not solve: {plan.status}: {plan.message}"
        return found
    plan.summary.update(target=kind, target_value=goal, budget_factor=factor, max_budget_factor=max_factor)
    if not reached:
        found.status = "numerical"
        found.message = (f"the plan at the least factor {factor:.9g} misses the target ({shortfall}); "
                         + ("the re-solves that close the relaxation of funds under model = 'lp' stopped early "
                            "(see models/target.py)" if plan.solver.get("model") == "lp" else
                            "the MIP at this factor did not reach it even with mip_rel_gap = 0"))
        return found
    found.status = status if plan.ok else plan.status
    found.message = (f"least factor {factor:.9g} of the scenario's proportions reaches {what}"
                     + ("" if status == "optimal" else f" (the target model stopped at its {status}: "
                        "the factor reaches the target but may not be the least)"))
    return found


def _least_factor(instance: Instance, scenario: Scenario, max_factor: float,
                  people: float | None) -> tuple[str, float | None]:
    """(status, phi) of the target model: min phi with the people target or coverage floor."""
    from models.assemble import build_model  # see optimizer/solving/solve.py on this import
    from models.target import add_budget_factor, add_people_target, add_target_objective
    from optimizer.solving.mip import release, solve_mip
    from optimizer.solving.solve import _run, _solve_lp, new_solver

    opt = new_solver()
    if opt is None:
        return "solver_missing", None
    model = build_model(instance, scenario)
    add_budget_factor(model, max_factor)
    if people is not None:
        add_people_target(model, people)
    add_target_objective(model)
    pinned = []
    try:
        if model.integer:
            outcome, pinned = solve_mip(opt, model, scenario, _run)
        else:
            outcome = _solve_lp(opt, model, scenario)
    finally:
        release(pinned)
    if outcome.status not in ("optimal", "time_limit") or not outcome.has_plan:
        return outcome.status, None
    factor = _within(-float(outcome.objective), max_factor)  # -phi was maximised
    if not model.integer and model.index_sets.fund_keys:
        factor = _close_relaxed_funds(opt, model, scenario, factor, max_factor)
    return outcome.status, factor


def _close_relaxed_funds(opt, model, scenario: Scenario, lower: float, max_factor: float) -> float:
    """The least factor of the relaxation of funds (y continuous), from the lower bound that
    the big-M at phi_max gives (models/target.py). With M taken at the lower bound the
    target model is a restriction above it: its least factor `upper` has a plan of the normal
    relaxation at that factor (F <= M(lower) y <= M(upper) y). With M at `upper` it relaxes
    every factor up to upper, so its least factor is a better lower bound. Alternate until
    they meet and return `upper`; `lower` when M(lower) changes nothing (it is exact then).

    An `upper` below `lower` can only come from HiGHS's tolerances; the big-M at phi_max is
    large (phi_max is often hundreds), which scales the first solve badly (the simplex method
    can stop measurably off there, interior point did not in our tests), so the latest solve,
    with the smaller big-M, is trusted. The plan at the factor is checked against the target
    either way (`_reaches`)."""
    from models.target import set_fund_capital_max
    from optimizer.solving.solve import _run

    for _ in range(MAX_ROUNDS):
        if not set_fund_capital_max(model, lower):
            return lower
        status, raw = _run(opt, model, scenario, warm=True)
        if status != "optimal":  # no plan keeps every fund within M(lower): keep the bound; the plan check says
            return lower
        upper = _within(-float(raw.incumbent_objective), max_factor)
        if upper - lower <= CLOSE * (1 + upper):
            return upper
        set_fund_capital_max(model, upper)
        status, raw = _run(opt, model, scenario, warm=True)
        if status != "optimal":
            return upper
        lower = _within(-float(raw.incumbent_objective), max_factor)
        if upper - lower <= CLOSE * (1 + upper):
            return upper
    return upper


def _within(factor: float, max_factor: float) -> float:
    """A factor within [0, max_factor] (HiGHS's tolerances may step a hair over a bound)."""
    return min(max(factor, 0.0), max_factor)


def _scaled(proportion: dict[str, float], factor: float) -> dict[str, float]:
    return {level: min(factor * p, 1.0) for level, p in proportion.items()}


def _at_factor(scenario: Scenario, proportions: dict[str, float], people_target: bool) -> Scenario:
    """The scenario at proportions phi p; a people target's plan maximises people lifted."""
    changes: dict[str, Any] = {f"proportion.{level}": value for level, value in proportions.items()}
    if people_target:
        changes["objective"] = "people_lifted"
    return scenario.override(**changes)


def _plan(instance: Instance, scenario: Scenario, found: Target) -> tuple[Result, bool, str]:
    """The ordinary plan at the factor, whether it reaches the target and by how much it
    misses; a MIP's plan is solved again with mip_rel_gap = 0 when the first, within the
    scenario's gap of the best plan at the factor, falls short."""
    from optimizer.solving.solve import solve

    plan = solve(instance, scenario)
    if not plan.has_plan:
        return plan, False, ""
    reached, shortfall = _reaches(found, plan)
    if not reached and plan.solver.get("model") == "mip" and scenario.solver.mip_rel_gap != 0:
        exact = solve(instance, scenario.override(**{"solver.mip_rel_gap": 0.0}))
        if exact.has_plan:
            plan = exact
            reached, shortfall = _reaches(found, plan)
    return plan, reached, shortfall


def _reaches(found: Target, plan: Result) -> tuple[bool, str]:
    """Whether the plan reaches the target within TOLERANCE, and by how much it misses."""
    if found.kind == "people":
        lifted = float(plan.kpis["people_lifted"].sum())
        need = found.goal * (1 - TOLERANCE) - TOLERANCE
        return lifted >= need, f"{numbers.people(lifted)} people lifted, {numbers.people(found.goal)} asked"
    floor = plan.binding[plan.binding["family"] == "coverage_floor"]
    # the floor rows are in the plan's model (coverage_min = F); the plan's re-check keeps them
    covered = plan.kpis.set_index("recipient")["coverage"]
    least = min((float(covered[w]) for w in floor["recipient"]), default=math.inf)
    return least >= found.goal * (1 - TOLERANCE) - TOLERANCE, f"least coverage {numbers.share(least, 2)}, {numbers.share(found.goal, 2)} asked"


def _why_out_of_reach(instance: Instance, scenario: Scenario, found: Target) -> tuple[str, list[str]]:
    """What the scenario can reach at all, for the message of an infeasible target: the most
    people, or the best least coverage, over every factor from 0 to phi_max (one solve with
    the factor a variable, as the target model; at the largest proportions the budgets may be
    too large to spend under the capacities, so the best may lie at a smaller factor), and the
    `ewppt explain` options that show the conflict when there is one to show."""
    largest = _scaled(scenario.proportion.model_dump(), found.max_factor)
    at_largest = [f"--set proportion.{level}={_round_up(value, PASTE_DIGITS):.{PASTE_DIGITS}g}"
                  for level, value in largest.items()]
    best, factor = _best_reach(instance, scenario, found)
    if best is not None:
        at = _scaled(scenario.proportion.model_dump(), factor)
        shown = ", ".join(f"{level} {numbers.plain(value)}" for level, value in at.items())
        where = f"(at factor {numbers.plain(factor)} of the scenario's proportions: {shown})"
        if found.kind == "people":
            return (f"no proportion reaches {people_text(found.goal)} people: the most any proportion lifts is "
                    f"{people_text(best)} {where}", [])
        at_best = [f"--set proportion.{level}={_round_up(value, PASTE_DIGITS):.{PASTE_DIGITS}g}"
                   for level, value in at.items()]
        return (f"no proportion reaches a coverage of {share(found.goal, 2)} in every recipient: the best least "
                f"coverage any proportion reaches is {share(best, _digits(best))} {where}",
                [*at_best, f"--set priorities.coverage_min={found.goal:g}"])
    shown = ", ".join(f"{level} {numbers.plain(value)}" for level, value in largest.items())
    where = f"at the largest proportions ({shown}; factor {numbers.plain(found.max_factor)}, where the largest reaches 1)"
    return (f"no factor up to {numbers.plain(found.max_factor)} (where the largest proportion reaches 1) reaches the target, and "
            f"the scenario is infeasible at every factor ({where} too): its quotas, priorities, capacities or locks "
            "conflict", at_largest)


def _digits(coverage: float) -> int:
    """Decimals of a percentage that keep three significant figures, at least two (65.00%,
    0.0504%): a best coverage a planner pastes back must not round to a target it misses."""
    if coverage <= 0:
        return 2
    return max(2, 2 - math.floor(math.log10(100 * coverage)))


def _best_reach(instance: Instance, scenario: Scenario, found: Target) -> tuple[float | None, float | None]:
    """(the most people, or the best least coverage, over every factor in [0, phi_max]; the
    factor that reaches it), or (None, None) when no factor gives a plan. The scenario's own
    rules hold (its coverage floor is dropped for a coverage target: that is the target)."""
    from models.assemble import build_model
    from models.target import add_budget_factor
    from optimizer.solving.mip import release, solve_mip
    from optimizer.solving.solve import _run, _solve_lp, new_solver

    objective = "people_lifted" if found.kind == "people" else "equity"
    overrides = {"objective": objective, "scenario.year_profile": "free"}
    if found.kind == "coverage":
        overrides["priorities.coverage_min"] = None
    reach = scenario.override(**overrides)
    opt = new_solver()
    model = build_model(instance.with_scenario(reach), reach)
    add_budget_factor(model, found.max_factor)
    pinned = []
    try:
        outcome, pinned = solve_mip(opt, model, reach, _run) if model.integer else (_solve_lp(opt, model, reach), [])
        factor = model.budget_factor.value
    finally:
        release(pinned)
    if outcome.status not in ("optimal", "time_limit") or not outcome.has_plan or outcome.objective is None:
        return None, None
    return float(outcome.objective), _within(float(factor or 0.0), found.max_factor)


def _round_up(value: float, digits: int) -> float:
    """value rounded up to `digits` significant digits (a value already that short is kept)."""
    if value <= 0:
        return 0.0
    step = 10.0 ** (math.floor(math.log10(value)) - digits + 1)
    return min(math.ceil(value / step - 1e-6) * step, 1.0)
