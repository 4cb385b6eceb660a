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
from optimizer.data.io import Instance
from optimizer.data.schema import PRIORITY_KEYS, Scenario


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
    coverage = scenario.priorities.coverage_min
    Param("coverage_min", initialize=0.0 if coverage is None else coverage)
    shares = {k: getattr(scenario.priorities, k) for k in PRIORITY_KEYS}
    Param("share_bound", list(shares), initialize={k: (0.0 if v is None else v) for k, v in shares.items()})
    # effects that start after the plan's last year: discounted at this rate, or ignored (models/effects.py)
    Param("discount_rate", initialize=scenario.horizon.discount_rate)
    m.beyond_plan = scenario.horizon.beyond_plan

    inst = instance.instruments
    Param("leverage", m.instruments, initialize=dict(zip(inst["instrument"], inst["leverage"])))

    eff = instance.effects
    keys = list(zip(eff["recipient"], eff["instrument"], eff["segment"].astype(int)))
    used = set(sets.segments)  # without the rows that projects replace
    Param("width", m.segments, initialize={key: u for key, u in zip(keys, eff["width"]) if key in used})
    Param("people_per_million", m.segments,
          initialize={key: e for key, e in zip(keys, eff["people_per_million"]) if key in used})

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

    # MIP data: funds, projects, cadres (empty index sets when the instance has none)
    Param("min_fund_size", m.instruments, initialize=dict(zip(inst["instrument"], inst["min_fund_size"])))
    Param("setup_cost", m.instruments, initialize=dict(zip(inst["instrument"], inst["setup_cost"])))
    Param("admin_capacity", sets.admin_recipients,
          initialize={w: float(a) for w, a in zip(rec["recipient"], rec["admin_capacity"]) if w in sets.admin_recipients})
    proj = instance.projects
    Param("project_cost", sets.projects, initialize=dict(zip(proj["project"], proj["cost"])))
    Param("project_people", sets.projects, initialize=dict(zip(proj["project"], proj["people"])))
    cad = instance.cadres
    cadre_pairs = list(zip(cad["donor"], cad["recipient"]))
    Param("cadre_cost", cadre_pairs, initialize=dict(zip(cadre_pairs, cad["cost_per_cadre"])))
    Param("cadre_capacity", cadre_pairs, initialize=dict(zip(cadre_pairs, cad["capacity_per_cadre"])))
    # the big-M of an established fund, from the data: follows the budgets, like budget_amount
    Param("fund_capital_max", sets.fund_keys, initialize=fund_capital_limits(m, sets, budgets(m, sets)),
          mutable=bool({"proportion", "revenue", "max_aid"} & set(mutable)))



def budgets(m: pyo.ConcreteModel, sets: IndexSets) -> dict[tuple[str, int], float]:
    """B[d,t] = sum over levels of proportion * revenue, from the Params' current values."""
    proportion = [pyo.value(m.proportion[lvl]) for lvl in sets.levels]
    return {(d, t): sum(p * m.revenue[d, lvl, t].value if m.revenue.mutable else p * m.revenue[d, lvl, t]
                        for p, lvl in zip(proportion, sets.levels))
            for d in sets.donors for t in sets.years}


def fund_capital_limits(m: pyo.ConcreteModel, sets: IndexSets, budget: dict[tuple[str, int], float]
                        ) -> dict[tuple[str, str], float]:
    """M[w,k]: the most capital fund k in recipient w can hold over the plan, from the data.

    All the budgets of w's donors over the plan, and the instrument's capacity limits when
    every plan year has one. (The big-M of fund_max; the smaller, the tighter the relaxation.)
    """
    donors_of: dict[str, list[str]] = {}
    for d, w in sets.pairs:
        donors_of.setdefault(w, []).append(d)
    capacity = set(sets.capacity_keys)
    limits = {}
    for w, k in sets.fund_keys:
        limit = sum(budget[d, t] for d in donors_of.get(w, ()) for t in sets.years)
        if all((w, k, t) in capacity for t in sets.years):
            limit = min(limit, sum(pyo.value(m.max_aid[w, k, t]) for t in sets.years))
        limits[w, k] = max(limit, 0.0)
    return limits


