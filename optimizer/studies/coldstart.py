"""Progressive hedging's cold solves and scenario builds at county scale.

Every scenario's HiGHS model is solved once from no basis: the hub's at iteration 0 (the
scenario's own objective, before W and the proximal term), the Lagrangian spoke's in its first
round. mpi-sppy does not count Pyomo's new HiGHS interface as persistent, so it never reloads
a model: Pyomo's first solve loads it, and every later solve of the scenario (through Pyomo's
`update`, or straight to HiGHS, optimizer/studies/direct.py) starts from HiGHS's last basis.

mpi-sppy leaves HiGHS's method at its default, which for an LP is the dual simplex method. At
ewppt-2010 (3,830 columns a scenario) that is 0.1 s, but it grows much faster than the LP: on
an 800-county LP of `ewppt generate` (80,589 columns, 54,972 rows) it had not finished after 2
processor minutes, where interior point with crossover to a vertex, the
engine's own first method (`solver.method = "ipm"`, optimizer/solving/solve.py), takes 12.5 s
(benchmarks/README.md, "Iteration 0 and memory at county scale"). So a cold solve of an LP
with more than `COLD_IPM_COLUMNS` columns runs by interior point with crossover
(`cold_options`), every other solve by HiGHS's default as before.

On such a large LP the later solves run by interior point with crossover too
(`LARGE_ALWAYS_IPM`): at 800 counties the simplex method from iteration 0's vertex, with W and
the proximal term in every cost and about 64,000 new rows of proximal cuts, had not re-solved
a scenario at iteration 1 after 125 processor seconds, where interior point with crossover
re-solved each in about 36 (benchmarks/README.md). Smaller LPs keep the simplex method from the
last basis, which is what makes their re-solves cheap (ewppt-2010: about 0.4 s).

The hub's re-solves of such an LP (with W and the proximal term: progressive hedging reads only
their plan values, never a bound) run without crossover (`ITERATE_OPTIONS`): at 800 counties
the interior point was about 99% of a re-solve and crossover about 1%, but without crossover
the interior point stops at its own tolerance a few iterations sooner, HiGHS keeps no basis
(about 160 MB less a scenario) and the solves land inside the optimal face rather than on a
vertex (benchmarks/README.md, "The hub's re-solves without crossover"). Iteration 0's solves
(their objectives are the trivial bound) and the Lagrangian spoke's (its bounds: without
crossover the objective would be the interior point's primal value, within its tolerance above
the minimum, not a valid bound) keep crossover; an iterate HiGHS does not call optimal is
solved again with it.

The choice depends on the size on purpose: a different optimal vertex at iteration 0 starts
progressive hedging elsewhere (the LP is degenerate: many plans lift the same people), and at
ewppt-2010 interior point's vertex cost 19 iterations against 13 with 3 scenarios
(benchmarks/README.md). Below the threshold every solve is as mpi-sppy would make it, so the
path at ewppt-2010 and in the tests is unchanged; above it, the dual simplex method's cold solve
is what stood between the run and any plan.

The scenario models are loaded into HiGHS by `BulkHighs` (optimizer/solving/loading.py: Pyomo's
persistent interface with its two slow steps in bulk, into exactly the same LP) instead of
Pyomo's own interface: 1.65 instead of 2.7 processor seconds a scenario at 800 counties. Each
is loaded when it is first solved, and after iteration 0 Pyomo's interface lets go of its maps
(`cold_start_class`), so the scenarios' maps are never all held at once.
"""

from __future__ import annotations

COLD_IPM_COLUMNS = 50_000  # columns: above this a solve from no basis runs by interior point + crossover
LARGE_ALWAYS_IPM = True  # and every later solve of such an LP too (the simplex method from the last basis was slower)

_BULK_LEGACY = []


def bulk_legacy_highs():
    """A new solver plugin as mpi-sppy's `SolverFactory("highs")` makes it (Pyomo's legacy
    wrapper around its persistent HiGHS interface), loading models by `BulkHighs`."""
    if not _BULK_LEGACY:
        from pyomo.contrib.solver.common.base import LegacySolverWrapper

        from optimizer.solving.loading import BulkHighs, supported

        if not supported():
            from pyomo.opt import SolverFactory

            return SolverFactory("highs")

        class LegacyBulkHighs(LegacySolverWrapper, BulkHighs):
            pass

        _BULK_LEGACY.append(LegacyBulkHighs)
    return _BULK_LEGACY[0]()


def is_large(highs) -> bool:
    """Whether a cold solve of this HiGHS model runs by interior point (see the module)."""
    return highs.getNumCol() > COLD_IPM_COLUMNS


