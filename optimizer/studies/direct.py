"""Progressive hedging's scenario solves straight to HiGHS, with arrays.

Every PH iteration mpi-sppy changes the prices W and the consensus xbar (Params in each
scenario's objective) and re-solves every scenario (mpisppy/spopt.py, `SPOpt.solve_one`). With
Pyomo's persistent HiGHS interface (pyomo.contrib.solver's `highs`) each of those solves
rebuilds the objective's standard representation (`set_objective`: a walk of the whole PH
objective, about three terms a plan variable), walks the model for changes (`update`), solves
under an output capture, and loads every variable of the model back into Pyomo. At ewppt-2010
with 10 scenarios that was most of the hub's processor time (benchmarks/README.md,
`bench_hedging.py`).

Only a few numbers change between two solves, and they have a closed form. mpi-sppy's PH
objective (mpisppy/phbase.py, `attach_PH_to_objective`) is

    f(x) + W_on sum_i W_i x_i + prox_on sum_i rho_i/2 (q_i - 2 xbar_i x_i + xbar_i^2)

with q_i the linearized square of x_i (its cuts are HiGHS rows, optimizer/studies/proximal.py).
So a plan variable's cost is c_i + W_on W_i - prox_on rho_i xbar_i, its q's cost is
prox_on rho_i / 2, and the constant is prox_on sum_i rho_i/2 xbar_i^2: `DirectScenario.solve`
pushes them with one `changeColsCost` (and `changeObjectiveOffset`), runs HiGHS on the model it
already holds (so the simplex starts from the scenario's last basis, as it did through Pyomo:
a cost change keeps HiGHS's basis), and reads back only what mpi-sppy and the proximal cuts
read: the plan variables, their q and the objective's own variables (for mpi-sppy's
`Eobjective`), and the objective value as both bounds (an LP solved to optimality).

The HiGHS model is the one Pyomo's interface built (`set_instance`): the columns, the rows and
their numbering are Pyomo's, with the PH objective's q columns appended once mpi-sppy attaches
W and the proximal term after iteration 0 (by Pyomo's `update`, or, once Pyomo's interface has
let go of its maps after a direct iteration 0, by optimizer/studies/coldstart.py as the update
would); a new HiGHS model (a new `set_instance`) gets its arrays prepared again.
`DirectSolve` is used only where nothing else changes the model between solves: an LP whose
plan variables are continuous, the proximal term absent or linearized, no cylinder that
tightens the plan variables' bounds, no solver log files or agnostic solves. Anywhere else it
leaves the solve to mpi-sppy's own `solve_one`. tests/test_direct.py checks the objective and
plan values against Pyomo's path on the same scenarios and iterations.

Where that holds for every scenario when mpi-sppy attaches W and the proximal term (and none of
mpi-sppy's own extensions runs), the PH objective above is not built at all: `DirectSolve`
overrides `attach_PH_to_objective` to build only what is still read, mpi-sppy's parameters and
switches (W, xbar, rho, W_on, prox_on: the direct solves', the cut managers' and mpi-sppy's own
PH loop's), the q variables with their cut managers and the plan's costs (the proximal cuts',
optimizer/studies/proximal.py), and the scenario's own objective's coefficients, read once
(`OwnObjective`), in place of the objective's expressions (W's term, the proximal term, about
three Pyomo nodes a plan variable, and the objective over them) that the direct solves read
only once, for those coefficients. The q columns reach HiGHS as Pyomo's update would have
added them (`objective_variables`), and mpi-sppy's `Eobjective`, the one reader of the PH
objective's value, takes it from the closed form (`ph_objective_value`). The scenario's
Pyomo objective stays its own, so a solve that could not go direct would solve the wrong
problem: it raises instead.
"""

from __future__ import annotations

import time

import numpy as np


