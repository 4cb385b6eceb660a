"""Weights as needed: the LPs of relax and fix solved with a curve's vertex weights brought in
only where they could improve the plan (column generation), to the full LP's optimum.

A line in the breakpoint form (models/fund_effects.py) has a weight lambda[b] on each vertex of
its effect curve: 594 a line on a strictly concave curve cut into 594 segments, nearly all of
the LP's columns, almost all of them 0 at the optimum (at most two vertices a line carry weight
in a basic solution of the line's own rows). Each LP of relax and fix (and an LP model's one
solve) is solved here in rounds (the segment columns of a long line in the segment form, which
a built model has only under people_years' yearly twins or a robust block, the same way: any
column with a lower bound of 0 may be held there):

1. Only some weights are free (`active`): on a line of at least LONG_LINE vertices, every
   k-th vertex (k about the square root of the vertices) and the last one, and every weight
   that was free at the end of the previous LP of the same solve; the others are held at 0 by
   their upper bound in HiGHS (a bound change, no rebuild). A subset of a concave curve's
   vertices draws a curve below it (an inner approximation): the restricted LP is the full LP
   with columns held at 0, so its plans are plans of the full LP.
2. Solve the restricted LP, read HiGHS's reduced costs (`col_dual` = c - A^T y) of the held
   weights and free every one that would improve the objective (by more than HiGHS's dual
   feasibility tolerance); re-solve from the basis by the simplex method; repeat until none does.

Why the result is exact. When no held weight prices out, the restricted LP's optimal duals y
are feasible for the full LP's dual too (the free columns meet their dual conditions by the
restricted LP's optimality, the held ones, nonbasic at 0, by the pricing: c_j - a_j^T y <= 0 in
a maximisation), and the restricted optimum is a plan of the full LP with the same objective as
that dual solution: by LP duality it is the full LP's optimum. For an LP whose basis is wanted
afterwards (the LP with the rounded decisions fixed, whose duals and solution the plan's duals
and the steady stage read), the held weights get their bounds back and HiGHS re-solves the full
LP from that basis by the simplex method: the basis is optimal there (the same reduced costs),
so HiGHS certifies it in the full LP itself, usually without an iteration, and what it then
holds (solution, duals, basis) is a solution of the full LP as a direct solve would leave it.
The relaxation (interior point without crossover, no basis) gets its bounds back without a
re-solve: its bound and relaxed decisions are the final round's, read before.

Only relax and fix's two LPs (`solve_mip`) and an LP model's solve (`_solve_lp`) go through
here; branch and bound, the duals of its plan, the steady stage, ranging (the segment form, no
weights) and the studies' warm re-solves see the full model as built. A model whose effect
figures a study moves (the segment form) is left whole: Pyomo would move its segments' bounds.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyomo.environ as pyo

from models.fund_effects import effect_form

SEGMENT_COLUMNS = ("s", "s_year")  # the segment columns (models/variables.py, effects.py, robust.py)
LONG_LINE = 40  # a line with this many vertex weights or more starts with some of them held
FROM_COLUMNS = 5_000  # generation pays only with this many weights on long lines
MAX_ROUNDS = 50  # beyond this many rounds the rest is freed and the full LP solved (never seen)
# a round after the first, from the basis the last left: the weights freed enter at 0 with a
# reduced cost that improves, which the primal simplex method takes as they are (30 pivots on
# ewppt-2010 refined, against 1,236 by the dual simplex method)
WARM = {"warm": True, "simplex_strategy": 4}


class Weights:
    """The vertex weights of one built and loaded model, and which are free, across the LPs of
    one solve (`solve`)."""

    def __init__(self, opt, model: pyo.ConcreteModel):
        self.opt, self.model = opt, model
        columns = opt._pyomo_var_to_solver_var_map
        lines: dict = {}
        segments = getattr(model, "index_sets", None)
        longest = max(map(len, segments.segments_by_effect.values()), default=0) if segments is not None else 0
        # (a study moving widths moves the segments' bounds; no long line, nothing to walk)
        if effect_form(model) == "breakpoints" and longest >= LONG_LINE:
            for var in model.component_objects(pyo.Var, descend_into=True):
                if not (var.local_name in SEGMENT_COLUMNS or var.local_name.endswith("_curve_weight")):
                    continue
                for key, v in var.items():  # a key: (w, k, segment or vertex, *rest); its line the rest
                    j = columns.get(id(v))
                    if j is not None:
                        lines.setdefault((id(var), key[:2], key[3:]), []).append(j)
        long = [np.asarray(cols, dtype=np.int32) for cols in lines.values() if len(cols) >= LONG_LINE]
        self.columns = np.concatenate(long) if long else np.zeros(0, dtype=np.int32)
        self.active = np.zeros(len(self.columns), dtype=bool)
        start = 0
        for cols in long:
            n = len(cols)
            step = max(1, math.isqrt(n))
            self.active[start + np.arange(step - 1, n, step)] = True
            self.active[start + n - 1] = True
            start += n
        if len(self.columns):  # their own bounds (a column held is one at a lower bound of 0)
            lp = opt._solver_model.getLp()
            lower = np.asarray(lp.col_lower_, dtype=float)[self.columns]
            self.upper = np.asarray(lp.col_upper_, dtype=float)[self.columns]
            self.active |= lower != 0
        else:
            self.upper = np.zeros(0)
        self.rounds: list[int] = []  # restricted solves of each LP solved here (the certifying one not counted)

    @classmethod
    def of(cls, opt, model: pyo.ConcreteModel) -> "Weights":
        """The weights of `model`, loaded into `opt`'s HiGHS first if it is not yet."""
        from optimizer.solving.solve import _loaded  # (solve imports this module)

        _loaded(opt, model)
        return cls(opt, model)

    @property
    def used(self) -> bool:
        return len(self.columns) >= FROM_COLUMNS

    def _hold(self, which: np.ndarray, held: bool) -> None:
        """Hold the columns `which` (a mask over self.columns) at 0, or give them their bounds back.

        Given back, a nonbasic column stays at 0 in HiGHS's basis: HiGHS keeps a column held at
        [0, 0] nonbasic "at its upper bound", which would put it at its upper bound once that is
        its own again (a basis far from the LP's: a thousand pivots to come back on ewppt-2010
        refined, against none)."""
        highs = self.opt._solver_model
        cols = self.columns[which]
        if not len(cols):
            return
        upper = np.zeros(len(cols)) if held else self.upper[which]
        basis = None if held else highs.getBasis()
        highs.changeColsBounds(len(cols), cols, np.zeros(len(cols)), upper)
        if basis is not None and basis.valid:
            import highspy

            status = list(basis.col_status)
            upper_status, lower_status = highspy.HighsBasisStatus.kUpper, highspy.HighsBasisStatus.kLower
            for j in cols.tolist():
                if status[j] == upper_status:
                    status[j] = lower_status
            basis.col_status = status
            highs.setBasis(basis)

    def solve(self, run: Callable, certify: bool, time_left: Callable[[], float | None] = lambda: None,
              **options) -> tuple:
        """`run(time_limit=..., warm=..., **options)` (one HiGHS solve of the model, as
        optimizer.solving.solve._run) in rounds as the module says; returns its (status, raw)
        for the full LP. `certify`: the final basis is re-solved in the full LP (see the
        module); otherwise the final round's answer is returned, the weights' bounds given back."""
        if not self.used:
            return run(time_limit=time_left(), **options)
        highs = self.opt._solver_model
        import highspy

        better = 1.0 if highs.getLp().sense_ == highspy.ObjSense.kMaximize else -1.0
        tolerance = highs.getOptions().dual_feasibility_tolerance
        strategy = highs.getOptions().simplex_strategy  # (HiGHS keeps options between runs: put back)
        self._hold(~self.active, True)
        held = True
        rounds = 0
        try:
            while True:
                # from the basis the last round left (interior point without crossover leaves
                # none: the LP's own method again)
                warm = rounds > 0 and highs.getBasis().valid
                status, raw = run(time_limit=time_left(), **({**options, **WARM} if warm else options))
                rounds += 1
                if status != "optimal":
                    break
                if self.active.all():  # the full LP itself
                    break
                solution = highs.getSolution()
                if solution.dual_valid:
                    reduced = np.asarray(solution.col_dual, dtype=float)[self.columns]
                    improving = ~self.active & (better * reduced > tolerance)
                    if not improving.any():
                        break
                if not solution.dual_valid or rounds >= MAX_ROUNDS:  # (never seen): the full LP
                    improving = ~self.active
                self.active |= improving
                self._hold(improving, False)
            self._hold(~self.active, False)
            held = False
            if status == "infeasible":  # the restricted LP only (never with a zero-weight plan): the full one
                status, raw = run(time_limit=time_left(), **options)
            elif certify and status == "optimal":
                status, raw = run(time_limit=time_left(), **{**options, "warm": True, "simplex_strategy": strategy})
        finally:
            highs.setOptionValue("simplex_strategy", strategy)
            if held:
                self._hold(~self.active, False)
            self.rounds.append(rounds)
        return status, raw
