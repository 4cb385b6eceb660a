"""Ranging: how far each budget, quota, share, capacity and effect can move before the plan's
basis stops being optimal, from HiGHS's ranging (`Highs.getRanging()`), in the instance's terms.

One figure of the instance usually sits in more than one row of the model: a donor's budget
B[d,t] is the right-hand side of its budget row *and*, times the share, of its priority rows; a
pair's base quota is the bound of its quota row in every plan year; a rule's share multiplies
the budget of every group and year. HiGHS ranges one row bound or one cost at a time, so each
figure gets a column of its own in a copy of the solved LP: a column lambda fixed at 0 whose
coefficients are minus the rate at which each row bound moves with the figure (a row
`lo <= a x <= up` whose bounds move by r per unit becomes `lo <= a x - r lambda <= up`). The
copy starts from the solved basis (lambda nonbasic), so HiGHS re-solves it in no iterations,
and the bound ranging of lambda is the interval of the change in the figure over which the
basis stays primal feasible, hence optimal (a bound change leaves the reduced costs alone).
The objective is linear in the figure there, with slope lambda's reduced cost (the dual of the
direction: for a budget, the budget row's dual plus the shares' duals times the shares).

A figure that is a coefficient (people per million in the `people` rows, the fund big-M
`fund_capital_max` that follows budgets and capacities) moves a column's coefficient. For a
column held at its value (nonbasic, or basic in rows whose slack is basic) that is a bound
change by coefficient change x value, plus, for the effects, a change of the column's reduced
cost, which is HiGHS's cost ranging of the segment column: an effect change Delta moves the
segment's reduced cost by pi Delta with pi the dual of the recipient's `people` row (what one
more person counted there is worth in the objective). The table says `exact = False` where
the basis itself would change with the figure (a segment or fund column basic in a binding
row: for example a segment of a recipient whose poor-population cap binds); that interval is
then a first-order guide only.

For a MIP plan the ranging is that of the LP with every whole decision fixed at the plan
(as its duals are); for the equity objective it is the second, people-lifted stage's LP,
whose objective is what `objective_at_lower` and `objective_at_upper` report.

Table `ranging`: family, rule, donor, recipient, instrument, year, segment, parameter, value,
lower, upper, slope, objective_at_lower, objective_at_upper, exact. A quota or share row with
a blank year (and, for a rule's share, a blank donor) moves the figure in every year (every
group) at once, as the instance's figure does; the rows with a year move that row alone.
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

RANGING_COLUMNS = ["family", "rule", "donor", "recipient", "instrument", "year", "segment", "parameter", "value",
                   "lower", "upper", "slope", "objective_at_lower", "objective_at_upper", "exact"]
# rules whose bound is share * budget of the group (women_min's share is a coefficient instead)
BUDGET_SHARE_RULES = ("enterprise_finance_min", "household_finance_min", "public_goods_min", "public_goods_max",
                      "human_resources_min", "special_aid_min")


def empty_ranging() -> pd.DataFrame:
    return _typed(pd.DataFrame(columns=RANGING_COLUMNS))


@dataclass
class _Figure:
    """One figure of the instance and how the model's rows move with it (per unit)."""

    key: dict[str, Any]
    parameter: str
    value: float
    rhs: dict[int, float] = field(default_factory=dict)  # row -> rate of its bounds
    coefficients: list[tuple[int, int, float]] = field(default_factory=list)  # (row, column, rate of a[row, column])
    effect: tuple[int, int, int, float] | None = None  # an effect: people row, segment column, z column, z's sign


class RangingUnavailable(RuntimeError):
    """The solved LP gives no basis to range (reported as a warning, never a failure)."""


