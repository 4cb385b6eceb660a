"""Indivisible projects: schools, roads, water projects, each built whole or not at all."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.data.io import Instance
from optimizer.data.schema import Scenario


def add_projects(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """For every recipient-instrument (w,k) with projects Q[w,k] in projects.csv:

        v[q] binary                                            project q built
        project_spend[w,k]:  sum_{d,t} x[d,w,k,t] = sum_{q in Q[w,k]} cost[q] v[q]
        project_timing[w,k,t]:  sum_{q in Q[w,k], e[q] >= t} cost[q] v[q] <= sum_{d, t' >= t} x[d,w,k,t']

    for every earliest year t of a project in Q[w,k] after the first plan year (e[q] is
    earliest_year, clamped to the first plan year). All of (w,k)'s aid turns into whole
    projects; a project is paid only from aid of its earliest year on (the projects starting in
    t or later must fit in the aid of t and later, which for these nested windows is exactly
    when every project can be paid from its own years). The people of the chosen projects,
    sum_q people[q] v[q], replace the piecewise effect of (w,k) in people[w] (models/effects.py),
    each from its earliest year plus the instrument's lag_years on (a project whose lag runs past
    the plan counts its people discounted, models/effects.py).
    A project starting after the plan is never built. Under `model = "lp"` v is in [0, 1].
    """
    sets = m.index_sets
    last = sets.years[-1]
    m.v = pyo.Var(sets.projects, domain=pyo.Binary if m.integer else pyo.UnitInterval,
                  bounds=lambda m, q: (0, 1 if sets.project_of[q][2] <= last else 0))
    in_key = sets.projects_by_key

    def aid(w, k, start):
        return sum(m.x[f] for f in sets.flows_by_recipient_instrument.get((w, k), ()) if f[3] >= start)

    m.project_spend = pyo.Constraint(
        sets.project_keys,
        rule=lambda m, w, k: (0.0, aid(w, k, sets.years[0]) - sum(m.project_cost[q] * m.v[q] for q in in_key[w, k]), 0.0),
    )
    m.project_timing = pyo.Constraint(
        sets.project_timing_keys,
        rule=lambda m, w, k, t: (None, sum(m.project_cost[q] * m.v[q] for q in in_key[w, k] if sets.project_of[q][2] >= t)
                                 - aid(w, k, t), 0.0),
    )


def project_people(m: pyo.ConcreteModel, w: str, year: int):
    """sum of people[q] v[q] over w's projects that lift people in `year` (built from their
    earliest year e[q], they serve from e[q] + lag[k] on). A project starting after the plan
    (never built, v = 0) stays in the sum, so with every lag 0 the end-of-plan sum is every project."""
    sets = m.index_sets
    last = sets.years[-1]
    return sum(m.project_people[q] * m.v[q] for q in sets.projects_by_recipient.get(w, ())
               if sets.project_of[q][2] > last or sets.project_in_effect(q, year))