# HiGHS options for the re-solves of a scenario whose proximal cuts are added between its solves
# (the hub's). HiGHS (1.16) drops its whole simplex state when rows are added
# (kExtendInvertWhenAddingRows is false in its HConst.h: HEkk::updateStatus(kNewRows) clears the
# factorization and the dual edge weights), so each such re-solve starts from the basis alone, and
# with its default dual steepest edge pricing it first computes the exact edge weights of a basis
# that the new costs (W, xbar) and cuts leave far from optimal (HEkkDual::solve): one BTRAN a row,
# with thousands of new rows each iteration (HiGHS's log says so for every hub re-solve at
# ewppt-2010). Devex pricing starts from unit weights and updates them more cheaply: more simplex
# iterations, each cheaper. Measured (benchmarks/README.md, "HiGHS's simplex options for the hub's re-solves"):
# ewppt-2010, 10 scenarios, the hub alone, 6 re-solve loops: 23.1 to 24.7 processor seconds against
# 27.4 to 28.7 (-14% to -16%), 56,750 simplex iterations a loop against 48,398; another optimal
# vertex now and then, so another PH path. The Lagrangian spoke adds no rows: HiGHS keeps its edge
# weights between its solves, and it keeps HiGHS's default (Devex there cost the spoke 30% more
# processor time end to end, the same bounds).
CUT_RESOLVE_OPTIONS = {"simplex_dual_edge_weight_strategy": 1}  # 1: Devex (HiGHS's default -1 chooses steepest edge)


class DirectScenario:
    """One scenario's HiGHS model (Pyomo's interface's) driven with arrays.

    `cost_columns` are the plan variables' columns, then their q's; `base` the original
    objective's coefficients on them (mpi-sppy's W and proximal terms switched off)."""

    def __init__(self, s, prox_approx: bool):
        import pyomo.environ as pyo
        from pyomo.repn import generate_standard_repn

        from optimizer.studies.coldstart import column_map

        plugin = s._solver_plugin
        self.highs = plugin._solver_model
        columns = column_map(s, plugin)
        data, model = s._mpisppy_data, s._mpisppy_model
        keys = list(data.nonant_indices.keys())
        self.nonants = list(data.nonant_indices.values())
        self.model = model
        self.W = [model.W[k] for k in keys]
        lean = getattr(data, "own_objective", None)
        self.prox = lean.prox if lean is not None else model.component("ProxExpr") is not None
        self.xbars = [model.xbars[k] for k in keys] if self.prox else []
        self.rho = [model.rho[k] for k in keys] if self.prox else []
        self.squares = [model.xsqvar[k] for k in keys] if self.prox and prox_approx else []
        x_columns = [columns[id(v)] for v in self.nonants]
        q_columns = [columns[id(v)] for v in self.squares]
        self.cost_columns = np.array(x_columns + q_columns, dtype=np.int32)
        self.n = len(keys)

        if lean is not None:  # the scenario's own objective, read once when the PH terms were (not) attached
            coefficients, self.constant, linear_vars = lean.coefficients, lean.constant, lean.variables
        else:  # the original objective: mpi-sppy's terms switched off for one standard representation
            objective = _active_objective(s)
            switches = [p for p in (model.component("W_on"), model.component("prox_on")) if p is not None]
            kept = [p.value for p in switches]
            try:
                for p in switches:
                    p.value = 0
                repn = generate_standard_repn(objective.expr, compute_values=True, quadratic=False)
            finally:
                for p, value in zip(switches, kept):
                    p.value = value
            coefficients = {id(v): float(c) for v, c in zip(repn.linear_vars, repn.linear_coefs)}
            self.constant = float(pyo.value(repn.constant))
            linear_vars = list(repn.linear_vars)
        self.base = np.array([coefficients.get(id(v), 0.0) for v in self.nonants + self.squares])
        # the objective's own variables (mpi-sppy's Eobjective evaluates the PH objective at the end)
        plan = {id(v) for v in self.nonants + self.squares}
        self.others = [v for v in linear_vars if id(v) not in plan]
        self.loaded = self.nonants + self.squares + self.others
        self.loaded_columns = np.array([columns[id(v)] for v in self.loaded], dtype=np.int64)
        if len(q_columns) == self.n:  # the proximal cuts' columns by plan variable (optimizer/studies/proximal.py)
            data.direct_columns = (np.array(x_columns, dtype=np.int32), np.array(q_columns, dtype=np.int32))
        self.highs.setOptionValue("output_flag", False)
        if len(self.squares):  # the proximal cuts: new rows before every solve (CUT_RESOLVE_OPTIONS)
            for name, value in CUT_RESOLVE_OPTIONS.items():
                self.highs.setOptionValue(name, value)

    @staticmethod
    def release(plugin) -> None:
        """Drop what Pyomo's interface keeps to update and read back its HiGHS model (maps and
        helpers per variable and constraint), which the direct solves no longer use; HiGHS's
        model stays. Its `_model` is cleared, so were Pyomo's own solve called again it would
        build a new HiGHS model from the Pyomo model (a new set_instance) rather than update
        this one from emptied maps."""
        for name in ("_active_constraints", "_vars", "_params", "_named_expressions", "_referenced_variables",
                     "_vars_referenced_by_con", "_pyomo_var_to_solver_var_map", "_pyomo_con_to_solver_con_map",
                     "_solver_con_to_pyomo_con_map", "_mutable_helpers", "_mutable_bounds"):
            if isinstance(getattr(plugin, name, None), dict):
                setattr(plugin, name, {})
        for name in ("_vars_referenced_by_obj", "_obj_named_expressions"):
            if isinstance(getattr(plugin, name, None), list):
                setattr(plugin, name, [])
        for name in ("_mutable_objective", "_last_results_object", "_sol", "_objective", "_objective_expr", "_model"):
            if hasattr(plugin, name):
                setattr(plugin, name, None)

    def costs(self) -> tuple[np.ndarray, float]:
        """The cost of every column in `cost_columns` and the objective's constant at the
        current W, xbar, rho and switches (the closed form in the module's text)."""
        n = self.n
        w_on = float(self.model.W_on.value) if self.model.component("W_on") is not None else 0.0
        W = np.fromiter((p._value for p in self.W), dtype=float, count=n)
        x_cost = self.base[:n] + w_on * W
        constant = self.constant
        q_cost = self.base[n:].copy()
        if self.prox:
            prox_on = float(self.model.prox_on.value)
            xbar = np.fromiter((p._value for p in self.xbars), dtype=float, count=n)
            rho = np.fromiter((p._value for p in self.rho), dtype=float, count=n)
            x_cost = x_cost + prox_on * (-rho * xbar)
            if len(self.squares):
                q_cost = q_cost + prox_on * (rho / 2.0)
            constant = constant + prox_on * float(np.sum(rho / 2.0 * xbar * xbar))
        return np.concatenate((x_cost, q_cost)), constant

    def solve(self, options: dict) -> float | None:
        """Push the costs, solve, load the plan values; the objective value, or None if HiGHS
        did not find the optimum."""
        import highspy

        from optimizer.studies.coldstart import run_highs

        highs = self.highs
        cost, constant = self.costs()
        highs.changeColsCost(len(self.cost_columns), self.cost_columns, cost)
        highs.changeObjectiveOffset(constant)
        # a large LP by interior point (optimizer/studies/coldstart.py); with the proximal term on, a PH iterate
        iterate = self.prox and float(self.model.prox_on.value) != 0
        run_highs(highs, options, iterate=iterate)
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        objective = highs.getInfo().objective_function_value
        values = np.asarray(highs.getSolution().col_value)[self.loaded_columns].tolist()
        for v, value in zip(self.loaded, values):
            v._value = value
        return objective


