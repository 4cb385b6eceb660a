"""The steady stage: among the plans as good as the one solved, the one whose funding lines
follow their donors' yearly budgets (models/steadiness.py states the rows and objective).

It runs on a copy of HiGHS's model, so the solver object keeps the first stage's LP and basis
(ranging, explain and a study's warm re-solves start from there). The set of optimal plans is
described without an objective row: with the first stage's optimal duals y and reduced costs
r, a feasible plan is optimal exactly when it is complementary to them (complementary
slackness), that is when every column with r_j != 0 stays at the bound it sits at and every row
with y_i != 0 stays at its active bound. Fixing those is exact, and at county scale it leaves
HiGHS a far smaller LP than holding "objective >= its optimum" by a dense row: most flows are
0 with a non-zero reduced cost, and the dense row made interior point's crossover run for
minutes at 800 counties. When the solver has no duals to use (a MIP stopped by its limit), the
dense row is used instead. The first stage's objective is re-evaluated on the steady plan and
the stage is refused if it moved by more than OBJECTIVE_TOLERANCE. A fresh stage leaves its
deep-shortfall rows and the first stage's free rows out of its LP and adds those its plan
misses (ROWS_AS_NEEDED: the same optimum, a smaller LP; steady_plan says why).

Under a solve that keeps its plans (a StopRequest; `ewppt solve`), a stop in this stage ends
it with status "stopped" and the first stage's plan stays loaded.

A live plan (the workbench) keeps the stage's HiGHS between its re-solves (`SteadyCopy`): its
bounds and moved coefficients are changed in place and the simplex method starts from the last
basis, instead of a new LP solved by interior point on every knob change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from models.steadiness import (DECISION_TIE, DEEP_SHORTFALL, SHORTFALL_WEIGHT, TIE_BREAK, profile_lag, profile_share,
                               tie_weight)
from optimizer.solving import interrupt, progress
from optimizer.solving.quiet import quiet

ROWS_AS_NEEDED = True  # a fresh stage adds deep-shortfall rows and the first stage's free rows only where its plan needs them
ZERO_DUAL = 1e-9  # a reduced cost or dual at most this (relative to the largest) counts as 0
OBJECTIVE_TOLERANCE = 1e-7  # the steady plan keeps the first objective to this relative change


@dataclass
class SteadyOutcome:
    status: str  # HiGHS's status of the stage: optimal, time_limit, numerical, ..., or stopped
    columns_fixed: int = 0
    rows_fixed: int = 0
    columns_added: int = 0
    rows_added: int = 0
    objective_change: float = 0.0


def steady_plan(opt, model: pyo.ConcreteModel, scenario, time_limit: float,
                reuse: "SteadyCopy | None" = None) -> SteadyOutcome:
    """Load into `model` the steadiest of the plans as good as the one HiGHS (`opt`'s, Pyomo's
    persistent HiGHS) has just solved; a MIP's whole decisions stay at the plan's values. The
    plan loaded stays when the stage does not end optimal.

    `reuse` (a SteadyCopy held by the caller across re-solves of the same model, as a live
    plan does) keeps the stage's HiGHS between solves: its bounds and coefficients are moved to
    this solve's and it starts from its last basis, instead of a new LP each time."""
    import highspy

    keep = interrupt.keeps_plans()  # a stop here keeps the first stage's plan (no exception)

    h = opt._solver_model
    cols = opt._pyomo_var_to_solver_var_map
    lp = h.getLp()
    n_cols = lp.num_col_
    better = 1.0 if lp.sense_ == highspy.ObjSense.kMaximize else -1.0  # the direction the objective improves
    costs = np.array(lp.col_cost_, dtype=float)  # a copy: _copy replaces the LP's arrays
    col_lower, col_upper = np.asarray(lp.col_lower_, dtype=float).copy(), np.asarray(lp.col_upper_, dtype=float).copy()
    row_lower, row_upper = np.asarray(lp.row_lower_, dtype=float).copy(), np.asarray(lp.row_upper_, dtype=float).copy()
    solution = h.getSolution()
    solved = h.getModelStatus() == highspy.HighsModelStatus.kOptimal and solution.value_valid
    by_column = None  # the model's variable of each column, when read
    if model.integer:  # the plan is in the model's variables (optimizer.solving.mip); HiGHS may hold another solve
        by_column = _vars_by_column(model, cols, n_cols)
        plan = np.array([_value(v) for v in by_column])
        from optimizer.solving.mip import discrete_vars

        held_already = True  # HiGHS's LP has the whole decisions held at the plan's values already
        for v in discrete_vars(model):  # the LP with its whole decisions held at the plan
            if id(v) in cols and v.value is not None:
                j = cols[id(v)]
                value = float(round(v.value))
                held_already &= col_lower[j] == value and col_upper[j] == value
                col_lower[j] = col_upper[j] = value
        # HiGHS holds the plan, or an optimal basic solution of the very LP the copy below would
        # solve for its duals (a plan of branch and bound, whose duals were read from that LP):
        # any optimal dual describes the same optimal set, so that LP is not solved twice
        usable = solved and solution.dual_valid and (
            held_already or np.allclose(np.asarray(solution.col_value), plan, rtol=0, atol=1e-9))
    else:  # an LP: HiGHS holds the plan just solved (a study does not load it into the model)
        if not solved:
            return SteadyOutcome(status="numerical")
        plan = np.array(solution.col_value, dtype=float)
        usable = solution.dual_valid
    if not usable and solved:
        # a MIP whose HiGHS holds another solve: the LP with the whole decisions held, once more
        # in a copy, for its duals (one LP, against a harder one with a dense objective row)
        first = _copy(lp, col_lower, col_upper, row_lower, row_upper, objective=True)
        _set_options(first, scenario, time_limit)
        with interrupt.solving(first, keep=keep):
            first.run()
        if keep and interrupt.requested():
            return SteadyOutcome(status="stopped")
        again = first.getSolution()
        if first.getModelStatus() == highspy.HighsModelStatus.kOptimal and again.dual_valid:
            solution, usable = again, True
    outcome = SteadyOutcome(status="optimal")
    dense_row = None
    if usable:
        reduced = np.asarray(solution.col_dual, dtype=float)
        duals = np.asarray(solution.row_dual, dtype=float)
        rows_at = np.asarray(solution.row_value, dtype=float)
        cols_at = np.asarray(solution.col_value, dtype=float)
        scale = max(1.0, float(np.abs(costs).max(initial=0.0)))
        held = np.abs(reduced) > ZERO_DUAL * scale  # columns at the bound they sit at
        at = np.where(np.abs(cols_at - col_lower) <= np.abs(cols_at - col_upper), col_lower, col_upper)
        col_lower[held] = col_upper[held] = at[held]
        tight = np.abs(duals) > ZERO_DUAL * scale  # rows at their active bound
        at = np.where(np.abs(rows_at - row_lower) <= np.abs(rows_at - row_upper), row_lower, row_upper)
        row_lower[tight] = row_upper[tight] = at[tight]
        outcome.columns_fixed, outcome.rows_fixed = int(held.sum()), int(tight.sum())
    else:  # the objective no worse than at the plan, in one dense row: better * c x >= better * c x0
        value = float(costs @ plan)
        floor = better * value - OBJECTIVE_TOLERANCE * max(1.0, abs(value)) / 10
        dense_row = (np.flatnonzero(costs), better * costs[costs != 0], floor)

    # Rows as needed (a fresh copy): its LP is first solved without the deep-shortfall rows and
    # without the first stage's rows not held at a bound (its inequalities with a zero dual), a
    # relaxation of the stage's LP (the same objective, fewer rows). A plan of it that misses none
    # of the rows left out is feasible for the whole LP at the same objective, hence optimal there,
    # and the tie-break makes that optimum one plan: the stage's plan, not an approximation. The
    # rows it misses are added and the LP re-solved by the dual simplex method from its basis,
    # until none is missed. At 800 counties (issue 23; benchmarks/README.md) the first solve
    # leaves out 70,861 of the 123,552 rows (30,485 deep-shortfall rows, 40,376 first-stage
    # rows), interior point takes 8.8 CPU s against 20.7 s with every row, and 8 rounds add
    # 399 first-stage rows and the deep-shortfall rows of 271 lines in about 3 s.
    deep = first_rows = None  # a fresh copy's rows not in it yet: deep-shortfall rows, the first stage's free rows
    if reuse is not None and dense_row is None:  # a live plan: the copy of its last re-solve, moved
        copy, added = reuse.moved(lp, col_lower, col_upper, row_lower, row_upper, model, cols)
    else:
        copy = _copy(lp, col_lower, col_upper, row_lower, row_upper)
        if ROWS_AS_NEEDED:
            first_rows = _FirstRows(lp, row_lower, row_upper)
            copy.deleteRows(len(first_rows.rows), first_rows.rows.astype(np.int32))
        if dense_row is not None:
            index, values, floor = dense_row
            copy.addRow(floor, math.inf, len(index), index.astype(np.int32), values)
        added, deep = _add_steady_rows(copy, model, cols, n_cols, col_lower, col_upper)
    outcome.columns_added, outcome.rows_added = added

    _set_options(copy, scenario, time_limit)
    if reuse is not None:  # HiGHS's time limit counts every run of one Highs object
        copy.setOptionValue("time_limit", interrupt.run_limit(copy, time_limit))
        if reuse.warm:  # the basis of the last re-solve, moved: the simplex method
            copy.setOptionValue("solver", "simplex")
    with interrupt.solving(copy, keep=keep):
        copy.run()
    if reuse is not None:
        reuse.solved(copy)
    elif deep or first_rows:  # the rows left out that the plan found misses, then the dual simplex method
        while not (keep and interrupt.requested()) and copy.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            rows, columns = _add_violated_rows(copy, deep, first_rows)
            if not rows:
                break
            outcome.columns_added += columns
            outcome.rows_added += rows
            copy.setOptionValue("solver", "simplex")
            copy.setOptionValue("simplex_strategy", 1)
            with interrupt.solving(copy, keep=keep):
                copy.run()
        if not (keep and interrupt.requested()) and copy.getModelStatus() not in (
                highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit):
            # not expected (the LP with rows left out is bounded: every column with a cost has a
            # finite lower bound and the cost is >= 0); then every row, by the scenario's method
            rows, columns = _add_violated_rows(copy, deep, first_rows, every=True)
            outcome.columns_added += columns
            outcome.rows_added += rows
            _set_options(copy, scenario, time_limit)
            with interrupt.solving(copy, keep=keep):
                copy.run()
    if keep and interrupt.requested():
        outcome.status = "stopped"
        return outcome
    status = copy.getModelStatus()
    outcome.status = {highspy.HighsModelStatus.kOptimal: "optimal",
                      highspy.HighsModelStatus.kTimeLimit: "time_limit",
                      highspy.HighsModelStatus.kInfeasible: "infeasible"}.get(status, "numerical")
    if outcome.status != "optimal":
        return outcome
    steady = np.asarray(copy.getSolution().col_value, dtype=float)[:n_cols]
    before, after = float(costs @ plan), float(costs @ steady)
    outcome.objective_change = better * (before - after) / max(1.0, abs(before))  # > 0: worse
    if outcome.objective_change > OBJECTIVE_TOLERANCE:
        outcome.status = "objective_moved"
        return outcome
    for j, v in enumerate(by_column or _vars_by_column(model, cols, n_cols)):
        if v is not None and not v.fixed:
            v.set_value(float(steady[j]), skip_validation=True)
    return outcome


