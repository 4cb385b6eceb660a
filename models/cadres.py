"""Cadre exchange: whole numbers of cadres sent from donors to their counterparts each year."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.data.io import Instance
from optimizer.data.schema import Scenario


def add_cadres(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """For every row (d,w) of cadres.csv and plan year t:

        c[d,w,t] integer,   cmin[d,w] <= c[d,w,t] <= cmax[d,w]         (bounds of the variable)

    Cadres cost their donor's budget (kappa[d,w] = cost_per_cadre, in the budget row:
    sum_{w,k} x[d,w,k,t] + sum_w kappa[d,w] c[d,w,t] = B[d,t]) and raise the recipient's
    administrative capacity by rho[d,w] = capacity_per_cadre per cadre-year (in admin_capacity,
    models/funds.py). Under `model = "lp"` c is continuous within the same bounds.
    """
    cadres = instance.cadres
    bounds = {(d, w): (int(lo), int(hi)) for d, w, lo, hi in
              cadres[["donor", "recipient", "min_per_year", "max_per_year"]].itertuples(index=False)}
    domain = pyo.NonNegativeIntegers if m.integer else pyo.NonNegativeReals
    m.c = pyo.Var(m.index_sets.cadre_keys, domain=domain, bounds=lambda m, d, w, t: bounds[d, w])


def cadre_cost(m: pyo.ConcreteModel, donor: str, year: int):
    """sum_w kappa[d,w] c[d,w,t]: what donor d's cadres cost in year t (0 without cadres)."""
    return sum(m.cadre_cost[d, w] * m.c[d, w, t] for d, w, t in m.index_sets.cadres_by_donor_year.get((donor, year), ()))
