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
    def Param(name: str, *index, mutable: bool = False, **kwargs) -> None:  # noqa: N802 - reads like pyo.Param
        m.add_component(name, pyo.Param(*index, mutable=mutable or name in sweeping, within=pyo.Reals, **kwargs))

    sweeping = mutable

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

    # B[d,t] = sum_l p[l] R[d,l,t]: a Param of its own (mutable whenever the proportion or the
    # revenue is), kept equal to that sum by whoever moves them (see set_budgets). Rows read
    # one Param instead of a sum of products, which makes a persistent re-solve's bound
    # updates several times cheaper; and a Param, unlike a named Expression, stays on the
    # bound side of a row, so duals keep the sign d objective / d bound.
    Param("budget_amount", sets.donors, sets.years, initialize=budgets(m, sets),
          mutable=bool({"proportion", "revenue"} & set(mutable)))

    cap = instance.capacity
    max_aid = {(w, k, int(t)): float(a) for w, k, t, a in cap[["recipient", "instrument", "year", "max_aid"]]
               .itertuples(index=False) if t in years}
    Param("max_aid", m.capacity_keys, initialize=max_aid)



def budgets(m: pyo.ConcreteModel, sets: IndexSets) -> dict[tuple[str, int], float]:
    """B[d,t] = sum over levels of proportion * revenue, from the Params' current values."""
    proportion = [pyo.value(m.proportion[lvl]) for lvl in sets.levels]
    return {(d, t): sum(p * m.revenue[d, lvl, t].value if m.revenue.mutable else p * m.revenue[d, lvl, t]
                        for p, lvl in zip(proportion, sets.levels))
            for d in sets.donors for t in sets.years}


def budget_values(m: pyo.ConcreteModel) -> list[tuple[object, float]]:
    """(budget_amount ParamData, the value proportion and revenue now give it), for a study that
    moved them to bring budget_amount in line."""
    return [(m.budget_amount[key], value) for key, value in budgets(m, m.index_sets).items()]
