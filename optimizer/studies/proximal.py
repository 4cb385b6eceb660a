"""The linearized proximal term's cuts in closed form, for all plan variables at once.

mpi-sppy's linearized proximal term (its `linearize_proximal_terms`) replaces x^2 in
rho/2 (x - xbar)^2 by a variable q >= 0 held above tangent cuts of the parabola q = x^2. After
every solve it projects each variable's point (x, q) onto the parabola and adds tangents near
the projection (mpisppy/utils/prox_approx.py, `_ProxApproxManager.check_tol_add_cut`), calling
scipy's `least_squares` once per variable per scenario per iteration: about 0.2 ms each, a
minute an iteration at 800 counties.

The projection has a closed form. The nearest point (t, t^2) to (x, q) minimises
(t - x)^2 + (t^2 - q)^2; setting the derivative to zero gives the depressed cubic

    t^3 + p t + r = 0,   p = 1/2 - q,   r = -x/2.

Since (t - x)^2 - (-t - x)^2 = -4 t x, the nearest root has the sign of x, so with a = |x|
the projection is sign(x) times the largest real root of t^3 + p t - a/2 (Cardano's formula
when the cubic has one real root, the trigonometric form when it has three), polished by two
Newton steps. `least_squares` started at t = x descends to that same root: for points on or
below the parabola (q <= x^2, all that the cuts let the LP return) x lies at or beyond the
root and the distance falls monotonically towards it. At x = 0 it stops at t = 0 (a
stationary point), and so does `project_onto_parabola`.

mpi-sppy 0.14's own call does not quite reach that root: it gives least_squares the Jacobian
(t, 2t) of the residuals (t - x, t^2 - q), whose Jacobian is (1, 2t) (`_df_ls`), and so stops
where t - x + 2(t^2 - q) = 0 when x is not small (t = 3.73 for the point (24.81, 3.34), whose
nearest point on the parabola is at t = 2.72). Every tangent is a valid cut; the closed form
puts it where mpi-sppy means to. tests/test_proximal.py checks it against least_squares on
mpi-sppy's residuals with the true Jacobian (1e-8), and that it is never farther from the point
than mpi-sppy's own call.

`ClosedFormUpdates.update(ph)` is mpi-sppy's `PHBase._update_prox_approx` with the projection
done once for all of a scenario's variables by numpy; the tangent points are then chosen by
mpi-sppy's own manager code (`add_cuts`: the projection, its mirror about xbar, the augmented
Lagrangian point and its mirror, each at least the tolerance from the cuts already there), and
the cuts go into HiGHS as rows, one `addRows` call a scenario, instead of one Pyomo constraint
each (tests/test_proximal.py: row for row the constraints mpi-sppy would have built).
"""

from __future__ import annotations

import numpy as np


def project_onto_parabola(x, q) -> np.ndarray:
    """The t with (t, t^2) nearest to each point (x, q) (arrays of the same shape); 0 where x is 0."""
    x = np.asarray(x, dtype=float)
    q = np.asarray(q, dtype=float)
    a = np.abs(x)
    p = 0.5 - q
    r = -0.5 * a  # t^3 + p t + r = 0; the largest root is the one wanted (>= 0)
    t = np.zeros(np.broadcast(a, p).shape)
    a, p, r = np.broadcast_arrays(a, p, r)
    discriminant = (r / 2) ** 2 + (p / 3) ** 3
    one = (discriminant > 0) & (a > 0)
    if one.any():  # one real root: Cardano, t = u + v with u v = -p/3, written without cancellation
        u = np.cbrt(-r[one] / 2 + np.sqrt(discriminant[one]))
        v = -p[one] / (3 * u)
        t[one] = -r[one] / (u * u - u * v + v * v)  # = u + v, since u^3 + v^3 = -r
    three = (~one) & (a > 0)
    if three.any():  # three real roots (p < 0): the largest by the trigonometric form
        m = 2 * np.sqrt(-p[three] / 3)
        cosine = np.clip(3 * r[three] / (p[three] * m), -1.0, 1.0)
        t[three] = m * np.cos(np.arccos(cosine) / 3)
    for _ in range(2):  # Newton, from the root's neighbourhood: exact to rounding
        slope = 3 * t * t + p
        step = np.divide(t * t * t + p * t + r, slope, out=np.zeros_like(t), where=np.abs(slope) > 1e-300)
        t = np.where(a > 0, t - step, 0.0)
    return np.copysign(t, x)


def _batched_manager_class():
    """mpi-sppy's cut manager for a continuous variable whose cuts are collected, not built.

    Same choice of tangent points as mpi-sppy's (`add_cuts`, `check_and_add_value`, the clamp to
    the bounds in `add_cut`), but each cut q - 2 t x >= -t^2 is appended to the scenario's
    batch (as the tangent point t) for ClosedFormUpdates to add to HiGHS in one call, instead of
    becoming a Pyomo constraint that the persistent interface then walks, maps and keeps (about
    3 KB a cut, measured in docs/robust.md)."""
    from mpisppy.utils.prox_approx import ProxApproxManagerContinuous

    class BatchedCuts(ProxApproxManagerContinuous):
        def add_cut(self, val, tolerance, persistent_solver):
            lb, ub = self.xvar.bounds
            if lb is not None and val < lb:
                val = lb
            if ub is not None and val > ub:
                val = ub
            if not self.check_and_add_value(val, tolerance):
                return 0
            self.batch.append((self.position, val))
            self.cut_index += 1
            return 1

    return BatchedCuts