def _vars_by_column(model: pyo.ConcreteModel, cols: dict, n_cols: int) -> list:
    found = [None] * n_cols
    for v in model.component_data_objects(pyo.Var):
        j = cols.get(id(v))
        if j is not None:
            found[j] = v
    return found


def _value(v) -> float:
    return 0.0 if v is None or v.value is None else float(v.value)


def _copy(lp, col_lower, col_upper, row_lower, row_upper, objective: bool = False):
    """A new HiGHS holding `lp` with these bounds, no integrality, and no objective unless
    `objective` (the LP's own then)."""
    import highspy

    with quiet():  # HiGHS's banner
        copy = highspy.Highs()
    copy.setOptionValue("output_flag", False)
    progress.watch(copy)
    lp.integrality_ = []
    lp.col_lower_, lp.col_upper_ = col_lower, col_upper
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    if not objective:
        lp.col_cost_ = np.zeros(lp.num_col_)
        lp.offset_ = 0.0
        lp.sense_ = highspy.ObjSense.kMinimize
    copy.passModel(lp)
    return copy


def _add_steady_rows(copy, model: pyo.ConcreteModel, cols: dict, n_cols: int, col_lower, col_upper
                     ) -> tuple[tuple[int, int], "_DeepRows"]:
    """models/steadiness.py's columns and rows, for the lines that can still move, without the
    deep-shortfall rows (unless not ROWS_AS_NEEDED): those are added only where the plan
    found misses one (_add_violated_rows), and the lines still without them are returned."""
    block = _steady_block(model, cols, n_cols, col_lower, col_upper, deep=not ROWS_AS_NEEDED)
    copy.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), block.costs)
    return _add_block(copy, block), block.pending