def cold(highs) -> bool:
    """Whether HiGHS holds no basis for its model (its next solve starts from nothing)."""
    return not highs.getBasis().valid  # (HiGHS's info calls any changed model's basis invalid: not that)


def cold_options(highs) -> dict:
    """HiGHS options for a solve of `highs`'s model from no basis: interior point with crossover
    on a large LP (the engine's own first method), nothing (HiGHS's default) otherwise."""
    return {"solver": "ipm", "run_crossover": "on"} if is_large(highs) else {}


WARM_OPTIONS = {"solver": "choose"}  # HiGHS's defaults again after a cold solve: simplex from the basis

# HiGHS options on top of `cold_options` for a large LP's solve that is a progressive-hedging iterate (the hub's
# re-solves with the proximal term on: only the plan's values are read, for xbar, W and the cuts; never a bound);
# never for the Lagrangian spoke's solves or iteration 0's, whose objectives are bounds. No crossover: at 800
# counties (2 scenarios, 2 iterations) crossover was 0.3 of a re-solve's ~31 processor seconds, but the interior
# point stops at its own tolerance without it (52 to 61 iterations against 57 to 66): the solve loops 5% cheaper,
# the hub's peak memory 315 MB lower (no basis kept), convergence after 2 iterations 0.075 against 0.085.
# ipm_optimality_tolerance 1e-6 saved about 3% more (within the noise): not taken (benchmarks/README.md,
# "The hub's re-solves without crossover")
ITERATE_OPTIONS: dict = {"run_crossover": "off"}


def _option_value(highs, key: str):
    value = highs.getOptionValue(key)
    return value[1] if isinstance(value, tuple) else value  # highspy: (status, value)


def run_highs(highs, options: dict, iterate: bool = False) -> None:
    """Set `options` and run HiGHS on its model; a large LP by interior point with crossover
    (`cold_options`: from no basis, and with `LARGE_ALWAYS_IPM` always), HiGHS's default method
    restored afterwards. With `iterate` (a PH iterate, see `ITERATE_OPTIONS`) a large LP's
    solve takes `ITERATE_OPTIONS` too, and is run again without them if HiGHS does not call
    its solution optimal; their previous values are restored afterwards."""
    extra = cold_options(highs) if is_large(highs) and (LARGE_ALWAYS_IPM or cold(highs)) else {}
    relaxed = {k: v for k, v in ITERATE_OPTIONS.items() if k not in options} if iterate and extra else {}
    kept = {key: _option_value(highs, key) for key in relaxed}
    for key, value in {**options, **extra, **relaxed}.items():
        highs.setOptionValue(key, value)
    try:
        highs.run()
        if relaxed:
            import highspy

            if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:  # again, as without ITERATE_OPTIONS
                for key, value in kept.items():
                    highs.setOptionValue(key, value)
                highs.run()
    finally:
        for key, value in kept.items():
            highs.setOptionValue(key, value)
        for key, value in WARM_OPTIONS.items():
            if key in extra and key not in options:
                highs.setOptionValue(key, value)


def plan_columns(s, plugin) -> dict:
    """{id(variable): HiGHS column} of the variables the scenario's solves read and price: the
    plan variables and the objective's own (Pyomo's interface's map, kept when it drops the
    rest: `lean_columns`)."""
    from optimizer.studies.direct import objective_variables

    columns = plugin._pyomo_var_to_solver_var_map
    kept = {id(v): columns[id(v)] for v in s._mpisppy_data.nonant_indices.values()}
    for v in objective_variables(s):
        kept[id(v)] = columns[id(v)]
    return kept


def objective_columns(s, plugin) -> dict:
    """The scenario's column map, with a column in HiGHS for every variable of its active
    objective (mpi-sppy attaches W and the proximal term, with a new variable q a plan variable,
    after iteration 0). Through Pyomo's `update` while its interface holds the model; once the
    interface has let it go (`lean_columns`), the new variables are appended here as Pyomo's
    update would append them: in the order its walk of the objective meets them, continuous,
    within their bounds, cost 0 (the direct solves push every cost that is not the original
    objective's, optimizer/studies/direct.py)."""
    from optimizer.studies.direct import objective_variables

    lean = getattr(s._mpisppy_data, "lean_columns", None)
    if lean is None:
        plugin.update()
        columns = plugin._pyomo_var_to_solver_var_map
        missing = [v for v in objective_variables(s) if id(v) not in columns]
        if missing:  # the PH objective not built as expressions (direct.OwnObjective): no walk of Pyomo's finds them
            plugin.add_variables(missing)
        return plugin._pyomo_var_to_solver_var_map
    import numpy as np

    new = {}
    for v in objective_variables(s):
        if id(v) not in lean and id(v) not in new:
            if not v.is_continuous():
                raise RuntimeError(f"{v.name}: a new whole variable in the objective after iteration 0")
            new[id(v)] = v
    if new:
        highs = plugin._solver_model
        first = highs.getNumCol()
        lower = np.array([-np.inf if v.lb is None else v.lb for v in new.values()], dtype=float)
        upper = np.array([np.inf if v.ub is None else v.ub for v in new.values()], dtype=float)
        highs.addVars(len(new), lower, upper)
        lean.update(zip(new, range(first, first + len(new))))
    return lean


