"""Why is a scenario infeasible: an irreducible infeasible subset, and the least relaxation.

`explain(instance)` answers in two parts, both in the instance's own terms:

1. **Conflict**: HiGHS's irreducible infeasible subset (IIS) of the LP: a set of rows (and
   variable bounds) that cannot all hold, while dropping any one of them lets the others hold.
   Each row maps back through its family's index (`FAMILY_INDEX`) to the budget, priority,
   quota, capacity or lock it came from, with the figures behind it. A MIP is explained
   through its LP relaxation; when the relaxation is feasible the conflict lies in the whole
   decisions (fund minimums, projects, cadres) and only part 2 applies.
2. **Least relaxation** (elastic solve): every row of a relaxable family gets a slack on each
   side it has,

       lower[r] - s_lo[r] <= body[r] <= upper[r] + s_up[r],     s_lo, s_up >= 0,

   and the model minimises sum_r weight[family(r)] * (s_lo[r] + s_up[r]) (million yuan, or the
   row's own unit) over the same rules otherwise. Budgets, the effect and the whole-decision
   definitions are never relaxed: a donor spends its budget and aid lifts the people it lifts.
   The non-zero slacks are the smallest change to the planner's priorities, quotas,
   capacities and locks that makes the scenario feasible, and each is also given as the
   scenario or table value that would do it.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.common.tee import capture_output

from optimizer.solving import interrupt, progress
from optimizer.data.io import Instance
from optimizer.solving.results import FAMILY_INDEX
from optimizer.data.schema import Scenario

# Families a planner sets, and so may relax (weight 1 per unit of slack by default).
RELAXABLE = ("priority_share", "quota", "quota_growth", "capacity", "lock", "investment", "admin_capacity_limit",
             "coverage_floor", "equity_ratio")
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
class Relaxation:
    """One non-zero slack of the elastic solve, and the value that would remove the need."""

    family: str
    index: dict[str, Any]
    side: str
    amount: float
    current: float
    relaxed: float
    text: str


@dataclass
class Explanation:
    status: str  # feasible | infeasible | unknown
    message: str
    conflict: list[Member] = field(default_factory=list)
    bounds: list[str] = field(default_factory=list)  # variable bounds in the IIS, in words
    headline: str = ""
    relaxations: list[Relaxation] = field(default_factory=list)
    penalty: float | None = None
    changes: list[Change] = field(default_factory=list)  # the least relaxation as values in the files
    note: str = ""
    weights: dict[str, float] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        index_columns = ["rule", "donor", "recipient", "instrument", "year"]
        conflict = pd.DataFrame(
            [{"family": c.family, **{k: c.index.get(k) for k in index_columns}, "side": c.side, "bound": c.bound,
              "text": c.text} for c in self.conflict],
            columns=["family", *index_columns, "side", "bound", "text"])
        relaxation = pd.DataFrame(
            [{"family": r.family, **{k: r.index.get(k) for k in index_columns}, "side": r.side, "amount": r.amount,
              "current": r.current, "relaxed": r.relaxed, "text": r.text} for r in self.relaxations],
            columns=["family", *index_columns, "side", "amount", "current", "relaxed", "text"])
        return {"conflict": conflict, "relaxation": relaxation}


def explain(instance: Instance, scenario: Scenario | None = None, weights: dict[str, float] | None = None,
            **overrides: Any) -> Explanation:
    """Explain why a scenario (the instance's own by default, with dotted-key overrides) is
    infeasible: the IIS of its LP and the least weighted relaxation. `weights` sets the price
    of a unit of slack per family (default 1 for every family in RELAXABLE; a family left
    out of RELAXABLE is never relaxed)."""
    from models.assemble import build_model, model_kind  # see optimizer/solving/solve.py on this import
    from optimizer.solving.solve import new_solver

    scenario = scenario or instance.scenario
    if overrides:
        scenario = scenario.override(**overrides)
    # feasibility does not depend on how a plan is spread over the years: no steady stage rows
    scenario = scenario.override(**{"scenario.year_profile": "free"})
    instance = instance.with_scenario(scenario)
    unknown = set(weights or {}) - set(RELAXABLE)
    if unknown:
        raise ValueError(f"cannot weight {sorted(unknown)}: the relaxable families are {', '.join(RELAXABLE)}")
    weights = {**dict.fromkeys(RELAXABLE, 1.0), **(weights or {})}
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
    with progress.stage("explain: the least relaxation"):
        _least_relaxation(build_model(instance, scenario), instance, scenario, explanation)
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
    with capture_output(output=io.StringIO(), capture_fd=True):  # HiGHS logs its filters to stdout
        iis = irreducible_subset(opt._solver_model.getLp())  # the persistent interface's LP
    if iis is None:
        explanation.headline = "HiGHS found no irreducible infeasible subset (see the least relaxation below)"
        return
    for index, bound in zip(iis.rows, iis.row_bounds):
        explanation.conflict.append(_member(rows[index], int(bound), instance))
    explanation.conflict.sort(key=lambda c: (_FAMILY_ORDER.get(c.family, 99), str(c.index)))
    explanation.bounds = sorted({_bound_text(variables[columns[index]], int(bound))
                                 for index, bound in zip(iis.columns, iis.column_bounds)})
    explanation.headline = _headline(explanation.conflict)


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
    return family, dict(zip(FAMILY_INDEX.get(family, ()), raw))


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
    return f"{value:,.6g}"


def describe(family: str, index: dict[str, Any], side: str, value: float, instance: Instance) -> str:
    """One rule in the instance's own words, with the data behind it."""
    g = index.get
    at_least = side == "lower"
    scenario = instance.scenario
    if family == "budget":
        parts = [f"{scenario.proportion.model_dump()[lvl]:g} x {lvl} revenue {_money(r)}"
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
        return (f"coverage floor {g('recipient')}: at least {_money(value)} people lifted ({floor:g} of its poor "
                f"population, scenario.toml coverage_min)")
    if family == "poor_population_cap":
        return f"poor population {g('recipient')}: at most {_money(value)} people can be lifted (recipients.csv)"
    if family == "admin_capacity_limit":
        return (f"admin capacity {g('recipient')}: at most {_money(value)} funds (recipients.csv admin_capacity), "
                f"plus what cadres add")
    if family == "fund_min":
        return (f"fund minimum {g('recipient')} {g('instrument')}: an established fund holds at least "
                f"{_money(_fund_floor(instance, g('instrument')))} million over the plan "
                f"(instruments.csv min_fund_size, setup_cost)")
    if family == "fund_max":
        return (f"fund capital {g('recipient')} {g('instrument')}: only an established fund holds capital, at most "
                f"what its donors' budgets (and capacities) allow over the plan")
    where = " ".join(str(v) for v in index.values())
    sense = {"lower": ">=", "upper": "<=", "both": "="}[side]
    return f"{family} {where}: {sense} {_money(value)}"


def _fund_floor(instance: Instance, instrument: str) -> float:
    row = instance.instruments.set_index("instrument").loc[instrument]
    return float(max(row["min_fund_size"], row["setup_cost"]))


def _revenue(instance: Instance, donor: str, year: int) -> list[tuple[str, float]]:
    rev = instance.revenue
    rows = rev[(rev["donor"] == donor) & (rev["year"] == year)]
    return [(lvl, float(r)) for lvl, r in zip(rows["level"], rows["revenue"])]


def _bound_text(var, bound: int) -> str:
    name = var.parent_component().local_name
    if name == "x":
        return "aid is never negative"
    if name == "s":
        w, k, j = var.index()
        return f"segment {j} of {w} {k} holds at most its width (effects.csv)"
    if name in ("y", "v"):
        return f"{var.name} is between 0 and 1"
    if name == "c":
        return f"cadres {var.name} within cadres.csv min and max"
    return f"bound of {var.name}"


def _headline(conflict: list[Member]) -> str:
    """A one-line summary when the conflict is one budget against rules of one kind."""
    budgets = [c for c in conflict if c.family == "budget"]
    others = [c for c in conflict if c.family != "budget"]
    if len(budgets) != 1 or not others:
        return f"these {len(conflict)} rules cannot all hold"
    budget = budgets[0]
    who = f"{budget.index['donor']} {budget.index['year']}"
    if all(c.side in ("lower", "both") for c in others) and all(c.bound is not None for c in others):
        asked = sum(c.bound for c in others)
        names = " + ".join(f"{_short(c)} {_money(c.bound)}" for c in others)
        return f"{who}: {names} = {_money(asked)} million exceed the whole budget of {_money(budget.bound)} million"
    if all(c.side == "upper" for c in others):
        allowed = sum(c.bound for c in others)
        return (f"{who}: the budget of {_money(budget.bound)} million must be spent, but {len(others)} limits let "
                f"it spend at most {_money(allowed)} million")
    return f"{who}: the budget of {_money(budget.bound)} million cannot meet these {len(others)} rules together"


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


def _least_relaxation(model: pyo.ConcreteModel, instance: Instance, scenario: Scenario,
                      explanation: Explanation) -> None:
    """Solve the elastic model (see the module docstring) and record its non-zero slacks."""
    from optimizer.solving.solve import _run, new_solver

    rows = []
    for family, weight in explanation.weights.items():
        block = model.component(family)
        if block is None or not isinstance(block, pyo.Constraint):
            continue
        for con in block.values():
            rows.append((family, weight, con))
    keys = range(len(rows))
    model.slack_lower = pyo.Var(keys, domain=pyo.NonNegativeReals)
    model.slack_upper = pyo.Var(keys, domain=pyo.NonNegativeReals)
    for i, (_, _, con) in enumerate(rows):
        if not con.has_lb():
            model.slack_lower[i].fix(0)
        if not con.has_ub():
            model.slack_upper[i].fix(0)
    model.elastic = pyo.Constraint(keys, rule=lambda m, i: (
        None if not rows[i][2].has_lb() else rows[i][2].lower,
        rows[i][2].body + m.slack_lower[i] - m.slack_upper[i],
        None if not rows[i][2].has_ub() else rows[i][2].upper))
    for _, _, con in rows:
        con.deactivate()
    model.objective.deactivate()
    if model.component("secondary_objective") is not None:
        model.secondary_objective.deactivate()
    model.elastic_penalty = pyo.Objective(
        expr=sum(w * (model.slack_lower[i] + model.slack_upper[i]) for i, (_, w, _) in enumerate(rows)),
        sense=pyo.minimize)
    opt = new_solver()
    status, raw = _run(opt, model, scenario)
    if status not in ("optimal", "time_limit") or raw.incumbent_objective is None:
        explanation.note = (
            "no relaxation of the priorities, quotas, capacities and locks makes this scenario feasible: the budgets "
            "cannot be spent on the pairs and instruments given (check pairs.csv, effects and the whole decisions)"
            if status == "infeasible" else f"the elastic solve stopped: {status}")
        return
    raw.solution_loader.load_vars()
    explanation.penalty = float(raw.incumbent_objective)
    for i, (family, _, con) in enumerate(rows):
        for side, slack in (("lower", model.slack_lower[i].value or 0.0), ("upper", model.slack_upper[i].value or 0.0)):
            bound = con.lower if side == "lower" else con.upper
            if bound is not None and slack > SLACK_TOLERANCE * (1 + abs(pyo.value(bound))):
                explanation.relaxations.append(_relaxation(family, con, side, slack, model, instance))
    explanation.relaxations.sort(key=lambda r: (_FAMILY_ORDER.get(r.family, 99), str(r.index)))
    explanation.changes = _changes(explanation.relaxations, instance)


def _relaxation(family: str, con, side: str, slack: float, model: pyo.ConcreteModel, instance: Instance) -> Relaxation:
    _, index = _family_and_index(con)
    current = pyo.value(con.lower if side == "lower" else con.upper)
    relaxed = current - slack if side == "lower" else current + slack
    g = index.get
    if family == "priority_share" and g("rule") != "women_min":
        share = getattr(instance.scenario.priorities, g("rule"))
        budget = current / share if share else math.nan
        current, relaxed = share, relaxed / budget if budget else math.nan
        who = "all donors" if g("donor") == "*" else g("donor")
        text = (f"{g('rule')} for {who} {g('year')}: {current:g} -> {relaxed:.6g} "
                f"({_money(slack)} million of its {_money(budget)} million budget)")
    elif family == "priority_share":
        text = f"women_min for {g('donor')} {g('year')}: {_money(slack)} million less women-targeting aid"
    else:
        label = describe(family, index, side, current, instance).split(":")[0]
        unit = {"admin_capacity_limit": "funds", "coverage_floor": "people"}.get(family, "million")
        verb = "lower" if side == "lower" else "raise"
        text = f"{label}: {verb} {_money(current)} -> {_money(relaxed)} ({_money(slack)} {unit})"
    return Relaxation(family, index, side, slack, current, relaxed, text)


@dataclass
class Change:
    """A value in the instance's files that, changed so, removes the need for a relaxation."""

    file: str
    key: dict[str, Any]
    column: str
    current: float
    value: float

    def __str__(self) -> str:
        where = ", ".join(f"{k} {v}" for k, v in self.key.items())
        return f"{self.file} [{where}] {self.column}: {self.current:g} -> {self.value:g}"


def _floor(value: float) -> float:
    return math.floor(value * 1e6 + 1e-9) / 1e6


def _ceil(value: float) -> float:
    return math.ceil(value * 1e6 - 1e-9) / 1e6


def _changes(relaxations: list[Relaxation], instance: Instance) -> list[Change]:
    """The least relaxation as values in the instance's files. A share is one value for every
    donor and year, a quota one value for every year and an investment demand one value for
    every year, so each moves as far as its most demanding row needs (rounded to 1e-6, away
    from the conflict, so that the value written is enough)."""
    changes: dict[tuple, Change] = {}

    def keep(key: tuple, change: Change, loosest) -> None:
        if key in changes:
            change.value = loosest(changes[key].value, change.value)
        changes[key] = change

    for r in relaxations:
        g = r.index.get
        if r.family == "priority_share" and g("rule") != "women_min":
            rule = g("rule")
            up = rule.endswith("_max")
            keep(("share", rule), Change("scenario.toml", {"section": "priorities"}, rule, r.current,
                                         _ceil(r.relaxed) if up else max(_floor(r.relaxed), 0.0)), max if up else min)
        elif r.family == "quota":
            key = {"donor": g("donor"), "recipient": g("recipient")}
            keep(("quota", *key.values()), Change("pairs.csv", key, "base_quota", r.current,
                                                 max(_floor(r.relaxed), 0.0)), min)
        elif r.family == "capacity":
            key = {"recipient": g("recipient"), "instrument": g("instrument"), "year": g("year")}
            keep(("capacity", *key.values()), Change("capacity.csv", key, "max_aid", r.current, _ceil(r.relaxed)), max)
        elif r.family == "lock":
            key = {"donor": g("donor"), "recipient": g("recipient"), "instrument": g("instrument"), "year": g("year")}
            column = _lock_column(instance, key, r.side)
            keep(("lock", *key.values(), column), Change("locks.csv", key, column, r.current,
                                                        _floor(r.relaxed) if r.side == "lower" else _ceil(r.relaxed)),
                 min if r.side == "lower" else max)
        elif r.family == "investment":
            key = {"recipient": g("recipient")}
            keep(("investment", g("recipient")), Change("recipients.csv", key, "investment_demand", r.current,
                                                        _ceil(r.relaxed)), max)
        elif r.family == "coverage_floor":
            poor = float(instance.recipients.set_index("recipient").at[g("recipient"), "poor_population"])
            keep(("coverage",), Change("scenario.toml", {"section": "priorities"}, "coverage_min",
                                       instance.scenario.priorities.coverage_min,
                                       max(_floor(r.relaxed / poor), 0.0)), min)
        elif r.family == "admin_capacity_limit":
            key = {"recipient": g("recipient")}
            keep(("admin", g("recipient")), Change("recipients.csv", key, "admin_capacity", r.current,
                                                  math.ceil(r.relaxed - 1e-9)), max)
    return list(changes.values())


def _lock_column(instance: Instance, key: dict[str, Any], side: str) -> str:
    locks = instance.locks
    row = locks[(locks["donor"] == key["donor"]) & (locks["recipient"] == key["recipient"])
                & (locks["instrument"] == key["instrument"]) & (locks["year"] == key["year"])]
    if len(row) and not pd.isna(row["aid"].iloc[0]):
        return "aid"
    return "min_aid" if side == "lower" else "max_aid"


def _message(explanation: Explanation) -> str:
    if explanation.status != "infeasible":
        return explanation.message
    n = len(explanation.conflict)
    return (f"the scenario is infeasible: {n} rules conflict" if n else "the scenario is infeasible") + (
        f"; the least relaxation moves {len(explanation.relaxations)} of them" if explanation.relaxations else "")
