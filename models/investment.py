"""Investment coupling: leveraged enterprise lending cannot exceed what a recipient absorbs."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.data.io import Instance
from optimizer.data.schema import Scenario


def add_investment_coupling(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """For every paired recipient w and plan year t:

        sum_{d, k in enterprise_finance} L[k] x[d,w,k,t]
            <= G[w] + kappa[w] * sum_{t' <= t} sum_{d, k in public_goods} x[d,w,k,t']

    L is instruments.csv leverage, G recipients.csv investment_demand and kappa infra_unlock:
    infrastructure and public services built so far unlock more enterprise investment.
    """
    sets = m.index_sets
    years = list(sets.years)

    def rule(m, w, t):
        lent = sum(m.leverage[f[2]] * m.x[f] for f in sets.in_category(sets.flows_by_recipient_year[(w, t)], "enterprise_finance"))
        built = sum(
            m.x[f] for t2 in years[: years.index(t) + 1]
            for f in sets.in_category(sets.flows_by_recipient_year[(w, t2)], "public_goods")
        )
        return (None, lent - m.infra_unlock[w] * built, m.investment_demand[w])

    keys = [(w, t) for w in sets.paired_recipients for t in years
            if sets.in_category(sets.flows_by_recipient_year[(w, t)], "enterprise_finance")]
    m.investment = pyo.Constraint(keys, rule=rule)