DEEP_VIOLATED = 1e-9  # a deep-shortfall row is added when the plan misses it by more than this times max(1, X)


class _DeepRows:
    """The deep-shortfall rows not in the stage's LP yet: per flow of a line that can move, its
    column, its line's total's column, its profile share pi and its line's number."""

    def __init__(self) -> None:
        self.flow, self.total, self.share, self.line = [], [], [], []
        self.lines = 0

    def add_line(self, total: int, members: list[tuple[int, float]]) -> None:
        for j, pi in members:
            self.flow.append(j)
            self.total.append(total)
            self.share.append(pi)
            self.line.append(self.lines)
        self.lines += 1

    def __bool__(self) -> bool:
        return bool(self.flow)


def _add_violated_rows(copy, deep: "_DeepRows | None", first: "_FirstRows | None",
                       every: bool = False) -> tuple[int, int]:
    """The rows left out of `copy` that its plan misses (all of them if `every`), added to it:
    how many rows and columns."""
    values = np.asarray(copy.getSolution().col_value, dtype=float) if not every else None
    rows = first.add_violated(copy, values) if first else 0
    columns = _add_violated_deep_rows(copy, deep, values) if deep else 0
    return rows + columns, columns


def _add_violated_deep_rows(copy, pending: _DeepRows, values: np.ndarray | None) -> int:
    """The deep-shortfall rows (s[l,t] + x[l,t] - DEEP pi X[l] >= 0, s >= 0 at weight
    SHORTFALL_WEIGHT) of every line in `pending` whose plan (`values`, the columns of `copy`;
    None: every line) violates one of them, added to `copy` and taken out of `pending`; how many
    rows (and columns) were added."""
    if not pending:
        return 0
    flow, total, share, line = (np.asarray(a) for a in (pending.flow, pending.total, pending.share, pending.line))
    if values is None:
        chosen = np.ones(len(flow), dtype=bool)
    else:
        size = values[total]
        missed = DEEP_SHORTFALL * share * size - values[flow] > DEEP_VIOLATED * np.maximum(1.0, size)
        chosen = np.isin(line, np.unique(line[missed]))  # every row of a line that misses one
    added = int(chosen.sum())
    if added:
        column = copy.getNumCol() + np.arange(added)
        index = np.column_stack([flow[chosen], total[chosen], column]).ravel()
        value = np.column_stack([np.ones(added), -DEEP_SHORTFALL * share[chosen], np.ones(added)]).ravel()
        copy.addCols(added, np.full(added, SHORTFALL_WEIGHT), np.zeros(added), np.full(added, math.inf), 0,
                     np.array([], dtype=np.int32), np.array([], dtype=np.int32), np.array([], dtype=float))
        copy.addRows(added, np.zeros(added), np.full(added, math.inf), len(index), np.arange(0, 3 * added, 3, dtype=np.int32),
                     index.astype(np.int32), value.astype(float))
        rest = ~chosen
        pending.flow, pending.total, pending.share, pending.line = (
            a[rest].tolist() for a in (flow, total, share, line))
    return added