def ranging_table(opt, model: pyo.ConcreteModel) -> pd.DataFrame:
    """The ranging table of the plan the solver `opt` (Pyomo's persistent HiGHS) has just solved.

    Call it right after a solve with a plan. Works on a copy of HiGHS's model; neither the
    solver object nor the Pyomo model is changed.
    """
    import highspy

    h = opt._solver_model
    rows = opt._pyomo_con_to_solver_con_map
    cols = opt._pyomo_var_to_solver_var_map
    lp = h.getLp()
    basis = h.getBasis()
    with quiet():  # HiGHS's banner, on a first Highs()
        copy = highspy.Highs()
    copy.setOptionValue("output_flag", False)
    progress.watch(copy)
    lp.integrality_ = []  # a MIP's plan: the LP with its whole decisions held
    copy.passModel(lp)
    if model.integer:
        from optimizer.solving.mip import discrete_vars

        for v in discrete_vars(model):
            if id(v) in cols and v.value is not None:
                value = float(round(v.value))
                copy.changeColBounds(cols[id(v)], value, value)
    n_cols = lp.num_col_
    # the plan's column values, to turn coefficient changes into bound changes
    _solve(copy, basis if basis.valid else None)
    x0 = np.asarray(copy.getSolution().col_value)
    start = copy.getBasis()
    matrix = _columns(copy.getLp())

    figures = _figures(model, rows, cols, matrix)
    for figure in figures:
        entries: dict[int, float] = {}
        for r, rate in figure.rhs.items():
            entries[r] = entries.get(r, 0.0) - rate
        for r, c, rate in figure.coefficients:
            entries[r] = entries.get(r, 0.0) + rate * x0[c]
        entries = {r: a for r, a in entries.items() if a != 0.0}
        index = np.array(sorted(entries), dtype=np.int32)
        copy.addCol(0.0, 0.0, 0.0, len(index), index, np.array([entries[r] for r in index], dtype=np.double))
    start.col_status = list(start.col_status)[:n_cols] + [highspy.HighsBasisStatus.kLower] * len(figures)
    _solve(copy, start)
    status, ranges = copy.getRanging()
    if status != highspy.HighsStatus.kOk or not ranges.valid:
        raise RangingUnavailable("HiGHS could not range the plan's LP")
    objective = copy.getInfo().objective_function_value
    # HiGHS's attributes copy a whole array on every access: read each once
    solved = _Solved.read(copy, ranges)
    records = []
    for offset, figure in enumerate(figures):
        c = n_cols + offset
        lo, hi = solved.bound_dn[c], solved.bound_up[c]
        slope = solved.col_dual[c]
        if figure.effect is not None:
            lo, hi, exact = _effect_interval(figure, lo, hi, solved, matrix)
        else:
            # a coefficient change is a bound change while its column stays put: the row's slack
            # is basic (dual 0), or the column is nonbasic and fixed or its row's dual is 0
            exact = all(solved.row_basic[r]
                        or not solved.col_basic[col] and (solved.fixed[col] or solved.row_dual[r] == 0)
                        for r, col, _ in figure.coefficients)
        records.append({**figure.key, "parameter": figure.parameter, "value": _round(figure.value),
                        "lower": _end(figure.value + lo), "upper": _end(figure.value + hi), "slope": _round(slope),
                        "objective_at_lower": _objective_at(objective, slope, lo),
                        "objective_at_upper": _objective_at(objective, slope, hi), "exact": bool(exact)})
    if not records:
        return empty_ranging()
    return _typed(pd.DataFrame([{c: r.get(c) for c in RANGING_COLUMNS} for r in records], columns=RANGING_COLUMNS))


def _solve(copy, basis) -> None:
    """Solve the copy by the simplex method, from `basis` when there is one."""
    import highspy

    copy.setOptionValue("solver", "simplex")
    copy.setOptionValue("presolve", "off")
    if basis is not None:
        basis.valid = True
        copy.setBasis(basis)
    with interrupt.solving(copy):
        copy.run()
        if copy.getModelStatus() != highspy.HighsModelStatus.kOptimal or not copy.getBasis().valid:
            # a start basis HiGHS could not use: solve from scratch
            copy.clearSolver()
            copy.run()
    if copy.getModelStatus() != highspy.HighsModelStatus.kOptimal or not copy.getBasis().valid:
        raise RangingUnavailable(f"the plan's LP did not re-solve to an optimal basis ({copy.getModelStatus().name})")


def _columns(lp) -> "_Columns":
    """HiGHS's constraint matrix by columns."""
    import highspy

    a = lp.a_matrix_
    start, index, value = np.asarray(a.start_), np.asarray(a.index_), np.asarray(a.value_)
    if a.format_ == highspy.MatrixFormat.kRowwise:  # (HiGHS keeps it by columns; just in case)
        rows = np.repeat(np.arange(lp.num_row_), np.diff(start))
        order = np.argsort(index, kind="stable")
        index, value = rows[order], value[order]
        start = np.concatenate([[0], np.cumsum(np.bincount(np.asarray(a.index_), minlength=lp.num_col_))])
    return _Columns(start, index, value)


@dataclass
class _Columns:
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray

    def rows(self, column: int) -> np.ndarray:
        return self.index[self.start[column]:self.start[column + 1]]

    def coefficient(self, row: int, column: int) -> float:
        entries = self.rows(column) == row
        return float(self.value[self.start[column]:self.start[column + 1]][entries].sum())