def _active_objective(s):
    from mpisppy.utils import sputils

    return sputils.find_active_objective(s)


def _has_columns(plugin, s) -> bool:
    """Whether HiGHS already has a column for every variable of the PH objective (else Pyomo's
    update adds them: mpi-sppy attaches W and the proximal term after iteration 0)."""
    from optimizer.studies.coldstart import column_map

    columns = column_map(s, plugin)
    return all(id(v) in columns for v in objective_variables(s))


class OwnObjective:
    """A scenario's own objective, read once (its linear coefficients and constant), standing in
    for mpi-sppy's PH objective as Pyomo expressions (`direct_solve_class`): which of W's term
    (`duals`) and the proximal term (`prox`) progressive hedging prices into it."""

    __slots__ = ("variables", "coefficients", "constant", "duals", "prox")

    def __init__(self, objective, duals: bool, prox: bool):
        import pyomo.environ as pyo
        from pyomo.repn import generate_standard_repn

        repn = generate_standard_repn(objective.expr, compute_values=True, quadratic=False)
        if repn.nonlinear_expr is not None:
            raise ValueError(f"{objective.name}: not linear")
        self.variables = list(repn.linear_vars)
        self.coefficients = {id(v): float(c) for v, c in zip(repn.linear_vars, repn.linear_coefs)}
        self.constant = float(pyo.value(repn.constant))
        self.duals, self.prox = duals, prox


def attached(s) -> bool:
    """Whether mpi-sppy's W (and proximal) terms are in the scenario's PH objective: as Pyomo
    expressions (mpi-sppy's `attach_PH_to_objective`) or priced by the direct solves alone
    (`direct_solve_class`). The hub attaches them after iteration 0, the Lagrangian spoke
    before its first solve."""
    return (getattr(s._mpisppy_data, "own_objective", None) is not None
            or s._mpisppy_model.component("WExpr") is not None)


