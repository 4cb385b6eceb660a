"""Every number the model reads, as a mutable Pyomo Param.

Mutable Params are what make "build once, re-solve many" possible: a study changes their
values and the persistent HiGHS interface updates only the affected coefficients and bounds.
Optional priorities that the scenario leaves out are not declared (their rows are not built).
"""

from __future__ import annotations

import pyomo.environ as pyo

from models.sets import IndexSets
from optimizer.io import Instance
from optimizer.schema import PRIORITY_KEYS, Scenario


def add_parameters(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario, sets: IndexSets) -> None:
    years = set(sets.years)
    revenue = {
        (d, lvl, int(t)): float(r)
        for d, lvl, t, r in instance.revenue[["donor", "level", "year", "revenue"]].itertuples(index=False)
        if t in years
    }
    m.proportion = pyo.Param(sets.levels, initialize=scenario.proportion.model_dump(), mutable=True, within=pyo.Reals)
    m.revenue = pyo.Param(sets.donors, sets.levels, sets.years, initialize=revenue, default=0.0, mutable=True,
                          within=pyo.Reals)

    pairs = instance.pairs
    m.base_quota = pyo.Param(m.pairs, initialize=dict(zip(zip(pairs["donor"], pairs["recipient"]), pairs["base_quota"])),
                             mutable=True, within=pyo.Reals)
    growth = scenario.priorities.quota_growth_min
    m.quota_growth_min = pyo.Param(initialize=0.0 if growth is None else growth, mutable=True, within=pyo.Reals)
    shares = {k: getattr(scenario.priorities, k) for k in PRIORITY_KEYS}
    m.share_bound = pyo.Param(list(shares), initialize={k: (0.0 if v is None else v) for k, v in shares.items()},
                              mutable=True, within=pyo.Reals)

    inst = instance.instruments
    m.leverage = pyo.Param(m.instruments, initialize=dict(zip(inst["instrument"], inst["leverage"])), mutable=True,
                           within=pyo.Reals)

    eff = instance.effects
    keys = list(zip(eff["recipient"], eff["instrument"], eff["segment"].astype(int)))
    m.width = pyo.Param(m.segments, initialize=dict(zip(keys, eff["width"])), mutable=True, within=pyo.Reals)
    m.people_per_million = pyo.Param(m.segments, initialize=dict(zip(keys, eff["people_per_million"])), mutable=True,
                                     within=pyo.Reals)

    rec = instance.recipients
    for column in ("poor_population", "weight", "investment_demand", "infra_unlock"):
        m.add_component(column, pyo.Param(m.recipients, initialize=dict(zip(rec["recipient"], rec[column])),
                                          mutable=True, within=pyo.Reals))

    cap = instance.capacity
    max_aid = {(w, k, int(t)): float(a) for w, k, t, a in cap[["recipient", "instrument", "year", "max_aid"]]
               .itertuples(index=False) if t in years}
    m.max_aid = pyo.Param(m.capacity_keys, initialize=max_aid, mutable=True, within=pyo.Reals)


def budget_amount(m: pyo.ConcreteModel, d: str, t: int):
    """B[d,t] = sum_l p[l] R[d,l,t], an expression of Params only.

    A study that moves the proportion or the revenue moves every row that mentions a budget.
    It is deliberately not a named pyo.Expression: Pyomo treats those as possibly holding
    variables and would move them into the row's body, flipping the sign of its dual.
    """
    return sum(m.proportion[lvl] * m.revenue[d, lvl, t] for lvl in m.index_sets.levels)