@dataclass
class _Solved:
    """The ranged copy's solution, basis and ranging as numpy arrays."""

    col_dual: np.ndarray
    row_dual: np.ndarray
    col_basic: np.ndarray
    row_basic: np.ndarray
    fixed: np.ndarray
    col_cost: np.ndarray
    cost_up: np.ndarray
    cost_dn: np.ndarray
    bound_up: np.ndarray
    bound_dn: np.ndarray

    @classmethod
    def read(cls, copy, ranges) -> "_Solved":
        import highspy

        solution, basis, lp = copy.getSolution(), copy.getBasis(), copy.getLp()
        basic = highspy.HighsBasisStatus.kBasic
        return cls(col_dual=np.asarray(solution.col_dual), row_dual=np.asarray(solution.row_dual),
                   col_basic=np.array([status == basic for status in basis.col_status]),
                   row_basic=np.array([status == basic for status in basis.row_status]),
                   fixed=np.asarray(lp.col_lower_) == np.asarray(lp.col_upper_), col_cost=np.asarray(lp.col_cost_),
                   cost_up=np.asarray(ranges.col_cost_up.value_), cost_dn=np.asarray(ranges.col_cost_dn.value_),
                   bound_up=np.asarray(ranges.col_bound_up.value_), bound_dn=np.asarray(ranges.col_bound_dn.value_))


def _effect_interval(figure: _Figure, lo: float, hi: float, solved: _Solved, matrix: "_Columns"):
    """An effect's interval: lambda's (the people counted move with the segment's aid) and
    the segment column's cost ranging (the segment stays worth using, or not), with the cost
    change read as pi Delta, pi the value of one more person counted at the recipient."""
    row, s, z_col, sign = figure.effect
    pi = sign * solved.row_dual[row]
    up = solved.cost_up[s] - solved.col_cost[s]
    dn = solved.cost_dn[s] - solved.col_cost[s]
    if pi > 0:
        lo, hi = max(lo, dn / pi), min(hi, up / pi)
    elif pi < 0:
        lo, hi = max(lo, up / pi), min(hi, dn / pi)
    # exact unless the segment is basic and the recipient's people z sits in a binding row
    # besides `people` (its poor-population cap, an equity row) or is itself nonbasic
    exact = not solved.col_basic[s]
    if not exact and solved.col_basic[z_col]:
        exact = all(r == row or solved.row_basic[r] for r in matrix.rows(z_col))
    return lo, hi, bool(exact)