FIRST_VIOLATED = 1e-9  # a first-stage row is added when the plan misses it by more than this times (1 + |bound|)


class _FirstRows:
    """The first stage's rows that the stage's LP may leave out at first: those not held at an
    active bound (row_lower != row_upper: inequalities the first stage's optimal duals leave
    free). Their entries, row by row over the rows left out, for their activity under a plan."""

    def __init__(self, lp, row_lower: np.ndarray, row_upper: np.ndarray) -> None:
        import highspy

        matrix = lp.a_matrix_
        n_rows, n_cols = lp.num_row_, lp.num_col_
        starts = np.asarray(matrix.start_, dtype=np.int64)
        index = np.asarray(matrix.index_, dtype=np.int64)
        value = np.asarray(matrix.value_, dtype=float)
        if matrix.format_ == highspy.MatrixFormat.kColwise:
            row, col = index, np.repeat(np.arange(n_cols), np.diff(starts))
        else:
            row, col = np.repeat(np.arange(n_rows), np.diff(starts)), index
        self.rows = np.flatnonzero(row_lower != row_upper)
        self.lower, self.upper = row_lower[self.rows], row_upper[self.rows]
        place = np.full(n_rows, -1)
        place[self.rows] = np.arange(len(self.rows))
        kept = place[row] >= 0
        order = np.argsort(place[row][kept], kind="stable")
        self.place = place[row][kept][order]  # each entry's row, as its place among the rows left out
        self.col, self.value = col[kept][order], value[kept][order]
        self.waiting = np.ones(len(self.rows), dtype=bool)

    def __bool__(self) -> bool:
        return bool(self.waiting.any())

    def add_violated(self, copy, values: np.ndarray | None) -> int:
        """The rows still left out that the plan (`values`; None: every row) misses, added to `copy`."""
        if values is None:
            chosen = self.waiting.copy()
        else:
            activity = np.bincount(self.place, weights=self.value * values[self.col], minlength=len(self.rows))
            missed = ((activity < self.lower - FIRST_VIOLATED * (1.0 + np.abs(self.lower)))
                      | (activity > self.upper + FIRST_VIOLATED * (1.0 + np.abs(self.upper))))
            chosen = self.waiting & missed
        added = int(chosen.sum())
        if added:
            entries = chosen[self.place]
            counts = np.bincount(self.place[entries], minlength=len(self.rows))[chosen]
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32)
            copy.addRows(added, self.lower[chosen], self.upper[chosen], int(entries.sum()), starts,
                         self.col[entries].astype(np.int32), self.value[entries])
            self.waiting &= ~chosen
        return added


