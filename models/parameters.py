"""Every number the model reads, as a Pyomo Param.

Each Param can be mutable: that is what makes "build once, re-solve many" possible, since a
study changes their values and the persistent HiGHS interface pushes the new coefficients and
bounds to HiGHS. Mutability has a price on every re-solve (Pyomo re-evaluates every mutable
coefficient, not only the changed ones), so a model makes mutable exactly the Params named in
`mutable` (a sweep passes the ones its study moves; a single solve passes none) and the rest
are plain numbers in the rows.
"""

from __future__ import annotations

import pyomo.environ as pyo

from models.sets import IndexSets
from optimizer.io import Instance
from optimizer.schema import PRIORITY_KEYS, Scenario


def add_parameters(m: pyo.ConcreteModel, instance: Instance, scenario: Scenario, sets: IndexSets,
                   mutable: frozenset[str] = frozenset()) -> None:
    def Param(name: str, *index, **kwargs) -> None:  # noqa: N802 - reads like pyo.Param
        m.add_component(name, pyo.Param(*index, mutable=name in mutable, within=pyo.Reals, **kwargs))

    years = set(sets.years)
    revenue = {
        (d, lvl, int(t)): float(r)
        for d, lvl, t, r in instance.revenue[["donor", "level", "year", "revenue"]].itertuples(index=False)
        if t in years
    }
    Param("proportion", sets.levels, initialize=scenario.proportion.model_dump())
    Param("revenue", sets.donors, sets.levels, sets.years, initialize=revenue, default=0.0)

    pairs = instance.pairs
    Param("base_quota", m.pairs, initialize=dict(zip(zip(pairs["donor"], pairs["recipient"]), pairs["base_quota"])))
    growth = scenario.priorities.quota_growth_min
    Param("quota_growth_min", initialize=0.0 if growth is None else growth)
    shares = {k: getattr(scenario.priorities, k) for k in PRIORITY_KEYS}
    Param("share_bound", list(shares), initialize={k: (0.0 if v is None else v) for k, v in shares.items()})

    inst = instance.instruments
    Param("leverage", m.instruments, initialize=dict(zip(inst["instrument"], inst["leverage"])))

    eff = instance.effects
    keys = list(zip(eff["recipient"], eff["instrument"], eff["segment"].astype(int)))
    Param("width", m.segments, initialize=dict(zip(keys, eff["width"])))
    Param("people_per_million", m.segments, initialize=dict(zip(keys, eff["people_per_million"])))

    rec = instance.recipients
    for column in ("poor_population", "weight", "investment_demand", "infra_unlock"):
        Param(column, m.recipients, initialize=dict(zip(rec["recipient"], rec[column])))

    cap = instance.capacity
    max_aid = {(w, k, int(t)): float(a) for w, k, t, a in cap[["recipient", "instrument", "year", "max_aid"]]
               .itertuples(index=False) if t in years}
    Param("max_aid", m.capacity_keys, initialize=max_aid)


def budget_amount(m: pyo.ConcreteModel, d: str, t: int):
    """B[d,t] = sum_l p[l] R[d,l,t], an expression of Params only.

    A study that moves the proportion or the revenue moves every row that mentions a budget.
    It is deliberately not a named pyo.Expression: Pyomo treats those as possibly holding
    variables and would move them into the row's body, flipping the sign of its dual.
    """
    return sum(m.proportion[lvl] * m.revenue[d, lvl, t] for lvl in m.index_sets.levels)
