"""Why is a scenario infeasible: an irreducible infeasible subset, and the least change to the
values the planner wrote.

`explain(instance)` answers in two parts, both in the instance's own terms:

1. **Conflict**: HiGHS's irreducible infeasible subset (IIS) of the LP: a set of rows (and
   variable bounds) that cannot all hold, while dropping any one of them lets the others hold.
   Each row maps back through its family's index (`FAMILY_INDEX`) to the budget, priority,
   quota, capacity or lock it came from, with the figures behind it. A MIP is explained
   through its LP relaxation; when the relaxation is feasible the conflict lies in the whole
   decisions (fund minimums, projects, cadres) and only part 2 applies.
2. **Least change** to the values in the files. Each value a planner wrote and explain may
   change (a priority share of scenario.toml, a pair's base quota, a capacity row, a
   recipient's investment demand, a lock, the coverage floor) becomes a variable
   v = v0 + up - down, moving only the way that loosens its rule (a minimum down, a maximum
   up, a lock's exact aid either way), and every row that reads it reads the variable. Two
   solves of the whole model (the MIP when the scenario is one) then choose, lexicographically,

       first  the fewest values changed       (one binary per value: up + down <= M changed),
       then   the least weighted relative change  sum_i weight[kind_i] (up_i + down_i) / |v0_i|
              among changes of that many values.

   A value is one number in one file: enterprise_finance_min is one share for every donor and
   year, so it moves once, not once per donor-year row. With `proportion=True` (the planner
   allows it) the three proportions move too and every budget follows them; the priority
   shares are then held (a share times a moving budget is not linear). Quota growth and
   women's share multiply a value by aid, which a linear model cannot move: when no change to
   the other values makes the scenario feasible, each is searched alone by bisection on the
   feasibility of the whole model, and the one with the least relative change is proposed.
   Budgets, the effect, admin capacity, cadres and the whole-decision data are never changed. The
   changes are rounded away from the conflict (shares to 0.001, coverage to 0.0001, money to
   0.01 million) and applied to the instance, which is solved again to confirm it is feasible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from optimizer.solving import interrupt, progress
from optimizer.solving.quiet import quiet
from optimizer.data.io import Instance
from optimizer.data import numbers
from optimizer.data.numbers import money, share
from optimizer.solving.results import FAMILY_INDEX
from optimizer.data.schema import Scenario

# Kinds of values a planner writes that explain may change (weight 1 per unit of relative
# change by default): priority shares, base quotas, capacity rows, locks, investment demands,
# the coverage floor.
RELAXABLE = ("priority_share", "quota", "capacity", "lock", "investment", "coverage_floor")
PROPORTION = "proportion"  # the scenario's [proportion], changed only when the planner allows it
# HiGHS's iis_strategy is a bit mask: FromLp (2) takes an infeasible subsystem from the LP's
# solve, Irreducible (4) deletes rows from a subsystem one at a time until it is irreducible.
FROM_LP, IRREDUCIBLE = 2, 4
LOWER, UPPER, BOXED = 2, 3, 4  # HiGHS's IisBoundStatus
SLACK_TOLERANCE = 1e-7


@dataclass
class Member:
    """One row of the conflict: its family, index (by column name), the side in conflict and
    a sentence with the data behind it."""

    family: str
    index: dict[str, Any]
    side: str  # "lower", "upper" or "both"
    bound: float | None
    text: str


@dataclass
class Explanation:
    status: str  # feasible | infeasible | unknown
    message: str
    conflict: list[Member] = field(default_factory=list)
    bounds: list[str] = field(default_factory=list)  # variable bounds in the IIS, in words
    headline: str = ""
    penalty: float | None = None  # the least weighted relative change (sum over the values changed)
    # the values to change, one row each: file, donor, recipient, instrument, year, column,
    # current, value, change, relative_change, text
    changes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CHANGE_COLUMNS))
    checked: bool = False  # the changed instance was solved and is feasible
    count_proven: bool = False  # the count of values changed is proven the least
    values_considered: int = 0  # how many values explain could change
    note: str = ""
    weights: dict[str, float] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        index_columns = ["rule", "donor", "recipient", "instrument", "year"]
        conflict = pd.DataFrame(
            [{"family": c.family, **{k: c.index.get(k) for k in index_columns}, "side": c.side, "bound": c.bound,
              "text": c.text} for c in self.conflict],
            columns=["family", *index_columns, "side", "bound", "text"])
        return {"conflict": conflict, "changes": self.changes}


def explain(instance: Instance, scenario: Scenario | None = None, weights: dict[str, float] | None = None,
            proportion: bool = False, **overrides: Any) -> Explanation:
    """Explain why a scenario (the instance's own by default, with dotted-key overrides) is
    infeasible: the IIS of its LP and the least change to the values the planner wrote
    (`.changes`, a DataFrame). `weights` sets the price of a unit of relative change per kind
    of value (default 1 for every kind in RELAXABLE; 0 holds a kind). `proportion=True` lets the least change
    move the scenario's proportions too (the budgets follow them); the priority shares are then
    held, since a share times a budget that moves is not linear."""
    from models.assemble import build_model, model_kind  # see optimizer/solving/solve.py on this import
    from optimizer.solving.solve import new_solver

    scenario = scenario or instance.scenario
    if overrides:
        scenario = scenario.override(**overrides)
    # feasibility does not depend on how a plan is spread over the years: no steady stage rows
    scenario = scenario.override(**{"scenario.year_profile": "free"})
    instance = instance.with_scenario(scenario)
    kinds = (*RELAXABLE, PROPORTION) if proportion else RELAXABLE
    unknown = set(weights or {}) - set(kinds)
    if unknown:
        raise ValueError(f"cannot weight {sorted(unknown)}: the kinds of values explain may change are "
                         f"{', '.join(kinds)}")
    weights = {**dict.fromkeys(kinds, 1.0), **(weights or {})}
    if proportion:
        weights["priority_share"] = 0.0  # held: see above
    opt = new_solver()
    if opt is None:
        return Explanation("unknown", "HiGHS (highspy) is not installed or cannot be loaded")

    lp_scenario = scenario.override(**{"scenario.model": "lp"})
    with progress.stage("explain: building the LP"):
        lp = build_model(instance, lp_scenario)
    with progress.stage("explain: is the LP feasible"):
        lp_status = _status(opt, lp, lp_scenario)
    integer = model_kind(scenario, lp.index_sets) == "mip"
    explanation = Explanation("infeasible", "", weights=weights)
    if lp_status == "infeasible":
        with progress.stage("explain: the conflicting rules"):
            _conflict(opt, lp, instance, explanation)
    elif lp_status != "optimal":
        return Explanation("unknown", f"HiGHS could not decide whether the scenario is feasible ({lp_status})")
    elif not integer:
        return Explanation("feasible", "the scenario is feasible: nothing to explain")
    else:
        from optimizer.solving.solve import solve

        whole = solve(instance, scenario)
        if whole.has_plan:
            return Explanation("feasible", "the scenario is feasible: nothing to explain")
        if whole.status != "infeasible":
            return Explanation("unknown", f"the MIP stopped without a verdict ({whole.status}): {whole.message}")
        explanation.headline = ("the LP relaxation is feasible: the conflict lies in the whole decisions "
                                "(fund minimums and set-up costs, all-or-nothing projects, whole cadres)")
    _least_relaxation(instance, scenario, explanation)
    explanation.message = _message(explanation)
    return explanation


def _status(opt, model: pyo.ConcreteModel, scenario: Scenario) -> str:
    from optimizer.solving.solve import _run

    status, _ = _run(opt, model, scenario)
    return status


# ------------------------------------------------------------------------------ conflict


def _conflict(opt, model: pyo.ConcreteModel, instance: Instance, explanation: Explanation) -> None:
    """Read HiGHS's IIS of the loaded, infeasible LP into named members."""
    rows = {index: con for con, index in opt._pyomo_con_to_solver_con_map.items()}
    columns = {index: var_id for var_id, index in opt._pyomo_var_to_solver_var_map.items()}
    variables = {id(v): v for v in model.component_data_objects(pyo.Var)}
    with quiet():  # HiGHS logs its filters to stdout
        iis = irreducible_subset(opt._solver_model.getLp())  # the persistent interface's LP
    if iis is None:
        explanation.headline = "HiGHS found no irreducible infeasible subset (see the least relaxation below)"
        return
    for index, bound in zip(iis.rows, iis.row_bounds):
        explanation.conflict.append(_member(rows[index], int(bound), instance))
    explanation.conflict.sort(key=lambda c: (_FAMILY_ORDER.get(c.family, 99), str(c.index)))
    iis_vars = [variables[columns[index]] for index in iis.columns]
    explanation.bounds = sorted({_bound_text(var, int(bound)) for var, bound in zip(iis_vars, iis.column_bounds)})
    explanation.headline = _headline(explanation.conflict, _cadre_floors(model, iis_vars, iis.column_bounds))


@dataclass
class Subset:
    """An irreducible infeasible subset in the LP's own numbering: its rows and columns, and
    which bound of each is in conflict (HiGHS's IisBoundStatus)."""

    rows: list[int]
    row_bounds: list[int]
    columns: list[int]
    column_bounds: list[int]


def irreducible_subset(lp) -> Subset | None:
    """An irreducible infeasible subset of an infeasible LP (a highspy HighsLp), or None.

    1. HiGHS's FromLp strategy gives an infeasible subsystem quickly, but not an irreducible
       one (222 of 14,127 rows at 200 counties, in 2.5 s).
    2. Its rows are reduced to an irreducible set by QuickXplain (Junker, 2004): split the rows,
       keep a half whenever the rest stays infeasible without it. That is about 2k log2(n/k)
       feasibility solves for k rows in conflict among n, instead of HiGHS's deletion filter's n
       (at 800 counties the filter took 247 s of explain's 328 s). A row is left out of a solve
       by freeing its bounds, so each solve warm-starts from the one before.
    3. HiGHS's Irreducible strategy on the k rows alone says which side of each row, and which
       column bounds, are in conflict (a tiny LP).
    """
    import highspy

    found = _iis(lp, FROM_LP)
    if found is None or not found.rows:
        return None
    candidates = sorted(found.rows)

    # the subsystem: the candidate rows only, costs zeroed (feasibility alone matters)
    sub = _highs_holding(lp)
    outside = np.setdiff1d(np.arange(lp.num_row_, dtype=np.int32), np.array(candidates, dtype=np.int32))
    sub.deleteRows(len(outside), outside)
    sub.changeColsCost(lp.num_col_, np.arange(lp.num_col_, dtype=np.int32), np.zeros(lp.num_col_))
    sub_lp = sub.getLp()
    lower, upper = np.asarray(sub_lp.row_lower_), np.asarray(sub_lp.row_upper_)
    enforced = np.ones(len(candidates), dtype=bool)

    def infeasible(kept: list[int]) -> bool:
        wanted = np.zeros(len(candidates), dtype=bool)
        wanted[kept] = True
        changed = np.flatnonzero(wanted != enforced).astype(np.int32)
        if len(changed):
            sub.changeRowsBounds(len(changed), changed, np.where(wanted[changed], lower[changed], -highspy.kHighsInf),
                                 np.where(wanted[changed], upper[changed], highspy.kHighsInf))
            enforced[changed] = wanted[changed]
        with interrupt.solving(sub):
            sub.run()
        return sub.getModelStatus() == highspy.HighsModelStatus.kInfeasible

    def explain_rows(background: list[int], background_changed: bool, rows: list[int]) -> list[int]:
        if background_changed and infeasible(background):
            return []
        if len(rows) == 1:
            return rows
        first, second = rows[:len(rows) // 2], rows[len(rows) // 2:]
        in_second = explain_rows(background + first, True, second)
        in_first = explain_rows(background + in_second, bool(in_second), first)
        return in_first + in_second

    everything = list(range(len(candidates)))
    if not infeasible(everything):  # HiGHS's subsystem should be infeasible; if not, let HiGHS do it all
        return _highs_subset(lp)
    kept = sorted(explain_rows([], False, everything))

    # which side of each row and which column bounds conflict: HiGHS on the kept rows alone
    rest = np.setdiff1d(np.arange(len(candidates), dtype=np.int32), np.array(kept, dtype=np.int32))
    final = _iis(sub_lp, FROM_LP | IRREDUCIBLE, deleted=rest)
    if final is None:
        return _highs_subset(lp)
    final.rows = [candidates[kept[r]] for r in final.rows]  # back to the whole LP's numbering
    return final


def _highs_subset(lp) -> Subset | None:
    """HiGHS's own irreducible subset of the whole LP (its deletion filter over the FromLp rows)."""
    return _iis(lp, FROM_LP | IRREDUCIBLE)


def _highs_holding(lp):
    import highspy

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.passModel(lp)
    progress.watch(highs)
    return highs


def _iis(lp, strategy: int, deleted: np.ndarray | None = None) -> Subset | None:
    """HiGHS's IIS of `lp` (less the rows `deleted`) by an iis_strategy; None when it finds none."""
    highs = _highs_holding(lp)
    if deleted is not None and len(deleted):
        highs.deleteRows(len(deleted), deleted)
    highs.setOptionValue("iis_strategy", strategy)
    with interrupt.solving(highs):  # HiGHS's IIS search solves LPs
        _, iis = highs.getIis()
    if not iis.valid_:
        return None
    return Subset([int(r) for r in iis.row_index_], [int(b) for b in iis.row_bound_],
                  [int(c) for c in iis.col_index_], [int(b) for b in iis.col_bound_])


_FAMILY_ORDER = {family: order for order, family in enumerate(
    ("budget", "lock", "quota", "quota_growth", "priority_share", "coverage_floor", "capacity", "investment",
     "admin_capacity_limit"))}


def _family_and_index(con) -> tuple[str, dict[str, Any]]:
    family = con.parent_component().local_name
    raw = con.index()
    raw = raw if isinstance(raw, tuple) else (raw,)
    names = FAMILY_INDEX.get(family) or _OTHER_INDEX.get(family) or tuple(f"index_{i}" for i in range(len(raw)))
    return family, dict(zip(names, raw))


# rows that are not in the result tables (FAMILY_INDEX) but may be in a conflict
_OTHER_INDEX = {"fund_effect": ("recipient", "instrument", "segment"), "admin_capacity_hull": ("recipient", "edge"),
                "year_fund_effect": ("recipient", "instrument", "segment", "year"),
                "fund_curve_share": ("recipient", "instrument"),
                "year_fund_curve_share": ("recipient", "instrument", "year")}
# a fund's effect: the perspective of its curve (models/fund_effects.py), either form; the share row of
# another instrument's long curve too
FUND_EFFECT_FAMILIES = ("fund_effect", "year_fund_effect", "fund_curve_share", "year_fund_curve_share")


def _side(bound: int) -> str:
    return {LOWER: "lower", UPPER: "upper"}.get(bound, "both")


def _member(con, bound: int, instance: Instance) -> Member:
    family, index = _family_and_index(con)
    side = _side(bound)
    if side == "both":  # boxed: name the bound the row's data gives first
        side = "lower" if con.has_lb() else "upper"
    value = pyo.value(con.lower if side == "lower" else con.upper)
    if con.equality or (con.has_lb() and con.has_ub() and pyo.value(con.lower) == pyo.value(con.upper)):
        side = "both"
    return Member(family, index, side, value, describe(family, index, side, value, instance))


def _money(value: float) -> str:
    return numbers.money(value)


def describe(family: str, index: dict[str, Any], side: str, value: float, instance: Instance) -> str:
    """One rule in the instance's own words, with the data behind it."""
    g = index.get
    at_least = side == "lower"
    scenario = instance.scenario
    if family == "budget":
        parts = [f"{scenario.proportion.model_dump()[lvl]:g} x {lvl} revenue {numbers.money(r)}"
                 for lvl, r in _revenue(instance, g("donor"), g("year")) if scenario.proportion.model_dump()[lvl] > 0]
        return (f"budget {g('donor')} {g('year')}: spends exactly {_money(value)} million"
                + (f" ({' + '.join(parts)})" if parts else ""))
    if family == "priority_share":
        share = getattr(scenario.priorities, g("rule"))
        who = "all donors" if g("donor") == "*" else g("donor")
        if g("rule") == "women_min":
            return (f"{g('rule')} {share:g} for {who} {g('year')}: women-targeting aid at least {share:g} of "
                    f"household finance")
        sense = "at least" if at_least else "at most"
        return (f"{g('rule')} {share:g} for {who} {g('year')}: {sense} {_money(value)} million "
                f"({share:g} of the budget, scenario.toml [priorities])")
    if family == "quota":
        return (f"quota {g('donor')}->{g('recipient')} {g('year')}: at least {_money(value)} million a year "
                f"(pairs.csv base_quota)")
    if family == "quota_growth":
        growth = scenario.priorities.quota_growth_min
        return (f"quota growth {g('donor')}->{g('recipient')} {g('year')}: at least {1 + growth:g} x the year "
                f"before (scenario.toml quota_growth_min {growth:g})")
    if family == "capacity":
        return (f"capacity {g('recipient')} {g('instrument')} {g('year')}: at most {_money(value)} million "
                f"(capacity.csv max_aid)")
    if family == "lock":
        what = {"lower": "at least", "upper": "at most", "both": "exactly"}[side]
        return (f"lock {g('donor')}->{g('recipient')} {g('instrument')} {g('year')}: {what} {_money(value)} million "
                f"(locks.csv)")
    if family == "investment":
        return (f"investment coupling {g('recipient')} {g('year')}: leveraged enterprise lending at most "
                f"{_money(value)} million + infra_unlock x public goods built (recipients.csv investment_demand)")
    if family == "coverage_floor":
        floor = scenario.priorities.coverage_min
        return (f"coverage floor {g('recipient')}: at least {numbers.people(value)} people lifted ({floor:g} of its poor "
                f"population, scenario.toml coverage_min)")
    if family == "poor_population_cap":
        return f"poor population {g('recipient')}: at most {numbers.people(value)} people can be lifted (recipients.csv)"
    if family == "admin_capacity_limit":
        return (f"admin capacity {g('recipient')}: at most {numbers.plain(value)} funds (recipients.csv admin_capacity), "
                f"plus what cadres add")
    if family == "admin_capacity_hull":
        return (f"admin capacity {g('recipient')} with whole cadres: no more funds than whole cadre-years make room "
                f"for (recipients.csv admin_capacity, cadres.csv capacity_per_cadre)")
    if family == "fund_min":
        return (f"fund minimum {g('recipient')} {g('instrument')}: an established fund holds at least "
                f"{_money(_fund_floor(instance, g('instrument')))} million over the plan "
                f"(instruments.csv min_fund_size, setup_cost)")
    if family == "fund_max":
        return (f"fund capital {g('recipient')} {g('instrument')}: only an established fund holds capital, at most "
                f"what its donors' budgets (and capacities) allow over the plan")
    if family == "people":
        return f"people lifted in {g('recipient')}: what its aid's segments lift (effects.csv), plus its projects"
    if family == "effect_use":
        return (f"effect of {g('instrument')} in {g('recipient')}: lifts people only with the aid it receives over the "
                f"plan (effects.csv segments)")
    if family == "effect_lag":
        return (f"effect of {g('instrument')} in {g('recipient')}: aid taking effect after the last plan year lifts "
                f"people discounted (instruments.csv lag_years, scenario.toml [horizon])")
    if family in FUND_EFFECT_FAMILIES and _fund_floor(instance, g('instrument')) <= 0:  # another instrument's long curve
        return (f"effect of {g('instrument')} in {g('recipient')}: lifts people along its effect curve, at most "
                f"the whole curve (effects.csv segments)")
    if family in FUND_EFFECT_FAMILIES:
        return f"a {g('instrument')} fund in {g('recipient')} lifts people only once established"
    if family == "project_spend":
        return (f"projects of {g('instrument')} in {g('recipient')}: the aid equals the cost of the projects built "
                f"(projects.csv)")
    if family == "project_timing":
        return (f"projects of {g('instrument')} in {g('recipient')} from {g('year')}: paid for by aid from their "
                f"earliest year (projects.csv earliest_year)")
    if family == "equity_ratio":
        return f"least coverage: {g('recipient')} lifts at least that share of its poor population"
    where = " ".join(str(v) for v in index.values())
    sense = {"lower": "at least", "upper": "at most", "both": "exactly"}[side]
    return f"{family.replace('_', ' ')} {where}: {sense} {numbers.plain(value)}"


def _fund_floor(instance: Instance, instrument: str) -> float:
    row = instance.instruments.set_index("instrument").loc[instrument]
    return float(max(row["min_fund_size"], row["setup_cost"]))


def _revenue(instance: Instance, donor: str, year: int) -> list[tuple[str, float]]:
    rev = instance.revenue
    rows = rev[(rev["donor"] == donor) & (rev["year"] == year)]
    return [(lvl, float(r)) for lvl, r in zip(rows["level"], rows["revenue"])]


def _bound_text(var, bound: int) -> str:
    """A variable bound of the IIS in the instance's words (never a Pyomo name)."""
    name = var.parent_component().local_name
    index = var.index()
    if name == "x":
        return "aid is never negative"
    if name == "s":
        w, k, j = index
        return f"segment {j} of {w} {k} holds at most its width (effects.csv)"
    if name == "y":
        w, k = index
        return f"a {k} fund in {w} is established or not (0 or 1)"
    if name == "v":
        return f"project {index} is built or not (0 or 1)"
    if name == "c":
        d, w, t = index
        if bound == LOWER and not var.lb:
            return f"cadres sent by {d} to {w} in {t} are never negative"
        what = {LOWER: f"at least {var.lb:g} (cadres.csv min_per_year)",
                UPPER: f"at most {var.ub:g} (cadres.csv max_per_year)"}.get(
            bound, f"between {var.lb:g} and {var.ub:g} (cadres.csv min_per_year, max_per_year)")
        return f"cadres sent by {d} to {w} in {t}: {what}"
    if name in ("fund_curve_weight", "year_fund_curve_weight"):
        w, k = index[:2]
        return f"{k} in {w} lifts people along its effect curve (effects.csv)"
    if name == "z":
        return f"people lifted in {index} are never negative"
    if name == "zero":
        return "a rule with no aid to count (its data leave it empty) reads 0"
    if name == "theta":
        return "the least coverage is a share of the poor population"
    return f"a bound of {name} {index}"


def _cadre_floors(model: pyo.ConcreteModel, variables: list, bounds: list[int]) -> dict[tuple[str, int], list]:
    """(donor, year) -> [(recipient, least cadres, cost per cadre)] for the cadre bounds at
    their minimum in the IIS: what the budget pays for cadres before any aid."""
    floors: dict[tuple[str, int], list] = {}
    for var, bound in zip(variables, bounds):
        if var.parent_component().local_name == "c" and bound in (LOWER, BOXED) and var.lb:
            d, w, t = var.index()
            floors.setdefault((d, t), []).append((w, float(var.lb), float(pyo.value(model.cadre_cost[d, w]))))
    return floors


def _headline(conflict: list[Member], cadres: dict[tuple[str, int], list] | None = None) -> str:
    """A one-line summary when the conflict is one budget against rules of one kind. What the
    rules ask adds up to the printed total: the cadres the budget must pay (their minimum in
    the IIS) are part of the sum."""
    budgets = [c for c in conflict if c.family == "budget"]
    others = [c for c in conflict if c.family != "budget"]
    if len(budgets) != 1 or not others:
        return f"these {len(conflict)} rules cannot all hold"
    budget = budgets[0]
    donor, year = budget.index["donor"], budget.index["year"]
    who = f"{donor} {year}"
    if all(c.side in ("lower", "both") for c in others) and all(c.bound is not None for c in others):
        parts = [(_short(c), c.bound) for c in others]
        parts += [(f"cadres to {w} ({n:g} x {money(cost)})", n * cost) for w, n, cost in (cadres or {}).get((donor, year), ())]
        asked = sum(value for _, value in parts)
        digits = 2
        while digits < 6 and f"{asked:.{digits}f}" == f"{budget.bound:.{digits}f}":
            digits += 1  # enough decimals that the sum is seen to exceed the budget
        fmt = lambda v: f"{v:,.{digits}f}"  # noqa: E731
        names = " + ".join(f"{name} {fmt(value)}" for name, value in parts)
        return f"{who}: {names} = {fmt(asked)} million exceed the whole budget of {fmt(budget.bound)} million"
    if all(c.side == "upper" for c in others):
        allowed = sum(c.bound for c in others)
        return (f"{who}: the budget of {money(budget.bound)} million must be spent, but {len(others)} limits let "
                f"it spend at most {money(allowed)} million")
    return f"{who}: the budget of {money(budget.bound)} million cannot meet these {len(others)} rules together"


def _short(member: Member) -> str:
    g = member.index.get
    if member.family == "priority_share":
        return g("rule")
    if member.family == "quota":
        return f"quota {g('donor')}->{g('recipient')}"
    if member.family == "lock":
        return f"lock {g('donor')}->{g('recipient')} {g('instrument')}"
    return member.family


# ------------------------------------------------------------------------------ least relaxation

@dataclass
class _Value:
    """One value a planner wrote that the least change may move: where it is written, its
    current value, which way it may move ("down" for a minimum, "up" for a maximum, "both" for
    a lock's exact aid) and how far at most."""

    kind: str  # the weight's key (RELAXABLE)
    file: str
    key: dict[str, Any]
    column: str
    current: float
    direction: str
    limit_down: float
    limit_up: float
    grid: float  # rounding step of the value written (away from the conflict)
    scale: float = 0.0  # what a relative change is relative to (|current|, or a stand-in when it is 0)


def _plan_budget(model: pyo.ConcreteModel) -> float:
    """All donors' budgets over the plan: no value need move further than this (million)."""
    sets = model.index_sets
    return float(sum(pyo.value(model.budget_amount[d, t]) for d in sets.donors for t in sets.years))


def _values(model: pyo.ConcreteModel, instance: Instance, scenario: Scenario, kinds: set[str]
            ) -> tuple[list[_Value], dict[int, int], list[tuple[Any, int | None, int | None]]]:
    """The values of the built model a planner wrote, in the kinds given: the _Value records,
    a map from id(ParamData) to the value's position (for the rows that read a Param), and the
    lock rows as (x variable, position of its lower value, position of its upper value)."""
    from models.priorities import CATEGORY_RULES

    values: list[_Value] = []
    params: dict[int, int] = {}
    locks: list[tuple[Any, int | None, int | None]] = []
    total = _plan_budget(model)
    SHARE, MONEY = 1e-3, 1e-2

    def add(param, value: _Value) -> int:
        values.append(value)
        if param is not None:
            params[id(param)] = len(values) - 1
        return len(values) - 1

    priorities = {"section": "priorities"}
    if PROPORTION in kinds:
        given = scenario.proportion.model_dump()
        stand_in = max(given.values()) or 1.0
        for level in model.index_sets.levels:
            p0 = float(given[level])
            add(None, _Value(PROPORTION, "scenario.toml", {"section": "proportion"}, level, p0, "both", p0,
                             1.0 - p0, 1e-6, p0 or stand_in))
    rows = model.component("priority_share")
    if "priority_share" in kinds and rows is not None:
        rules = {index[0] for index in rows}
        for rule in (*CATEGORY_RULES, "special_aid_min"):
            share = getattr(scenario.priorities, rule)
            if rule not in rules or share is None:
                continue
            up = rule.endswith("_max")
            add(model.share_bound[rule], _Value("priority_share", "scenario.toml", priorities, rule, float(share),
                                                "up" if up else "down", 0.0 if up else float(share),
                                                1.0 - float(share) if up else 0.0, SHARE))
    rows = model.component("quota")
    if "quota" in kinds and rows is not None:
        for d, w in sorted({(d, w) for d, w, _ in rows}):
            q = float(pyo.value(model.base_quota[d, w]))
            add(model.base_quota[d, w], _Value("quota", "pairs.csv", {"donor": d, "recipient": w}, "base_quota", q,
                                               "down", q, 0.0, MONEY))
    rows = model.component("capacity")
    if "capacity" in kinds and rows is not None:
        for w, k, t in rows:
            c = float(pyo.value(model.max_aid[w, k, t]))
            add(model.max_aid[w, k, t], _Value("capacity", "capacity.csv", {"recipient": w, "instrument": k, "year": t},
                                               "max_aid", c, "up", 0.0, total, MONEY))
    rows = model.component("investment")
    if "investment" in kinds and rows is not None:
        reach = total * max(1.0, float(instance.instruments["leverage"].max()))
        for w in sorted({index[0] if isinstance(index, tuple) else index for index in rows}):
            g = float(pyo.value(model.investment_demand[w]))
            add(model.investment_demand[w], _Value("investment", "recipients.csv", {"recipient": w},
                                                   "investment_demand", g, "up", 0.0, reach, MONEY))
    if "coverage_floor" in kinds and model.component("coverage_floor") is not None:
        floor = float(scenario.priorities.coverage_min)
        add(model.coverage_min, _Value("coverage_floor", "scenario.toml", priorities, "coverage_min", floor, "down",
                                       floor, 0.0, SHARE / 10))
    rows = model.component("lock")
    if "lock" in kinds and rows is not None:
        from models.locks import lock_bounds

        for (d, w, k, t), (lo, hi) in lock_bounds(instance).items():
            key = {"donor": d, "recipient": w, "instrument": k, "year": t}
            if lo is not None and lo == hi:
                i = add(None, _Value("lock", "locks.csv", key, "aid", lo, "both", lo, total, MONEY))
                locks.append((model.x[d, w, k, t], i, i))
                continue
            low = None if lo is None else add(None, _Value("lock", "locks.csv", key, "min_aid", lo, "down", lo, 0.0,
                                                            MONEY))
            high = None if hi is None else add(None, _Value("lock", "locks.csv", key, "max_aid", hi, "up", 0.0, total,
                                                             MONEY))
            locks.append((model.x[d, w, k, t], low, high))
    return values, params, locks


# the rows whose bounds read a value above (families with Param bounds; locks are rebuilt)
_PARAM_FAMILIES = ("priority_share", "quota", "capacity", "investment", "coverage_floor")
COUNT_TIME_LIMIT = 60.0  # seconds for the fewest-values stage; past it the best count found is used


def _least_relaxation(instance: Instance, scenario: Scenario, explanation: Explanation) -> None:
    """The least change to the values the planner wrote (see the module docstring): each value
    v with its current value v0 becomes v0 + up - down (only down for a minimum, only up for a
    maximum), every rule reads it, and two solves of the model choose the change:

    1. fewest values changed: min sum_i changed_i with up_i + down_i <= M_i changed_i
       (changed_i binary, M_i the most value i may move);
    2. least weighted relative change with no more values changed:
       min sum_i weight[kind_i] (up_i + down_i) / max(|v0_i|, 1e-9-guarded scale)
       subject to sum_i changed_i <= the count of stage 1.

    The values are then rounded away from the conflict (shares to 0.001, coverage to 0.0001,
    money to 0.01 million), applied to the files' own values, and the scenario solved again to
    confirm that it is feasible."""
    from pyomo.core.expr.visitor import replace_expressions

    from models.assemble import build_model
    from optimizer.solving.solve import _run, new_solver

    kinds = {k for k, w in explanation.weights.items() if w > 0}
    mutable = {"share_bound", "base_quota", "max_aid", "coverage_min", "investment_demand"}
    if PROPORTION in kinds:
        mutable.add("proportion")  # makes the budgets and the funds' big-M mutable Params too
    model = build_model(instance, scenario, mutable=mutable)
    values, params, locks = _values(model, instance, scenario, kinds)
    if not values:
        explanation.note = "the scenario sets none of the values explain may change"
        return
    n = range(len(values))
    model.value_up = pyo.Var(n, domain=pyo.NonNegativeReals, bounds=lambda m, i: (0, values[i].limit_up))
    model.value_down = pyo.Var(n, domain=pyo.NonNegativeReals, bounds=lambda m, i: (0, values[i].limit_down))
    model.value_changed = pyo.Var(n, domain=pyo.Binary)
    new_value = {i: values[i].current + model.value_up[i] - model.value_down[i] for i in n}
    substitution = {param_id: new_value[i] for param_id, i in params.items()}
    families = _PARAM_FAMILIES
    if PROPORTION in kinds:  # B[d,t] = sum_l p[l] R[d,l,t] with the proportions the new values
        families = ("budget", *_PARAM_FAMILIES)
        level_value = {values[i].column: new_value[i] for i in n if values[i].kind == PROPORTION}
        sets = model.index_sets
        for d in sets.donors:
            for t in sets.years:
                substitution[id(model.budget_amount[d, t])] = sum(
                    level_value[lvl] * pyo.value(model.revenue[d, lvl, t]) for lvl in sets.levels)
        # the funds' big-M at the largest proportions (1 each): never below the capital a plan can hold
        if model.component("fund_capital_max") is not None and len(model.fund_capital_max):
            from models.parameters import fund_capital_limits

            largest = {(d, t): sum(pyo.value(model.revenue[d, lvl, t]) for lvl in sets.levels)
                       for d in sets.donors for t in sets.years}
            for key, limit in fund_capital_limits(model, sets, largest).items():
                model.fund_capital_max[key].set_value(max(limit, pyo.value(model.fund_capital_max[key])))
    rows = []
    for family in families:
        block = model.component(family)
        if block is None:
            continue
        for con in block.values():
            if con.has_lb():
                rows.append(con.body - replace_expressions(con.lower, substitution) >= 0)
            if con.has_ub():
                rows.append(con.body - replace_expressions(con.upper, substitution) <= 0)
            con.deactivate()
    if model.component("lock") is not None and "lock" in kinds:
        for x, low, high in locks:
            if low is not None:
                rows.append(x - new_value[low] >= 0)
            if high is not None:
                rows.append(x - new_value[high] <= 0)
        model.lock.deactivate()
    model.value_rows = pyo.ConstraintList()
    for expr in rows:
        model.value_rows.add(expr)
    model.value_switch = pyo.Constraint(n, rule=lambda m, i: m.value_up[i] + m.value_down[i]
                                        <= (values[i].limit_up + values[i].limit_down) * m.value_changed[i])
    for objective in ("objective", "secondary_objective"):
        if model.component(objective) is not None:
            model.component(objective).deactivate()
    model.integer = True
    weight = [explanation.weights[v.kind] / (v.scale or (abs(v.current) if abs(v.current) > 1e-9 else 1.0))
              for v in values]
    model.fewest = pyo.Objective(expr=sum(model.value_changed[i] for i in n), sense=pyo.minimize)
    opt = new_solver()
    with progress.stage("explain: the fewest values to change"):
        status, raw = _run(opt, model, scenario, time_limit=COUNT_TIME_LIMIT)
    if status == "time_limit" and raw.incumbent_objective is None:
        # no count found in time: the L1 form alone (least weighted relative change, any count)
        model.fewest.deactivate()
        model.value_switch.deactivate()
        model.least = pyo.Objective(expr=sum(weight[i] * (model.value_up[i] + model.value_down[i]) for i in n),
                                    sense=pyo.minimize)
        with progress.stage("explain: the least change to the values (no count)"):
            status, raw = _run(opt, model, scenario)
        if status == "optimal" and raw.incumbent_objective is not None:
            explanation.note = (f"the fewest values to change were not found within {COUNT_TIME_LIMIT:g} s: the change "
                                "below is the least weighted relative change, whatever the count")
            _read_change(model, raw, values, instance, scenario, explanation)
            return
    if status not in ("optimal", "time_limit") or raw.incumbent_objective is None:
        if status == "infeasible" and _one_multiplied_value(instance, scenario, explanation, len(values)):
            return
        names = {"priority_share": "priority shares", "quota": "base quotas", "capacity": "capacities",
                 "lock": "locks", "investment": "investment demands", "coverage_floor": "the coverage floor",
                 PROPORTION: "proportions"}
        changed = ", ".join(names[k] for k in (*RELAXABLE, PROPORTION) if k in kinds)
        held = "; the priority shares are held when the proportions may change" if PROPORTION in kinds else ""
        explanation.note = (
            f"no change to the {changed} (each alone or together), nor to quota_growth_min or women_min alone, makes "
            f"this scenario feasible{held}: the conflict lies in what explain does not change (budgets, admin "
            "capacity, cadres, funds and projects) or needs several of those"
            if status == "infeasible" else f"the search for the least change stopped: {status}")
        return
    count = round(float(raw.incumbent_objective))
    explanation.count_proven = status == "optimal"
    model.fewest.deactivate()
    model.count_limit = pyo.Constraint(expr=sum(model.value_changed[i] for i in n) <= count)
    model.least = pyo.Objective(expr=sum(weight[i] * (model.value_up[i] + model.value_down[i]) for i in n),
                                sense=pyo.minimize)
    with progress.stage("explain: the least change to those values"):
        status, raw = _run(opt, model, scenario, time_limit=COUNT_TIME_LIMIT)
    if status not in ("optimal", "time_limit") or raw.incumbent_objective is None:
        explanation.note = f"the search for the least change stopped: {status}"
        return
    _read_change(model, raw, values, instance, scenario, explanation)


def _read_change(model: pyo.ConcreteModel, raw, values: list[_Value], instance: Instance, scenario: Scenario,
                 explanation: Explanation) -> None:
    """The solved change, rounded, applied and checked by solving the changed scenario."""
    n = range(len(values))
    raw.solution_loader.load_vars()
    explanation.penalty = float(raw.incumbent_objective)
    exact = {}
    for i in n:
        moved = (model.value_up[i].value or 0.0) - (model.value_down[i].value or 0.0)
        if abs(moved) > SLACK_TOLERANCE * (1 + abs(values[i].current)):
            exact[i] = values[i].current + moved
    with progress.stage("explain: checking the changed values"):
        for fine in (1.0, 1e-3):  # rounded for a planner; if that fails, nearly exact
            changes = _change_table([(values[i], _rounded(values[i], v, fine)) for i, v in exact.items()])
            explanation.changes = changes
            explanation.checked = _feasible_with(instance, scenario, changes)
            if explanation.checked:
                break
    explanation.values_considered = len(values)


# values a rule multiplies by aid (quota growth: a[t] >= (1 + g) a[t-1]; women's share of
# household aid), so that the linear search cannot move them: each is searched alone by bisection
MULTIPLIED = ("quota_growth_min", "women_min")
BISECTION_STEP = 1e-3  # the value found is a multiple of this (rounded away from the conflict)


def _one_multiplied_value(instance: Instance, scenario: Scenario, explanation: Explanation, considered: int) -> bool:
    """When no change to the linear values makes the scenario feasible: the least change to one
    of MULTIPLIED alone (the others as written), by bisection over [0, current] on the
    feasibility of the whole model; the value with the least relative change is proposed.
    Returns whether one was found."""
    best = None
    for key in MULTIPLIED:
        current = getattr(scenario.priorities, key)
        if not current or explanation.weights.get("priority_share", 1.0) <= 0 and key == "women_min":
            continue
        with progress.stage(f"explain: the least change to {key} alone"):
            if not _feasible_at(instance, scenario, key, 0.0):
                continue
            low, high = 0.0, float(current)  # feasible at low, infeasible at high
            while high - low > BISECTION_STEP:
                middle = math.floor((low + high) / 2 / BISECTION_STEP) * BISECTION_STEP
                if middle <= low:
                    break
                if _feasible_at(instance, scenario, key, middle):
                    low = middle
                else:
                    high = middle
        relative = (current - low) / current
        if best is None or relative < best[2]:
            best = (key, low, relative, current)
    if best is None:
        return False
    key, value, _, current = best
    grid = BISECTION_STEP
    changes = _change_table([(_Value("priority_share", "scenario.toml", {"section": "priorities"}, key, current,
                                     "down", current, 0.0, grid), value)])
    explanation.changes = changes
    explanation.penalty = (current - value) / current
    explanation.checked = True  # the bisection's last feasible solve was at this value
    explanation.count_proven = True
    explanation.values_considered = considered + len(MULTIPLIED)
    explanation.note = (f"{key} multiplies aid in its rule, so it is searched alone (bisection to {grid:g}), after no "
                        "change to the other values made the scenario feasible")
    return True


def _feasible_at(instance: Instance, scenario: Scenario, key: str, value: float) -> bool:
    from optimizer.solving.solve import solve

    at = scenario.override(**{f"priorities.{key}": value})
    return solve(instance.with_scenario(at), at).has_plan


def _rounded(value: _Value, exact: float, fine: float) -> float:
    step = value.grid * fine
    if value.direction == "down" or (value.direction == "both" and exact < value.current):
        return max(math.floor(exact / step + 1e-6) * step, 0.0)
    return math.ceil(exact / step - 1e-6) * step


CHANGE_COLUMNS = ["file", "section", "donor", "recipient", "instrument", "year", "column", "current", "value",
                  "change", "relative_change", "text"]


def _change_table(pairs: list[tuple[_Value, float]]) -> pd.DataFrame:
    rows = []
    for v, new in pairs:
        new = round(new, 10)
        key = v.key
        where = " ".join(str(key[c]) for c in ("donor", "recipient", "instrument", "year") if c in key)
        if v.file == "scenario.toml":
            text = f"scenario.toml [{key['section']}] {v.column}: {v.current:g} -> {new:g}"
        else:
            text = f"{v.file} {where} {v.column}: {money(v.current)} -> {money(new)} million"
        relative = (new - v.current) / abs(v.current) if v.current else math.nan
        text += f" ({'+' if new > v.current else ''}{share(relative) if v.current else money(new - v.current)})"
        rows.append({"file": v.file, "section": key.get("section"),
                     **{c: key.get(c) for c in ("donor", "recipient", "instrument", "year")},
                     "column": v.column, "current": v.current, "value": new, "change": new - v.current,
                     "relative_change": relative, "text": text})
    table = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    order = {"scenario.toml": 0, "pairs.csv": 1, "capacity.csv": 2, "recipients.csv": 3, "locks.csv": 4}
    if len(table):
        table = table.sort_values(["file", "section", "donor", "recipient", "instrument", "year", "column"],
                                  key=lambda s: s.map(order) if s.name == "file" else s, na_position="first")
    return table.reset_index(drop=True)


def scenario_overrides(changes: pd.DataFrame) -> dict[str, float]:
    """The changes to scenario.toml as dotted keys (what --set and load_instance take)."""
    return {f"{row.section}.{row.column}": float(row.value) for row in changes.itertuples()
            if row.file == "scenario.toml"}


def apply_changes(instance: Instance, changes: pd.DataFrame) -> Instance:
    """The instance with explain's changes written into its tables and scenario (what editing
    the files as the changes say would load)."""
    from optimizer.data.checks import run_checks
    from optimizer.data.errors import InvalidInstance
    from optimizer.data.schema import TABLES

    tables = {name: instance.table(name).copy() for name in TABLES}
    table_of = {"pairs.csv": "pairs", "capacity.csv": "capacity", "recipients.csv": "recipients", "locks.csv": "locks"}
    for row in changes.itertuples():
        if row.file == "scenario.toml":
            continue
        frame = tables[table_of[row.file]]
        match = pd.Series(True, index=frame.index)
        for column in ("donor", "recipient", "instrument", "year"):
            value = getattr(row, column)
            if column in frame.columns and value is not None and not (isinstance(value, float) and math.isnan(value)):
                match &= frame[column] == value
        frame.loc[match, row.column] = float(row.value)
    overrides = scenario_overrides(changes)
    scenario = instance.scenario.override(**overrides) if overrides else instance.scenario
    errors, warnings = run_checks(tables, scenario)
    if errors:
        raise InvalidInstance(errors)
    return Instance(path=instance.path, scenario=scenario, warnings=tuple(warnings), **tables)


def _feasible_with(instance: Instance, scenario: Scenario, changes: pd.DataFrame) -> bool:
    from optimizer.data.errors import InvalidInstance
    from optimizer.solving.solve import solve

    try:
        changed = apply_changes(instance.with_scenario(scenario), changes)
    except InvalidInstance:  # a value the checks refuse: not a change to propose
        return False
    return solve(changed, changed.scenario).has_plan



def _message(explanation: Explanation) -> str:
    if explanation.status != "infeasible":
        return explanation.message
    n = len(explanation.conflict)
    changed = len(explanation.changes)
    return (f"the scenario is infeasible: {n} rules conflict" if n else "the scenario is infeasible") + (
        f"; changing {changed} of the {explanation.values_considered} values explain may change makes it feasible"
        if changed else "")