def column_map(s, plugin) -> dict:
    """The scenario's column map as it stands (`lean_columns`, else Pyomo's interface's)."""
    lean = getattr(s._mpisppy_data, "lean_columns", None)
    return lean if lean is not None else plugin._pyomo_var_to_solver_var_map


def cold_start_class(base, release: bool = True):
    """`base` (direct.direct_solve_class's class over mpi-sppy's PH or PHBase) whose scenario
    models are loaded into HiGHS by `BulkHighs` one at a time, when the scenario is first
    solved, and whose iteration-0 solves go straight to HiGHS as well: from no basis (by interior
    point with crossover on a large LP, `run_highs`), every variable's value loaded into Pyomo as
    Pyomo's solve loads them. With `release`, Pyomo's interface then drops its maps and helpers
    at once (direct.DirectScenario.release), keeping only the plan variables' and the
    objective's columns (`lean_columns`): the next scenario is loaded into the memory they held,
    so no two scenarios' maps are held at once."""
    from mpisppy.utils import sputils

    class ColdStart(base):
        def _create_solvers(self, presolve=True):
            """mpi-sppy's `SPOpt._create_solvers` (a plugin a scenario; mpi-sppy does not count
            Pyomo's new interface as persistent, so its first solve loads the model), with the
            plugin loading in bulk."""
            if self.options["solver_name"] != "highs":
                return super()._create_solvers(presolve=presolve)
            for s in self.local_scenarios.values():
                s._solver_plugin = bulk_legacy_highs()

        def _cold_applies(self, s, plugin) -> bool:
            from pyomo.contrib.solver.solvers.highs import Highs

            return (isinstance(plugin, Highs) and getattr(self, "Ag", None) is None
                    and not self.options.get("solver_log_dir")
                    and all(v.is_continuous() for v in s._mpisppy_data.nonant_indices.values()))

        def solve_one(self, solver_options, k, s, dtiming=False, gripe=False, tee=False, verbose=False,
                      disable_pyomo_signal_handling=False, update_objective=True, need_solution=True,
                      warmstart=sputils.WarmstartStatus.FALSE):
            from optimizer.studies.direct import attached

            plugin = s._solver_plugin
            applies = self._cold_applies(s, plugin)
            if applies and getattr(plugin, "_solver_model", None) is None:
                plugin.set_instance(s)  # loaded here rather than by Pyomo's solve, so it can be let go after
            if applies and not attached(s) and not tee:
                return self._iteration_0(solver_options, s, gripe)
            return super().solve_one(solver_options, k, s, dtiming=dtiming, gripe=gripe, tee=tee, verbose=verbose,
                                     disable_pyomo_signal_handling=disable_pyomo_signal_handling,
                                     update_objective=update_objective, need_solution=need_solution,
                                     warmstart=warmstart)

        def _iteration_0(self, solver_options, s, gripe) -> float:
            """The scenario's own objective solved straight with HiGHS, as mpi-sppy's solve_one
            through Pyomo's interface would (the same LP and options; every value loaded)."""
            import time

            import highspy
            import numpy as np

            started = time.time()
            plugin = s._solver_plugin
            highs = plugin._solver_model
            if self.extensions is not None:
                self.extobject.pre_solve(s)
            options = sputils.translate_solver_options(solver_options, self.options.get("solver_name")) \
                if solver_options else {}
            highs.setOptionValue("output_flag", False)
            run_highs(highs, options)
            objective = None
            if highs.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                objective = highs.getInfo().objective_function_value
                values = np.asarray(highs.getSolution().col_value)
                for vid, column in plugin._pyomo_var_to_solver_var_map.items():
                    plugin._vars[vid][0].set_value(float(values[column]), skip_validation=True)
            from optimizer.studies.direct import DirectScenario, record_outcome

            record_outcome(self, s, objective, highs, gripe)
            if release:
                s._mpisppy_data.lean_columns = plan_columns(s, plugin)
                DirectScenario.release(plugin)
            if self.extensions is not None:
                self.extobject.post_solve(s, None)
            return time.time() - started

    ColdStart.__name__ = ColdStart.__qualname__ = f"ColdStart{base.__name__}"
    return ColdStart