@dataclass
class _Block:
    """The steady stage's columns (after the first stage's n_cols) and rows (after its rows), in
    rows: `starts`, `index`, `value` (CSR), `lower`/`upper` per row, `weights` per new column, and
    `costs` the tie-break of the first stage's columns."""

    costs: np.ndarray
    weights: list
    starts: list
    index: list
    value: list
    lower: list
    totals: list
    shares: list = None  # per entry that holds a profile share: (its place in `value`, factor, donor, lag, year's place)
    pending: _DeepRows = None  # without deep rows: the rows left out

    @property
    def rows(self) -> int:
        return len(self.lower)


def _steady_block(model: pyo.ConcreteModel, cols: dict, n_cols: int, col_lower, col_upper,
                  every_line: bool = False, deep: bool = True) -> _Block:
    """The steady columns and rows; a line whose every flow is held is left out (its profile
    gap is a constant) unless `every_line`, which also keeps the coefficients that are 0 now
    (so that the block's structure is the same for every budget and every set of held flows).
    Without `deep`, the deep-shortfall rows are left out and each line's flows and shares are
    listed in `pending` instead (_add_violated_deep_rows adds them where needed)."""
    sets = model.index_sets
    years = list(model.steady_years)
    budget = {key: pyo.value(model.budget_amount[key]) for key in model.budget_amount}
    lines: dict[tuple, list[int]] = {}
    for flow in sets.flows:
        lines.setdefault(flow[:3], [None] * len(years))[years.index(flow[3])] = cols[id(model.x[flow])]
    costs = np.zeros(n_cols)
    for flow in sets.flows:
        costs[cols[id(model.x[flow])]] = TIE_BREAK * tie_weight(flow)
    # the whole decisions (funds, projects, cadres) have a tie-break of their own: in an LP
    # relaxation they are fractions the plan's flows leave free (a donor's cadre money split
    # between its recipients), and without one the steady plan's decisions would be whichever
    # vertex HiGHS lands on, not the same from a fresh solve and a warm re-solve (a live plan).
    # Held decisions (a MIP's) make it a constant.
    for name, keys in (("y", sets.fund_keys), ("v", sets.projects), ("c", sets.cadre_keys)):
        var = model.component(name)
        if var is None:
            continue
        for key in keys:
            j = cols.get(id(var[key]))
            if j is not None:
                costs[j] = DECISION_TIE * (1.0 + tie_weight((name, *(key if isinstance(key, tuple) else (key,)))))

    # per line l its total X[l] as a column, X[l] - sum_t x[l,t] = 0, so that each profile row
    # holds x[l,t], X[l] and a slack (with the sum substituted every row was dense in the line's
    # years: 889,675 nonzeros against 744,067 at 800 counties)
    block = _Block(costs, [], [0], [], [], [], [], [], _DeepRows())
    index, value, weights, lower, starts = block.index, block.value, block.weights, block.lower, block.starts

    def add_row(pairs: list[tuple[int, float]], share: tuple | None = None) -> None:
        for j, a in sorted(pairs):
            if a != 0.0 or every_line:
                if share is not None and j == share[0]:  # the line total's coefficient: a profile share
                    block.shares.append((len(value), *share[1:]))
                index.append(j)
                value.append(a)
        starts.append(len(index))
        lower.append(0.0)

    shares_of: dict[tuple, list[float]] = {}
    for (d, w, k), members in lines.items():
        present = [j for j in members if j is not None]
        if not every_line and all(col_upper[j] == col_lower[j] for j in present):
            continue  # the whole line is held: its profile gap is a constant
        lag = profile_lag(model, k)
        shares = shares_of.get((d, lag))
        if shares is None:
            shares = shares_of[d, lag] = [profile_share(budget, d, years, lag, t) for t in years]
        total = n_cols + len(weights)
        weights.append(0.0)
        block.totals.append(len(lower))
        add_row([(total, 1.0)] + [(j, -1.0) for j in present])  # X - sum_t x_t = 0
        if not deep:
            block.pending.add_line(total, [(j, shares[position]) for position, j in enumerate(members) if j is not None])
        for position, j in enumerate(members):
            if j is None:
                continue
            pi = shares[position]
            excess = n_cols + len(weights)
            weights.append(1.0)
            add_row([(j, -1.0), (total, pi), (excess, 1.0)],  # excess:  g - x_t + pi X >= 0
                    (total, 1.0, d, lag, position))
            if deep:
                shortfall = n_cols + len(weights)
                weights.append(SHORTFALL_WEIGHT)
                add_row([(j, 1.0), (total, -DEEP_SHORTFALL * pi), (shortfall, 1.0)],  # deep:  s + x_t - DEEP pi X >= 0
                        (total, -DEEP_SHORTFALL, d, lag, position))
    return block