def objective_variables(s):
    """The variables of the scenario's PH objective (not fixed), in the order a walk of mpi-sppy's
    expression meets them: its own objective's, then W's term's plan variables, then the
    proximal term's q (one a plan variable, in the plan variables' order)."""
    lean = getattr(s._mpisppy_data, "own_objective", None)
    if lean is None:
        from pyomo.core.expr.visitor import identify_variables

        yield from identify_variables(_active_objective(s).expr, include_fixed=False)
        return
    seen = set()
    squares = s._mpisppy_model.component("xsqvar") if lean.prox else None
    plan = list(s._mpisppy_data.nonant_indices.items()) if lean.duals or lean.prox else []
    for v in lean.variables + [v for _, v in plan] + ([squares[k] for k, _ in plan] if squares is not None else []):
        if id(v) not in seen and not v.fixed:
            seen.add(id(v))
            yield v


def ph_objective_value(s) -> float:
    """mpi-sppy's PH objective of a scenario where it was not built (`direct_solve_class`) at
    the current values, as `pyo.value` of its expression would give it: the scenario's own objective, plus W_on
    sum_i W_i x_i, plus prox_on sum_i rho_i/2 (q_i - 2 xbar_i x_i + xbar_i^2) (q_i the
    linearized square, x_i^2 where the proximal term is quadratic)."""
    import pyomo.environ as pyo

    from mpisppy.utils import sputils

    lean = s._mpisppy_data.own_objective
    model, plan = s._mpisppy_model, s._mpisppy_data.nonant_indices
    value = float(pyo.value(sputils.find_active_objective(s)))
    x = np.fromiter((v._value for v in plan.values()), dtype=float, count=len(plan))
    if lean.duals:
        W = np.fromiter((model.W[k]._value for k in plan), dtype=float, count=len(plan))
        value += float(model.W_on.value) * float(np.dot(W, x))
    if lean.prox:
        xbar = np.fromiter((model.xbars[k]._value for k in plan), dtype=float, count=len(plan))
        rho = np.fromiter((model.rho[k]._value for k in plan), dtype=float, count=len(plan))
        squares = model.component("xsqvar")
        q = np.fromiter((squares[k]._value for k in plan), dtype=float, count=len(plan)) if squares is not None \
            else x * x
        value += float(model.prox_on.value) * float(np.sum(rho / 2.0 * (q - 2.0 * xbar * x + xbar * xbar)))
    return value


def record_outcome(opt, s, objective: float | None, highs, gripe: bool) -> None:
    """What mpi-sppy's `solve_one` records of a scenario's solve made straight with HiGHS:
    `objective` None for a solve that did not end optimal (said when `gripe`), else the
    scenario's objective as both of its bounds."""
    data = s._mpisppy_data
    if objective is None:
        data.solution_available = False
        if gripe:
            print(f"[{opt._get_cylinder_name()}] Solve failed for scenario {s.name}: HiGHS status "
                  f"{highs.modelStatusToString(highs.getModelStatus())}")
    else:
        data.solution_available = True
        data.outer_bound = data.inner_bound = objective
        opt._check_staleness(s)


