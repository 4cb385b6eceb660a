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

import hashlib

import pyomo.environ as pyo

from optimizer.data.io import Instance
from optimizer.data.schema import Scenario, takes_effect

TIE_BREAK = 1e-2  # the tie-break's weight against one million yuan of aid off profile
DECISION_TIE = TIE_BREAK / 10  # a whole decision's tie-break weight is 1 to 2 times this (per fund, project, cadre-year)
DEEP_SHORTFALL = 0.5  # a year below this share of its line's profile is a deep shortfall ...
SHORTFALL_WEIGHT = 0.1  # ... and weighted a tenth of aid off profile


def tie_weight(flow: tuple) -> float:
    """A fixed weight in [0, 1) for a flow (donor, recipient, instrument, year), the same on every
    machine and run."""
    digest = hashlib.sha256("\x1f".join(map(str, flow)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def profile_years(years: list[int], lag: int) -> list[int]:
    """The years a line's profile spreads it over: those whose aid takes effect within the plan
    (paid + lag_years <= the last year); all years when none does (its aid lifts nobody anyway).
    With lag 0, every plan year (see profile_lag)."""
    counted = [t for t in years if takes_effect(t, lag, years[-1])]
    return counted or list(years)


def profile_lag(m: pyo.ConcreteModel, instrument: str) -> int:
    """The lag that sets an instrument's profile years: 0, that is every plan year, when aid
    taking effect after the plan counts (discounted, `[horizon] beyond_plan = "discounted"`, the
    default); its lag_years when such aid is ignored, whose last years then lift nobody."""
    return m.index_sets.lag[instrument] if m.beyond_plan == "ignored" else 0


def add_year_profile(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """When `[scenario] year_profile = "steady"` (the default) and the plan has two or more
    years, the solve has a second, lexicographic stage over the funding lines l = (d, w, k) (a
    pair and an instrument) and plan years t (optimizer/solving/steady.py solves it):

        X[l] = sum_t x[d,w,k,t]                                     (the line's plan total)
        excess[l,t]:    g[l,t] >= x[d,w,k,t] - pi[d,k,t] X[l],            g >= 0
        shortfall[l,t]: s[l,t] >= DEEP pi[d,k,t] X[l] - x[d,w,k,t],       s >= 0
        pi[d,k,t] = B[d,t] / sum_{tau in T(k)} B[d,tau] for t in T(k), else 0   (T(k): every plan year)

        min  sum_{l,t} g[l,t] + SHORTFALL_WEIGHT sum_{l,t} s[l,t]
             + TIE_BREAK sum_{d,w,k,t} h[d,w,k,t] x[d,w,k,t]
             + TIE_BREAK / 10 sum_{whole decisions u} (1 + h[u]) u    (funds y, projects v, cadres c)
        over the plans optimal for the scenario's objective (for equity: also keeping its
        people lifted).

    pi is the share of donor d's budget in year t among the plan years T(k): every plan year,
    since aid whose effect starts after the plan counts too (discounted, models/effects.py).
    Only under `[horizon] beyond_plan = "ignored"` is T(k) the years whose aid of instrument k
    takes effect within the plan (t + lag_years[k] <= the last year): there roads paid in the
    last year serve nobody, so their line's profile is spread over the years before
    (profile_lag). sum g is the aid above its line's budget-proportional profile (as much again
    is below it).

    Why the shortfall term: where a rule holds aid off profile (on ewppt-2010, before issue 23
    counted effects beyond the plan, the yearly public-goods minimum in 2015), sum g is the same
    whether the difference is spread over all of a donor's lines or piled on a few, and the
    vertex HiGHS returns piles it: lines with an empty year. A year below DEEP = half its
    profile costs a tenth again, so the difference is spread (ewppt-2010: lines with an empty
    year from 13.5% to 0.4%, aid off profile unchanged at its least, 5.1%). A tenth, not as much
    again, so that the term breaks ties rather than trading against aid off profile: at weight
    1 the leverage objective's plan had 0.5 points more aid off profile; at 0.1, 0.06 points.

    Why the tie-break: where a rule holds a line off profile, which years take the difference
    is again a tie (interior point and simplex returned plans 1.8 million apart on ewppt-2010).
    A generic linear term, h in [0, 1) a fixed weight per flow (tie_weight), makes the optimum
    one vertex, so the plan is the same whatever the method or thread count. Its weight is the
    smallest that did so at 200 counties (1e-4 still left ties within HiGHS's tolerances); it
    moved the aid off profile by less than 1e-7 of all aid there and on ewppt-2010.

    "Over the optimal plans" is held exactly by complementary slackness, not by an objective
    row, and the shortfall rows (and the first stage's free rows) are added only where the plan
    would miss one (the same optimum; see optimizer/solving/steady.py). Only the plan years are
    noted here.
    """
    if scenario.scenario.year_profile != "steady" or len(scenario.years) < 2:
        return
    m.steady_years = list(scenario.years)


def profile_share(budget: dict, donor: str, years: list[int], lag: int, year: int) -> float:
    """pi[d,k,t]: the share of donor d's budget in `year` among the years whose aid of an
    instrument with `lag` (profile_lag) takes effect within the plan (0 outside them); an even split for a
    donor without budget (its lines are empty anyway). `budget` maps (donor, year) to million yuan."""
    counted = profile_years(years, lag)
    if year not in counted:
        return 0.0
    total = sum(budget[donor, tau] for tau in counted)
    return budget[donor, year] / total if total > 0 else 1.0 / len(counted)