def _figures(model: pyo.ConcreteModel, rows: dict, cols: dict, matrix: "_Columns") -> list[_Figure]:
    sets = model.index_sets
    figures: list[_Figure] = []

    def row_of(component: str, index) -> int | None:
        block = model.component(component)
        if block is None or index not in block:
            return None
        return rows.get(block[index])

    priority = model.component("priority_share")
    share_rows = list(priority.keys()) if priority is not None else []
    fund_max = _fund_capital_rates(model, rows, cols)

    # budgets: the budget row, share * B in the group's priority rows, and the funds' big-M
    for d in sets.donors:
        for t in sets.years:
            budget = row_of("budget", (d, t))
            if budget is None:
                continue
            figure = _Figure({"family": "budget", "donor": d, "year": t}, "budget",
                             pyo.value(model.budget_amount[d, t]), rhs={budget: 1.0})
            for rule, g, year in share_rows:
                if year == t and rule in BUDGET_SHARE_RULES and g in (d, "*"):
                    figure.rhs[rows[priority[rule, g, year]]] = pyo.value(model.share_bound[rule])
            figure.coefficients += fund_max.get(("budget", d, t), [])
            figures.append(figure)

    # quotas: a pair's base quota in every year, and each year's row alone
    quota = model.component("quota")
    for d, w in sets.pairs:
        by_year = {t: rows[quota[d, w, t]] for t in sets.years if quota is not None and (d, w, t) in quota}
        if not by_year:
            continue
        value = pyo.value(model.base_quota[d, w])
        figures.append(_Figure({"family": "quota", "donor": d, "recipient": w}, "base_quota", value,
                               rhs=dict.fromkeys(by_year.values(), 1.0)))
        figures += [_Figure({"family": "quota", "donor": d, "recipient": w, "year": t}, "base_quota", value, rhs={r: 1.0})
                    for t, r in by_year.items()]

    # priority shares: a rule's share in every group and year, and each row alone
    budget_of = {}
    for rule, g, t in share_rows:
        group = sets.donors if g == "*" else [g]
        budget_of[rule, g, t] = sum(pyo.value(model.budget_amount[d, t]) for d in group)
    for rule in dict.fromkeys(r for r, _, _ in share_rows):
        if rule not in BUDGET_SHARE_RULES:
            continue
        figures.append(_Figure({"family": "priority_share", "rule": rule}, "share", pyo.value(model.share_bound[rule]),
                               rhs={rows[priority[key]]: budget_of[key] for key in share_rows if key[0] == rule}))
    for rule, g, t in share_rows:
        key = {"family": "priority_share", "rule": rule, "donor": g, "year": t}
        r = rows[priority[rule, g, t]]
        if rule in BUDGET_SHARE_RULES:
            figures.append(_Figure(key, "share", pyo.value(model.share_bound[rule]), rhs={r: budget_of[rule, g, t]}))
        else:  # women_min: the share is a coefficient; range the row's own right-hand side instead
            figures.append(_Figure(key, "women_aid_over_share", 0.0, rhs={r: 1.0}))

    # capacities: max_aid (and a fund's big-M when the capacities set it)
    for w, k, t in sets.capacity_keys:
        r = row_of("capacity", (w, k, t))
        if r is not None:
            figures.append(_Figure({"family": "capacity", "recipient": w, "instrument": k, "year": t}, "max_aid",
                                   pyo.value(model.max_aid[w, k, t]), rhs={r: 1.0},
                                   coefficients=fund_max.get(("max_aid", w, k, t), [])))

    # effects: people per million of each segment, a coefficient of s[w,k,j] in people[w] (a
    # fund line in the breakpoint form has no segment columns: solve builds the segment form
    # when asked for ranging, models/fund_effects.py)
    for w, k, j in sets.segments:
        r = row_of("people", w)
        s = cols.get(id(model.s[w, k, j]))
        z = cols.get(id(model.z[w]))
        if r is None or s is None or z is None:
            continue
        sign = float(np.sign(matrix.coefficient(r, z)))  # z's sign in its people row
        # a[people, s] = -sign * e: the row's body moves by -sign * s per unit of e
        figure = _Figure({"family": "effects", "recipient": w, "instrument": k, "segment": j}, "people_per_million",
                         pyo.value(model.people_per_million[w, k, j]), coefficients=[(r, s, -sign)],
                         effect=(r, s, z, sign))
        figures.append(figure)
    return figures


def _fund_capital_rates(model: pyo.ConcreteModel, rows: dict, cols: dict) -> dict[tuple, list]:
    """How the funds' big-M (fund_capital_max, a coefficient of y in fund_max) follows the
    figures it is made of: all the budgets of the recipient's donors, or the instrument's
    capacities when every plan year has one and they are the smaller
    (models.parameters.fund_capital_limits). Keyed by ("budget", d, t) or ("max_aid", w, k, t);
    values (fund_max row, y column, rate of y's coefficient, which is -M)."""
    sets = model.index_sets
    block = model.component("fund_max")
    if block is None or not sets.fund_keys:
        return {}
    donors_of: dict[str, list[str]] = {}
    for d, w in sets.pairs:
        donors_of.setdefault(w, []).append(d)
    capacity = set(sets.capacity_keys)
    rates: dict[tuple, list] = {}
    for w, k in sets.fund_keys:
        r, y = rows.get(block[w, k]), cols.get(id(model.y[w, k]))
        if r is None or y is None:
            continue
        budgets = sum(pyo.value(model.budget_amount[d, t]) for d in donors_of.get(w, ()) for t in sets.years)
        capped = all((w, k, t) in capacity for t in sets.years)
        limit = sum(pyo.value(model.max_aid[w, k, t]) for t in sets.years) if capped else math.inf
        if budgets <= limit:
            for d in donors_of.get(w, ()):
                for t in sets.years:
                    rates.setdefault(("budget", d, t), []).append((r, y, -1.0))
        else:
            for t in sets.years:
                rates.setdefault(("max_aid", w, k, t), []).append((r, y, -1.0))
    return rates


def _objective_at(objective: float, slope: float, delta: float) -> float:
    if slope == 0 or delta == 0:
        return _round(objective)
    if math.isinf(delta):
        return math.copysign(math.inf, slope * delta)
    return _round(objective + slope * delta)


def _end(value: float) -> float:
    return value if math.isinf(value) else _round(value)


def _round(value: float) -> float:
    value = round(float(value), 9)
    return 0.0 if value == 0 else value


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    table = table.astype({"year": "Int64", "segment": "Int64", "exact": bool})
    for column in ("rule", "donor", "recipient", "instrument"):
        table[column] = table[column].astype(object).where(table[column].notna(), None)
    return table
