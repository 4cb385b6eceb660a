"""Progressive hedging's cold solves and scenario builds at county scale.

Every scenario's HiGHS model is solved once from no basis: the hub's at iteration 0 (the
scenario's own objective, before W and the proximal term), the Lagrangian spoke's in its first
round. mpi-sppy does not count Pyomo's new HiGHS interface as persistent, so it never reloads
a model: Pyomo's first solve loads it, and every later solve of the scenario (through Pyomo's
`update`, or straight to HiGHS, optimizer/studies/direct.py) starts from HiGHS's last basis.

mpi-sppy leaves HiGHS's method at its default, which for an LP is the dual simplex method. At
ewppt-2010 (about 35,000 columns) that is a few seconds a scenario, but it grows much faster
than the LP: on an 800-county LP of `ewppt generate` (80,589 columns, 54,972 rows) it had not
finished after 2 processor minutes, where interior point with crossover to a vertex, the
engine's own first method (`solver.method = "ipm"`, optimizer/solving/solve.py), takes 12.5 s
(benchmarks/README.md, "Iteration 0 and memory at county scale"). So a cold solve of an LP
with more than `COLD_IPM_COLUMNS` columns runs by interior point with crossover
(`cold_options`), every other solve by HiGHS's default as before.

The choice depends on the size on purpose: a different optimal vertex at iteration 0 starts
progressive hedging elsewhere (the LP is degenerate: many plans lift the same people), and at
ewppt-2010 interior point's vertex cost 19 iterations against 13 with 3 scenarios
(benchmarks/README.md). Below the threshold every solve is as mpi-sppy would make it, so the
path at ewppt-2010 and in the tests is unchanged; above it, the dual simplex method's cold solve
is what stood between the run and any plan.

The scenario models are built by `BulkHighs` (optimizer/solving/loading.py: Pyomo's persistent
interface with its two slow steps in bulk, into exactly the same LP) instead of Pyomo's own
interface: 1.8 s instead of about 10 s a scenario at 800 counties.
"""

from __future__ import annotations

COLD_IPM_COLUMNS = 50_000  # columns: above this a solve from no basis runs by interior point + crossover

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


def run_highs(highs, options: dict) -> None:
    """Set `options` and run HiGHS on its model; from no basis on a large LP by interior point
    with crossover (`cold_options`), HiGHS's default method restored afterwards."""
    extra = cold_options(highs) if is_large(highs) and cold(highs) else {}
    for key, value in {**options, **extra}.items():
        highs.setOptionValue(key, value)
    try:
        highs.run()
    finally:
        for key, value in WARM_OPTIONS.items():
            if key in extra and key not in options:
                highs.setOptionValue(key, value)


def cold_start_class(base):
    """`base` (mpi-sppy's PH or PHBase, or a subclass, e.g. direct.direct_solve_class's) whose
    scenario models are loaded into HiGHS by `BulkHighs`, and whose iteration-0 solves of large
    LPs run by interior point with crossover (`cold_options`), through mpi-sppy's own
    `solve_one` (the solver options it passes to Pyomo's interface)."""

    class ColdStart(base):
        def _create_solvers(self, presolve=True):
            """mpi-sppy's `SPOpt._create_solvers` (one persistent plugin a scenario, its model
            loaded by `set_instance`), with the plugin loading in bulk."""
            if self.options["solver_name"] != "highs":
                return super()._create_solvers(presolve=presolve)
            from mpisppy.spopt import set_instance_retry

            for name, s in self.local_scenarios.items():
                s._solver_plugin = bulk_legacy_highs()
                set_instance_retry(s, s._solver_plugin, name)

        def solve_one(self, solver_options, k, s, *args, **kwargs):
            plugin = getattr(s, "_solver_plugin", None)
            highs = getattr(plugin, "_solver_model", None)
            extra = {}
            if highs is not None and s._mpisppy_model.component("WExpr") is None and is_large(highs) and cold(highs):
                extra = cold_options(highs)  # iteration 0 through Pyomo's interface, as mpi-sppy solves it
            if not extra:
                return super().solve_one(solver_options, k, s, *args, **kwargs)
            try:
                return super().solve_one({**(solver_options or {}), **extra}, k, s, *args, **kwargs)
            finally:  # Pyomo's interface keeps its options between solves, and so does HiGHS
                for key in extra:
                    plugin.options.pop(key, None)
                for key, value in WARM_OPTIONS.items():
                    if key in extra:
                        highs.setOptionValue(key, value)

    ColdStart.__name__ = ColdStart.__qualname__ = f"ColdStart{base.__name__}"
    return ColdStart
