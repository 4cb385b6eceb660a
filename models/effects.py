"""Piecewise concave effect of aid on people lifted, capped by the poor population."""

from __future__ import annotations

import pyomo.environ as pyo

from models.projects import project_people
from optimizer.data.io import Instance
from optimizer.data.schema import Scenario


def add_effects(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """For every recipient-instrument (w,k) with rows in effects.csv, over the whole plan:

        effect_use[w,k]:   sum_j s[w,k,j] <= sum_{d,t} x[d,w,k,t] - f[k] y[w,k],   0 <= s[w,k,j] <= u[w,k,j]
        people[w]:         z[w] = sum_{k,j} e[w,k,j] * s[w,k,j] + sum_{q in Q[w]} people[q] v[q]
        poor_population[w]: z[w] <= N[w]

    e (people_per_million) is non-increasing in j, so a maximising plan fills segments in
    order and the effect is concave; aid beyond the last segment, or to a recipient-instrument
    without effect rows, lifts nobody. The set-up cost f[k] of an established fund y[w,k]
    (models/funds.py; the term is absent for other instruments) is taken from the capital
    before it has effect. A recipient-instrument with projects (models/projects.py) has no
    effect_use row: its chosen projects' people count instead.
    """
    sets = m.index_sets
    funds = set(sets.fund_keys)

    def setup(w, k):
        return m.setup_cost[k] * m.y[w, k] if (w, k) in funds else 0.0

    m.effect_use = pyo.Constraint(
        m.effect_keys,
        rule=lambda m, w, k: sum(m.s[seg] for seg in sets.segments_by_effect[(w, k)])
        <= sum(m.x[f] for f in sets.flows_by_recipient_instrument.get((w, k), ())) - setup(w, k),
    )
    by_recipient: dict[str, list] = {w: [] for w in sets.recipients}
    for seg in sets.segments:
        by_recipient[seg[0]].append(seg)
    m.people = pyo.Constraint(
        m.recipients, rule=lambda m, w: m.z[w] == sum(m.people_per_million[seg] * m.s[seg] for seg in by_recipient[w])
        + project_people(m, w)
    )
    m.poor_population_cap = pyo.Constraint(m.recipients, rule=lambda m, w: (None, m.z[w], m.poor_population[w]))

