"""Budget: each donor spends exactly its extracted revenue every year."""

from __future__ import annotations

import pyomo.environ as pyo

from models.cadres import cadre_cost
from models.variables import row
from optimizer.data.io import Instance
from optimizer.data.schema import Scenario


def add_budget(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """For every donor d and plan year t:

        sum_{w:(d,w) in P} sum_k x[d,w,k,t] + sum_w kappa[d,w] c[d,w,t] = B[d,t] = sum_{l in levels} p[l] * R[d,l,t]

    p[l] is `[proportion]` of the scenario, R is revenue.csv, kappa c the cost of the donor's
    cadres (models/cadres.py; none without cadres.csv). Always on. Its dual is what one
    more million yuan of donor d's budget in year t is worth in the objective.
    """
    sets = m.index_sets
    m.budget = pyo.Constraint(
        m.donors, m.years,
        rule=lambda m, d, t: row(m, m.budget_amount[d, t],
                                 sum(m.x[f] for f in sets.flows_by_donor_year.get((d, t), ())) + cadre_cost(m, d, t),
                                 m.budget_amount[d, t]),
    )