def direct_solve_class(base, release: bool = True):
    """`base` (mpi-sppy's PH or PHBase, or a subclass) whose scenario solves go straight to
    HiGHS where they can (`DirectScenario`), and through mpi-sppy's own `solve_one` elsewhere;
    with `release`, Pyomo's interface drops its maps once a scenario goes direct.

    Where every solve after the attaching of W and the proximal term goes direct (checked when
    they are attached: Pyomo's HiGHS interface, plan variables continuous, a linear objective
    minimised, the proximal term linearized or absent; no smoothing, bundles, agnostic solves,
    solver log files, cylinder sending plan bounds, or mpi-sppy's own extensions), mpi-sppy's PH
    objective is not built as Pyomo expressions at all (unless `build_ph_objective`): the direct
    solves price W and the proximal term from its parameters (`DirectScenario.costs`), so they
    need only the scenario's own objective's coefficients, read once (`OwnObjective`), the q
    variables and their cut managers (what the proximal cuts read, optimizer/studies/proximal.py),
    and mpi-sppy's switches and parameters (W, xbar, rho, W_on, prox_on), which stay. mpi-sppy's
    `Eobjective`, the one reader of the PH objective's value, is computed from the same closed
    form (`ph_objective_value`)."""
    from mpisppy.utils import sputils

    from optimizer.studies.coldstart import objective_columns

    class DirectSolve(base):
        # True: mpi-sppy's attach_PH_to_objective builds the PH objective as Pyomo expressions (for comparison)
        build_ph_objective = False

        def attach_PH_to_objective(self, add_duals, add_prox, add_smooth=0):
            """mpi-sppy's `PHBase.attach_PH_to_objective` without the PH objective's expressions
            where every solve goes direct (see the class's factory); mpi-sppy's own elsewhere."""
            import pyomo.environ as pyo
            from mpisppy.utils.prox_approx import ProxApproxManager

            # mpi-sppy's own settings of the proximal term (_prox_approx, prox_approx_tol): its method, given
            # nothing to attach, sets them and returns before building anything
            super().attach_PH_to_objective(False, False, 0)
            lean = self._own_objectives(add_duals, add_prox, add_smooth) if add_duals or add_prox else None
            if lean is None:
                return super().attach_PH_to_objective(add_duals, add_prox, add_smooth)
            for name, s in self.local_scenarios.items():
                data, model = s._mpisppy_data, s._mpisppy_model
                if self._prox_approx:  # as mpi-sppy's: q >= 0 a plan variable, its cut managers, the plan's costs
                    # (built at once: every plan variable is continuous, so each gets its q, as mpi-sppy's managers
                    # would make them one at a time from its sparse Var)
                    model.xsqvar = pyo.Var(data.nonant_indices, dense=add_prox, bounds=(0, None), initialize=0.0)
                    model.xsqvar_cuts = pyo.Constraint(data.nonant_indices, pyo.Integers)
                    data.xsqvar_prox_approx = {}
                    data.nonant_cost_coeffs = {k: lean[name].coefficients.get(id(v), 0)
                                               for k, v in data.nonant_indices.items()}
                    if add_prox:
                        for k, v in data.nonant_indices.items():
                            data.xsqvar_prox_approx[k] = ProxApproxManager(s, v, k)
                else:
                    model.xsqvar = None
                    data.xsqvar_prox_approx = False
                data.own_objective = lean[name]

        def _own_objectives(self, add_duals, add_prox, add_smooth) -> dict | None:
            """Every local scenario's OwnObjective if the PH objective may go unbuilt, else None."""
            from pyomo.contrib.solver.solvers.highs import Highs

            if self.build_ph_objective or add_smooth or self.options.get("solver_name") != "highs":
                return None
            if not _lean_extensions(self):
                return None
            lean = {}
            for name, s in self.local_scenarios.items():
                objective = self.saved_objectives[name]
                plugin = getattr(s, "_solver_plugin", None)
                if hasattr(s, "_ef_scenario_names") or objective is not _active_objective(s) or \
                        (plugin is not None and not isinstance(plugin, Highs)):
                    return None
                if not self._goes_direct(s, bool(add_prox)):
                    return None
                try:
                    lean[name] = OwnObjective(objective, bool(add_duals), bool(add_prox))
                except ValueError:
                    return None
            return lean

        def _receives_plan_bounds(self) -> bool:
            from mpisppy.cylinders.spwindow import Field

            receives = getattr(getattr(self, "spcomm", None), "receive_field_spcomms", None) or {}
            return bool(receives.get(Field.NONANT_LOWER_BOUNDS) or receives.get(Field.NONANT_UPPER_BOUNDS))

        def Eobjective(self, verbose=False):
            """mpi-sppy's `SPOpt.Eobjective` (the expected PH objective at the current values) for
            scenarios whose PH objective was not built, from the closed form (`ph_objective_value`)."""
            if not any(getattr(s._mpisppy_data, "own_objective", None) is not None
                       for s in self.local_scenarios.values()):
                return super().Eobjective(verbose)
            import math

            from mpi4py import MPI

            local = np.array([math.fsum(s._mpisppy_probability * ph_objective_value(s)
                                        for s in self.local_scenarios.values())])
            total = np.zeros(1)
            self.mpicomm.Allreduce(local, total, op=MPI.SUM)
            return total[0]

        def _direct_scenario(self, k: str, s):
            """The scenario's DirectScenario, prepared again after a new set_instance; None where
            the direct solve does not apply."""
            from pyomo.contrib.solver.solvers.highs import Highs

            cache = self.__dict__.setdefault("_direct", {})
            plugin = s._solver_plugin
            highs = getattr(plugin, "_solver_model", None)
            held = cache.get(k)
            if held is not None and held.highs is highs:
                return held
            lean = getattr(s._mpisppy_data, "own_objective", None) is not None
            if lean and highs is None and isinstance(plugin, Highs):
                plugin.set_instance(s)  # not by Pyomo's solve: the PH objective is not in Pyomo's model
            if not self._direct_applies(s, plugin):
                if lean:
                    raise RuntimeError(f"{s.name}: its PH objective was not built as Pyomo expressions (every "
                                       "solve was to go straight to HiGHS), but this solve cannot "
                                       "(optimizer/studies/direct.py)")
                return None
            if not _has_columns(plugin, s):  # HiGHS's model as Pyomo's solve would leave it: the PH objective's columns
                objective_columns(s, plugin)
            cache[k] = DirectScenario(s, bool(getattr(self, "_prox_approx", False)))
            if release:
                DirectScenario.release(plugin)
            return cache[k]

        def _direct_applies(self, s, plugin) -> bool:
            from pyomo.contrib.solver.solvers.highs import Highs

            loaded = getattr(plugin, "_model", None) is s or getattr(s._mpisppy_data, "lean_columns", None) is not None
            if not isinstance(plugin, Highs) or not loaded or getattr(plugin, "_solver_model", None) is None:
                return False  # not Pyomo's HiGHS interface, or it has not built this scenario's model yet
            model = s._mpisppy_model
            if not attached(s):
                return False  # iteration 0's objective: mpi-sppy's terms are attached after it
            if model.component("SmoothExpr") is not None:
                return False
            lean = getattr(s._mpisppy_data, "own_objective", None)
            return self._goes_direct(s, lean.prox if lean is not None else model.component("ProxExpr") is not None)

        def _goes_direct(self, s, prox: bool) -> bool:
            """What every direct solve of `s` needs, checked when the PH objective is attached
            (`_own_objectives`) and at each solve (`_direct_applies`): no APH, no solver log
            files, the proximal term (if `prox`) linearized, plan variables continuous, the
            objective minimised, no cylinder tightening the plan variables' bounds."""
            if getattr(self, "Ag", None) is not None or self.options.get("solver_log_dir"):
                return False
            if prox and not getattr(self, "_prox_approx", False):
                return False  # a quadratic proximal term
            if any(not v.is_continuous() for v in s._mpisppy_data.nonant_indices.values()):
                return False
            if not _active_objective(s).is_minimizing():
                return False  # the costs pushed are a minimisation's (mpi-sppy subtracts its terms from a maximum)
            return not self._receives_plan_bounds()  # a cylinder tightens the plan variables' bounds in Pyomo

        def solve_one(self, solver_options, k, s, dtiming=False, gripe=False, tee=False, verbose=False,
                      disable_pyomo_signal_handling=False, update_objective=True, need_solution=True,
                      warmstart=sputils.WarmstartStatus.FALSE):
            direct = self._direct_scenario(k, s)
            if direct is None:
                return super().solve_one(solver_options, k, s, dtiming=dtiming, gripe=gripe, tee=tee,
                                         verbose=verbose, disable_pyomo_signal_handling=disable_pyomo_signal_handling,
                                         update_objective=update_objective, need_solution=need_solution,
                                         warmstart=warmstart)
            started = time.time()
            if self.extensions is not None:
                self.extobject.pre_solve(s)
            options = sputils.translate_solver_options(solver_options, self.options.get("solver_name")) \
                if solver_options else {}
            record_outcome(self, s, direct.solve(options), direct.highs, gripe)
            if self.extensions is not None:
                self.extobject.post_solve(s, None)
            return time.time() - started

    DirectSolve.__name__ = DirectSolve.__qualname__ = f"Direct{base.__name__}"
    return DirectSolve


def _lean_extensions(opt) -> bool:
    """Whether the PH objective may go unbuilt for `opt`'s extensions: none of mpi-sppy's own
    (some read the objective's expression or switch its terms in ways the direct solves do not
    follow). hedging.py's ConsensusPlan reads xbar and the plan variables only."""
    extension = getattr(opt, "extobject", None)
    if extension is None:
        return True
    parts = list(getattr(extension, "extdict", {}).values()) if hasattr(extension, "extdict") else [extension]
    return all(not type(e).__module__.startswith("mpisppy.") for e in parts)
