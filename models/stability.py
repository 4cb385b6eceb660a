"""Stability: each pair keeps its base quota and, if asked, grows it every year (source 3.1)."""

from __future__ import annotations

import pyomo.environ as pyo

from models.variables import row
from optimizer.data.io import Instance
from optimizer.data.schema import Scenario


def _pair_aid(m: pyo.ConcreteModel, d: str, w: str, t: int):
    return sum(m.x[f] for f in m.index_sets.flows_by_pair_year[(d, w, t)])


def add_stability(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario) -> None:
    """With a[d,w,t] = sum_k x[d,w,k,t], for every pair (d,w) in P and plan year t:

        quota:        a[d,w,t] >= q[d,w]                                  (pairs.csv base_quota)
        quota_growth: a[d,w,t] >= (1 + g) * a[d,w,t-1]   for t after the first plan year

    g is `[priorities] quota_growth_min`; the growth rows exist only when the scenario sets it.
    Quota rows exist for every pair (a zero quota is a harmless row), so a study can move any
    pair's quota without rebuilding the model.
    """
    quota_keys = [(d, w, t) for (d, w) in m.pairs for t in m.years]
    m.quota = pyo.Constraint(quota_keys, rule=lambda m, d, w, t: row(m, m.base_quota[d, w], _pair_aid(m, d, w, t), None))

    if scenario.priorities.quota_growth_min is None:
        return
    years = list(m.years)
    previous = dict(zip(years[1:], years[:-1]))
    growth_keys = [(d, w, t) for (d, w) in m.pairs for t in years[1:]]
    m.quota_growth = pyo.Constraint(
        growth_keys,
        rule=lambda m, d, w, t: _pair_aid(m, d, w, t) - (1 + m.quota_growth_min) * _pair_aid(m, d, w, previous[t]) >= 0,
    )