def _add_block(copy, block: _Block) -> tuple[int, int]:
    if not block.weights:
        return 0, 0
    new_cols, n_new_rows = len(block.weights), block.rows
    copy.addCols(new_cols, np.array(block.weights), np.zeros(new_cols), np.full(new_cols, math.inf), 0,
                 np.array([], dtype=np.int32), np.array([], dtype=np.int32), np.array([], dtype=float))
    upper = np.full(n_new_rows, math.inf)
    upper[block.totals] = 0.0
    copy.addRows(n_new_rows, np.array(block.lower), upper, len(block.index), np.array(block.starts[:-1], dtype=np.int32),
                 np.array(block.index, dtype=np.int32), np.array(block.value, dtype=float))
    return new_cols, n_new_rows


class SteadyCopy:
    """The steady stage's HiGHS, kept across re-solves of one model (a live plan re-solved for
    each change of its knobs; see steady_plan's `reuse`).

    The LP it holds is the one a fresh stage would build, with every line's rows present (a
    line whose flows are all held has a constant profile gap: its rows change the objective by
    a constant, not the plans that are optimal). A re-solve moves it to the first stage's new
    LP: the column and row bounds (the held flows and rows of this solve), the coefficients of
    the first stage's matrix that moved (a Param in a coefficient) and the profile shares
    (budgets moved by a proportion). HiGHS then starts from the basis of the last solve. When
    the first stage's matrix changed its structure (a model rebuilt), the copy is built anew.
    """

    def __init__(self) -> None:
        self.highs = None
        self.first: tuple | None = None  # the first stage's matrix: starts, index, values
        self.columns: np.ndarray | None = None  # the column of each entry of that matrix
        self.block: _Block | None = None
        self.block_rows: np.ndarray | None = None
        self.n_cols = self.n_rows = 0
        self.block_values: np.ndarray | None = None
        self.builds = 0  # how many times the copy was built (tests read it)
        self.warm = False  # the copy holds a basis of its last solve: this one starts from it

    def solved(self, copy) -> None:
        self.warm = copy is self.highs and copy.getBasis().valid

    def moved(self, lp, col_lower, col_upper, row_lower, row_upper, model: pyo.ConcreteModel,
              cols: dict) -> tuple[object, tuple[int, int]]:
        """The copy, holding the stage's LP for this first stage (`lp`, with the held bounds)."""
        import highspy

        matrix = lp.a_matrix_
        n_cols, n_rows = lp.num_col_, lp.num_row_
        starts, index = np.asarray(matrix.start_), np.asarray(matrix.index_)
        values = np.asarray(matrix.value_, dtype=float)
        same = (self.highs is not None and matrix.format_ == highspy.MatrixFormat.kColwise and self.first is not None
                and n_cols == self.n_cols and n_rows == self.n_rows and np.array_equal(starts, self.first[0])
                and np.array_equal(index, self.first[1]))
        if not same:
            block = _steady_block(model, cols, n_cols, col_lower, col_upper, every_line=True)
            copy = _copy(lp, col_lower, col_upper, row_lower, row_upper)
            copy.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), block.costs)
            _add_block(copy, block)
            self.highs, self.n_cols, self.n_rows, self.block = copy, n_cols, n_rows, block
            colwise = matrix.format_ == highspy.MatrixFormat.kColwise
            self.first = (starts.copy(), index.copy(), values.copy()) if colwise else None
            self.columns = np.repeat(np.arange(n_cols, dtype=np.int32), np.diff(starts)) if colwise else None
            self.block_rows = n_rows + np.repeat(np.arange(block.rows), np.diff(block.starts))
            self.block_values = np.array(block.value, dtype=float)
            self.builds += 1
            self.warm = False
            return copy, (len(block.weights), block.rows)
        copy, block = self.highs, self.block
        every = np.arange(n_cols, dtype=np.int32)
        copy.changeColsBounds(n_cols, every, np.asarray(col_lower, dtype=float), np.asarray(col_upper, dtype=float))
        copy.changeRowsBounds(n_rows, np.arange(n_rows, dtype=np.int32), np.asarray(row_lower, dtype=float),
                              np.asarray(row_upper, dtype=float))
        for p in np.flatnonzero(values != self.first[2]):  # coefficients a Param moved
            copy.changeCoeff(int(index[p]), int(self.columns[p]), float(values[p]))
        self.first[2][:] = values
        # the profile shares, from this solve's budgets (a proportion moves them)
        years = list(model.steady_years)
        budget = {key: pyo.value(model.budget_amount[key]) for key in model.budget_amount}
        shares: dict[tuple, list[float]] = {}
        for place, factor, d, lag, position in block.shares:
            line = shares.get((d, lag))
            if line is None:
                line = shares[d, lag] = [profile_share(budget, d, years, lag, t) for t in years]
            value = factor * line[position]
            if value != self.block_values[place]:
                copy.changeCoeff(int(self.block_rows[place]), int(block.index[place]), float(value))
                self.block_values[place] = value
        return copy, (len(block.weights), block.rows)


def _set_options(copy, scenario, time_limit: float) -> None:
    method = scenario.solver.method
    copy.setOptionValue("solver", method)
    if scenario.solver.threads:
        copy.setOptionValue("threads", int(scenario.solver.threads))
    copy.setOptionValue("time_limit", float(time_limit))
    copy.setOptionValue("run_crossover", "on")
