"""Steady year profiles: among the optimal plans, the one whose funding lines follow their
donor's yearly budget.

People lifted depends on each recipient-instrument's aid summed over the plan, so any split of
a line over the years that keeps the yearly rules is equally optimal, and HiGHS returns
whichever vertex it lands on (a community development fund with nothing for three years and
then 108 million). The solve therefore has a second, lexicographic stage
(optimizer/solving/solve.py): the scenario's objective is held at its optimum and the aid off
the lines' profiles is minimised.
"""

from __future__ import annotations

import functools
import hashlib

import pyomo.environ as pyo

from optimizer.data.io import Instance
from optimizer.data.schema import Scenario, takes_effect

TIE_BREAK = 1e-2  # the tie-break's weight against one million yuan of aid off profile


def tie_weight(flow: tuple) -> float:
    """A fixed weight in [0, 1) for a flow (donor, recipient, instrument, year), the same on every
    machine and run."""
    digest = hashlib.sha256("\x1f".join(map(str, flow)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def profile_years(years: list[int], lag: int) -> list[int]:
    """The years a line's profile spreads it over: those whose aid takes effect within the plan
    (paid + lag_years <= the last year); all years when none does (its aid lifts nobody anyway)."""
    counted = [t for t in years if takes_effect(t, lag, years[-1])]
    return counted or list(years)


def add_year_profile(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """When `[scenario] year_profile = "steady"` (the default) and the plan has two or more
    years, for every funding line l = (d, w, k) (a pair and an instrument) and plan year t:

        line_total[l]:       X[l] = sum_t x[d,w,k,t]
        profile_excess[l,t]: g[l,t] >= x[d,w,k,t] - pi[d,k,t] X[l],   g >= 0
        pi[d,k,t] = B[d,t] / sum_{tau in T(k)} B[d,tau] for t in T(k), else 0

    pi is the share of donor d's budget in year t among the years T(k) whose aid of instrument k
    takes effect within the plan (t + lag_years[k] <= the last year; every year without lags):
    roads paid in the last year serve nobody within the plan, so their line's profile is spread
    over the years before.

    so sum g is the aid above its line's budget-proportional profile (as much again is below
    it). The steady stage keeps the first stage's objective and minimises that aid:

        keep_objective:  objective >= its value    (and for equity, people lifted >= its value)
        min  sum_{l,t} g[l,t] + TIE_BREAK * sum_{d,w,k,t} h[d,w,k,t] x[d,w,k,t]

    at the first stage's own optimum (HiGHS's tolerances give the rest), and h in
    [0, 1) a fixed weight per flow (tie_weight). Where a rule holds a line off profile, which
    years take the difference is again a tie: interior point and simplex returned plans 1.8
    million apart on ewppt-2010. The tie-break, a generic linear term, makes the optimum one
    vertex, so the plan is the same whatever the method or thread count. Its weight is the
    smallest that did so at 200 counties (1e-4 still left ties within HiGHS's tolerances,
    0.12 million apart); it moved the aid off profile by less than 1e-7 of all aid there and
    on ewppt-2010. (A third, lexicographic stage for the tie-break instead was 5x slower and
    not deterministic: with the least aid off profile held exactly, HiGHS's tolerances decide.)

    Only the plan years are noted here: add_steady_stage adds the rows once the first stage is
    solved; keep_floors holds the objective for one stage.
    """
    if scenario.scenario.year_profile != "steady" or len(scenario.years) < 2:
        return
    m.steady_years = list(scenario.years)  # the rows come with the stage: add_steady_stage


def add_steady_stage(m: pyo.ConcreteModel) -> None:
    """The rows and objective of add_year_profile's steady stage, added to a model the first
    stage has solved (once; later stages reuse them; they hold nothing in a first stage). They
    are not in the first stage's LP, which stays exactly the scenario's (its vertex, its ranging,
    its speed). The floors are keep_floors'."""
    if m.component("steadiness") is not None:
        return
    sets = m.index_sets
    years = m.steady_years
    lines = sorted({f[:3] for f in sets.flows})
    m.profile_lines = pyo.Set(initialize=lines, dimen=3, ordered=True)
    m.line_total = pyo.Var(m.profile_lines, domain=pyo.NonNegativeReals)
    m.profile_gap = pyo.Var(m.profile_lines, years, domain=pyo.NonNegativeReals)
    m.line_total_sum = pyo.Constraint(
        m.profile_lines, rule=lambda m, d, w, k: m.line_total[d, w, k] == sum(m.x[d, w, k, t] for t in years))

    @functools.cache  # one expression per donor, instrument and year, shared by every recipient's row
    def share(d, k, t):
        counted = profile_years(years, sets.lag[k])
        if t not in counted:
            return 0.0
        total = sum(m.budget_amount[d, tau] for tau in counted)
        # a donor without budget: an even split (its lines are empty anyway)
        return m.budget_amount[d, t] / total if pyo.value(total) > 0 else 1.0 / len(counted)

    m.profile_excess = pyo.Constraint(
        m.profile_lines, years,
        rule=lambda m, d, w, k, t: m.profile_gap[d, w, k, t] >= m.x[d, w, k, t] - share(d, k, t) * m.line_total[d, w, k])
    m.steadiness = pyo.Objective(
        expr=sum(m.profile_gap[l, t] for l in lines for t in years)
        + TIE_BREAK * sum(tie_weight(f) * m.x[f] for f in sets.flows),
        sense=pyo.minimize)
    m.steadiness.deactivate()


def keep_floors(m: pyo.ConcreteModel) -> list:
    """keep_objective (and for equity keep_secondary): the objectives active now held at the
    plan's values, for one steady stage; drop_floors removes them. Made anew each time: a
    caller (the frontier, alternatives) may have changed the objective since the last."""
    kept = [("keep_objective", m.objective)]
    if m.component("secondary_objective") is not None:  # equity keeps its people lifted too
        kept.append(("keep_secondary", m.secondary_objective))
    for name, objective in kept:
        m.add_component(name, pyo.Constraint(expr=objective.expr >= pyo.value(objective.expr)))
    return [name for name, _ in kept]


def drop_floors(m: pyo.ConcreteModel, names: list) -> None:
    for name in names:
        m.del_component(name)