class ClosedFormUpdates:
    """mpi-sppy's update of the linearized proximal cuts, projecting with the closed form.

    Holds, per scenario, its cut managers in a fixed order (mpi-sppy's ProxApproxManager, one per
    plan variable), so each update reads the points into arrays, projects them all at once and
    hands each variable's projection to its manager's `add_cuts`. With `direct` and Pyomo's
    HiGHS interface (pyomo.contrib.solver's `highs`, what mpi-sppy gets for `solver_name =
    "highs"`), continuous variables' managers are mpi-sppy's with `add_cut` collecting the
    tangent points, and the cuts go into the HiGHS model as rows in one `addRows` call a
    scenario: the same rows, without a Pyomo constraint each. Any other solver interface gets
    mpi-sppy's own managers (Pyomo constraints)."""

    def __init__(self, direct: bool = True, sync: bool = True):
        self.direct = direct
        self.sync = sync  # False when the solves go straight to HiGHS (optimizer/studies/direct.py)
        self._managers: dict[str, list] = {}
        self._rows: dict[str, int] = {}  # scenario: HiGHS's row count after its last cuts went in

    def _prepare(self, name: str, scenario) -> list:
        managers = scenario._mpisppy_data.xsqvar_prox_approx
        plugin = scenario._solver_plugin
        if self.direct and hasattr(plugin, "_pyomo_var_to_solver_var_map") and hasattr(plugin, "_solver_model"):
            batched = _batched_manager_class()
            batch: list = []
            for position, (key, manager) in enumerate(list(managers.items())):
                if manager.xvar.is_integer() or manager.cut_index:
                    continue
                replacement = batched(scenario, manager.xvar, key)
                replacement.batch, replacement.position = batch, position
                managers[key] = replacement
            scenario._mpisppy_data.cut_batch = batch
        self._managers[name] = list(managers.values())
        return self._managers[name]

    def update(self, ph) -> None:
        from mpisppy.utils import sputils

        tolerance = ph.prox_approx_tol
        for name, scenario in ph.local_scenarios.items():
            managers = self._managers.get(name) or self._prepare(name, scenario)
            persistent = scenario._solver_plugin if sputils.is_persistent(scenario._solver_plugin) else None
            batch = getattr(scenario._mpisppy_data, "cut_batch", None)
            if batch is not None:
                batch.clear()
            n = len(managers)
            x = np.fromiter((m.xvar._value for m in managers), dtype=float, count=n)
            q = np.fromiter((m.xvarsqrd._value or 0.0 for m in managers), dtype=float, count=n)
            fixed = np.fromiter((m.xvar.fixed for m in managers), dtype=bool, count=n)
            projected = project_onto_parabola(x, q).tolist()
            for manager, value, held, point in zip(managers, projected, fixed.tolist(), x.tolist()):
                if not held:
                    manager.add_cuts(value, tolerance, persistent)
                manager.xvarsqrd._value = point * point
            if batch:
                self._add_rows(name, scenario, managers, batch)

    def _add_rows(self, name: str, scenario, managers: list, batch: list) -> None:
        """The batch's cuts q - 2 t x >= -t^2 as rows of the scenario's HiGHS model."""
        plugin = scenario._solver_plugin
        highs = plugin._solver_model
        positions = np.fromiter((p for p, _ in batch), dtype=np.int64, count=len(batch))
        points = np.fromiter((t for _, t in batch), dtype=float, count=len(batch))
        direct = getattr(scenario._mpisppy_data, "direct_columns", None)
        if direct is None:
            from optimizer.studies.coldstart import column_map, objective_columns

            # the q columns reach HiGHS with the PH objective, the first time; on Pyomo's solve path its sync of
            # the model every time, here (not in the solve)
            columns = objective_columns(scenario, plugin) if self.sync or name not in self._rows \
                else column_map(scenario, plugin)
            x_columns = np.fromiter((columns[id(managers[p].xvar)] for p in positions.tolist()), dtype=np.int32,
                                    count=len(batch))
            q_columns = np.fromiter((columns[id(managers[p].xvarsqrd)] for p in positions.tolist()), dtype=np.int32,
                                    count=len(batch))
        else:  # the solves go straight to HiGHS (optimizer/studies/direct.py), which holds the columns by position
            x_all, q_all = direct
            if len(managers) != len(x_all):
                raise RuntimeError("the proximal cut managers do not follow the plan variables one to one")
            x_columns, q_columns = x_all[positions], q_all[positions]
        rows = highs.getNumRow()
        if self._rows.setdefault(name, rows) != rows:  # its row numbers would collide with the cuts'
            raise RuntimeError("a constraint was added to a scenario after its proximal cuts went into HiGHS")
        count = len(batch)
        indices = np.empty(2 * count, dtype=np.int32)
        indices[0::2], indices[1::2] = q_columns, x_columns
        values = np.empty(2 * count)
        values[0::2], values[1::2] = 1.0, -2.0 * points
        highs.addRows(count, -points * points, np.full(count, np.inf), 2 * count,
                      np.arange(0, 2 * count, 2, dtype=np.int32), indices, values)
        self._rows[name] = rows + count