def budget_values(m: pyo.ConcreteModel) -> list[tuple[object, float]]:
    """(ParamData, the value it must now have) for the Params derived from others: budget_amount
    from proportion and revenue, fund_capital_max from the budgets and capacities. A study that
    moved those brings the derived ones in line with this."""
    budget = budgets(m, m.index_sets)
    updates = [(m.budget_amount[key], value) for key, value in budget.items()]
    if m.fund_capital_max.mutable:
        updates += [(m.fund_capital_max[key], value)
                    for key, value in fund_capital_limits(m, m.index_sets, budget).items()]
    return updates


class BudgetFormula:
    """`budget_values` as arrays, for a model re-solved many times (a sweep moving the
    proportion at every tenth scenario): the same values bit for bit (each sum taken in the
    same order), computed by numpy instead of a Python loop over the model's keys (1.4 ms on
    ewppt-2010 against a few microseconds).

    Built once per model; `values()` reads the proportion, and the revenue and capacities when
    they are mutable (a study may move them), from the Params at each call.
    """

    def __init__(self, m: pyo.ConcreteModel):
        import numpy as np

        sets = m.index_sets
        self.m = m
        self.budget_keys = [(d, t) for d in sets.donors for t in sets.years]
        self.budget_data = [m.budget_amount[key] for key in self.budget_keys]
        position = {key: n for n, key in enumerate(self.budget_keys)}
        self.revenue_keys = [[(d, lvl, t) for lvl in sets.levels] for d, t in self.budget_keys]
        self.revenue = self._revenue()
        self.capital = m.fund_capital_max.mutable
        if not self.capital:
            return
        donors_of: dict[str, list[str]] = {}
        for d, w in sets.pairs:
            donors_of.setdefault(w, []).append(d)
        capacity = set(sets.capacity_keys)
        self.capital_data = [m.fund_capital_max[key] for key in sets.fund_keys]
        padding = len(self.budget_keys)  # the position of an appended 0.0: adding it changes nothing
        terms = [[position[d, t] for d in donors_of.get(w, ()) for t in sets.years] for w, _ in sets.fund_keys]
        width = max((len(t) for t in terms), default=0)
        self.terms = np.array([t + [padding] * (width - len(t)) for t in terms], dtype=int).reshape(len(terms), width)
        self.capped = np.array([all((w, k, t) in capacity for t in sets.years) for w, k in sets.fund_keys], dtype=bool)
        self.cap_keys = [[(w, k, t) for t in sets.years] for (w, k), c in zip(sets.fund_keys, self.capped) if c]
        self.max_aid = self._max_aid()

    def _revenue(self):
        import numpy as np

        revenue = self.m.revenue
        return np.array([[revenue[key].value if revenue.mutable else revenue[key] for key in keys]
                         for keys in self.revenue_keys], dtype=float).reshape(len(self.revenue_keys),
                                                                             len(self.m.index_sets.levels))

    def _max_aid(self):
        import numpy as np

        return np.array([[pyo.value(self.m.max_aid[key]) for key in keys] for keys in self.cap_keys],
                        dtype=float).reshape(len(self.cap_keys), len(self.m.index_sets.years))

    def values(self, moved: set[str] = frozenset()) -> list[tuple[object, float]]:
        """(ParamData, value) as budget_values gives them; `moved` names the Params moved since
        the last call among revenue and max_aid (their arrays are read again)."""
        import numpy as np

        m = self.m
        if "revenue" in moved:
            self.revenue = self._revenue()
        proportion = [pyo.value(m.proportion[lvl]) for lvl in m.index_sets.levels]
        budget = np.zeros(len(self.budget_keys))
        for column, p in enumerate(proportion):  # sum(p * R for each level), in level order
            budget = budget + p * self.revenue[:, column]
        updates = list(zip(self.budget_data, budget.tolist()))
        if not self.capital:
            return updates
        if "max_aid" in moved:
            self.max_aid = self._max_aid()
        padded = np.append(budget, 0.0)
        limit = np.zeros(len(self.capital_data))
        for column in range(self.terms.shape[1]):  # each donor's budgets, year by year, in order
            limit = limit + padded[self.terms[:, column]]
        capacity = np.zeros(len(self.cap_keys))
        for column in range(self.max_aid.shape[1]):
            capacity = capacity + self.max_aid[:, column]
        limit[self.capped] = np.minimum(limit[self.capped], capacity)
        return updates + list(zip(self.capital_data, np.maximum(limit, 0.0).tolist()))
