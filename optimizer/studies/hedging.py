"""Progressive hedging with mpi-sppy over MPI: the expected-value robust plan without the extensive form.

When the extensive form (optimizer/studies/robust.py) outgrows one machine, the same plan can be
found by decomposition: each MPI rank builds only its own scenarios' models (the ordinary model
of that scenario's instance, capacities at their worst, optimizer/studies/uncertainty.py), and
mpi-sppy's progressive hedging (Rockafellar and Wets) solves them one by one with HiGHS, pulling
their allocations x (and a relaxed MIP's whole decisions: funds, projects, cadres) together with
a proximal term and prices w:

    scenario s, iteration k:  min  -P_s(x_s) + w_s . x_s + rho/2 |x_s - xbar|^2   over scenario s's model
    xbar = sum_s p_s x_s,     w_s += rho (x_s - xbar)

The proximal term is linearized (mpi-sppy's `linearize_proximal_terms`: tangent cuts to the
square, so every subproblem stays an LP that HiGHS's simplex solves; with the quadratic term
HiGHS's QP solver took minutes a subproblem on ewppt-2010). The cuts are updated after every
solve by optimizer/studies/proximal.py (the closed-form projection onto the parabola for all
plan variables at once, the cuts into HiGHS as rows), in a subclass of mpi-sppy's PH. The
scenario solves of the hub and of the spoke go straight to HiGHS (optimizer/studies/direct.py:
W and the proximal terms pushed as column costs, HiGHS's basis kept, only the plan variables
read back), not through Pyomo's persistent interface. Each scenario is loaded into HiGHS in
bulk when first solved, Pyomo's interface lets go of its maps after iteration 0, and an LP of
more than 50,000 columns is solved by interior point with crossover rather than the simplex
method (optimizer/studies/coldstart.py).

When to stop is decided by bounds, not by the plans agreeing flow by flow (an LP has whole faces
of optimal plans, so the scenarios' x_s can keep differing on flows that do not matter while
the plan is already optimal). mpi-sppy's hub-and-spoke layout runs two cylinders on the ranks:

- the hub runs progressive hedging; after every iteration `ConsensusPlan` (below) takes the
  consensus xbar as a plan and evaluates it in every scenario from the plan alone
  (optimizer.studies.robust.evaluate_plan). xbar is a plan that keeps every rule: the rules on
  the plan are the same in every scenario (capacities at their worst in all of them), so an
  average of plans that keep them keeps them. Its expected people lifted is an inner bound,
  and the best such plan is the answer;
- the spoke (mpi-sppy's LagrangianOuterBound) solves every scenario with the hub's latest
  prices w and no proximal term: sum_s p_s min(-P_s + w_s . x_s) is an outer bound (the prices
  sum to zero over the scenarios), so no plan lifts more people in expectation than it says.

The run stops when the relative gap (outer - inner) / outer is below `gap` (the tolerance: the
plan returned lifts, in expectation, at least (1 - gap) times the optimum), or at the iteration
limit. The best plan is then re-split over the years by `solve`'s steady stage, holding what
it lifts in every scenario (`_steady`). Only the `expected` risk measure decomposes so (CVaR and the worst case couple the
scenarios through their shared eta); an LP only (the consensus of relaxed whole decisions is
not a plan).

    mpiexec -n 2 python -m optimizer.studies.hedging INSTANCE UNCERTAINTY.toml OUT.json

runs it on an even number of ranks (half the hub's, half the spoke's; rank 0 writes OUT.json:
the plan, both bounds, iterations); `hedge(...)` starts that command and reads the plan back.
While the ranks run, the hub's rank 0 appends a line to `progress.jsonl` in the same folder after
every iteration (HedgingProgress: the best plan and bound so far, the gap, seconds, its processor
seconds), which `hedge` hands to its `on_iteration` as it comes (the command line's status line).
Each rank draws the scenarios from the files itself: they are a pure function of the
uncertainty file and its seed, so every rank has the same set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.data.errors import InvalidInstance, Problem

# people per million yuan squared: the proximal weight. At 1 the first prices overshoot (on ewppt-2010 with 10
# scenarios every Lagrangian bound is worse than the wait-and-see one for six iterations, 22 iterations to 0.2%);
# 0.5 took 9 there, and 42 against 45 on 30 generated counties with 4 scenarios, where 0.25 (8 on ewppt-2010)
# took 63 (benchmarks/README.md, bench_hedging.py, "Fewer and cheaper iterations")
DEFAULT_RHO = 0.5
DEFAULT_ITERATIONS = 200
DEFAULT_GAP = 2e-3  # relative: the plan lifts at least 99.8% of the optimum in expectation (the effects move by 30%)
PROXIMAL_TOLERANCE = 0.1  # million yuan: how close the tangent cuts of the linearized proximal term lie
PROGRESS_FILE = "progress.jsonl"  # in the ranks' folder: the hub's line a iteration (HedgingProgress)
POLL = 0.25  # seconds between the parent's looks at the ranks and their progress file
STOP_WAIT = 2.0  # seconds mpiexec has to stop its ranks (SIGTERM) before what is left of them is killed


@dataclass(frozen=True)
class HedgingProgress:
    """Where progressive hedging stands after an iteration: a line of its trajectory, written by
    the hub as it goes (`hedge`'s `on_iteration` gets each as it comes; HedgingResult.trajectory
    and run.json's robust record keep them all). The last line may repeat the last iteration
    with the bound the spoke sent after it (the result's bound)."""

    iteration: int
    expected: float  # the best consensus plan so far: expected people lifted (the inner bound)
    bound: float | None  # the best outer bound so far (no plan lifts more); None before the spoke's first
    gap: float | None  # (bound - expected) / bound, certified; None until there is a bound
    seconds: float  # since the ranks began their work (after their imports)
    cpu_s: float  # the hub rank's processor seconds so far

    def describe(self) -> str:
        """'iteration 7, plan 226,325 people, bound 226,669, gap 0.152%' (three decimals: a
        gap of 0.2036% must not read as the 0.20% asked)."""
        from optimizer.data import numbers

        text = f"iteration {self.iteration:,}, plan {numbers.people(self.expected)} people"
        if self.bound is None:
            return text + ", no bound yet"
        return text + f", bound {numbers.people(self.bound)}, gap {numbers.share(self.gap, 3)}"


@dataclass
class HedgingResult:
    status: str  # optimal (within the gap) | iteration_limit | failed | numerical
    allocation: pd.DataFrame  # donor, recipient, instrument, category, year, aid: the best consensus plan
    decisions: pd.DataFrame  # its relaxed funds, projects and cadres (optimizer.solving.results.decision_table)
    expected: float  # the plan's objective in expectation over the scenarios (the inner bound)
    bound: float  # no plan does better in expectation (the Lagrangian outer bound)
    iterations: int
    ranks: int
    message: str = ""
    timings: dict = field(default_factory=dict)
    scenarios: pd.DataFrame = field(default_factory=pd.DataFrame)  # the design, and the plan's people lifted in each
    result: object = None  # the same plan as a Result (optimizer.solving.results), as `robust` gives
    peak_mb: list = field(default_factory=list)  # every rank's peak resident memory, MB (rank order)
    where: list = field(default_factory=list)  # every rank's host name and network namespace (rank order)
    cpu_s: list = field(default_factory=list)  # every rank's processor seconds (rank order)
    # per spoke rank, every outer bound it computed at the hub's prices (optimizer/studies/outer_bound.py)
    spoke_bounds: list = field(default_factory=list)
    trajectory: list = field(default_factory=list)  # HedgingProgress after every iteration, in order

    @property
    def gap(self) -> float:
        """(bound - expected) / bound: how far the plan may be from the optimum, relative."""
        return _gap(self.expected, self.bound)

    def write(self, out_dir: str | Path) -> list[Path]:
        """`robust`'s result folder: allocation, kpis, decisions, scenarios (the plan's objective
        and people lifted in every scenario), empty duals and binding, and run.json (with the
        bound and the gap), replacing the folder as a whole; `ewppt report` reads it."""
        return self.result.write(out_dir)


def scenario_creator(scenario_name: str, instance_path: str = "", uncertainty_path: str = "", objective: str = ""):
    """Scenario `scenario<id>`'s model for mpi-sppy: the ordinary model of its instance with the
    objective `minimise -P_s` and the plan (x and any relaxed whole decisions) as the root
    node's non-anticipative variables."""
    import pyomo.environ as pyo
    from mpisppy.utils import sputils

    from models.assemble import build_model

    scenarios = _scenarios(instance_path, uncertainty_path)
    s = int(scenario_name.removeprefix("scenario"))
    instance = scenarios.instance(s)
    model = build_model(instance, instance.scenario.override(**{"scenario.year_profile": "free"}))
    people = (sum(model.weight[w] * model.z[w] for w in model.recipients) if objective == "weighted_people_lifted"
              else sum(model.z[w] for w in model.recipients))
    model.objective.deactivate()
    model.hedging_objective = pyo.Objective(expr=-people, sense=pyo.minimize)
    sputils.attach_root_node(model, 0.0, _plan_variables(model))
    model._mpisppy_probability = float(scenarios.probabilities[s])
    return model


def _plan_variables(model) -> list:
    """The variables every scenario shares: the flows x, and the funds y, projects v, cadres c."""
    return [model.x] + [v for v in (model.component("y"), model.component("v"), model.component("c"))
                        if v is not None and len(v)]


_CACHE: dict = {}


def _scenarios(instance_path: str, uncertainty_path: str):
    key = (instance_path, uncertainty_path)
    if key not in _CACHE:
        from optimizer.data.io import load_instance
        from optimizer.studies.uncertainty import load_uncertainty, scenario_set

        _CACHE[key] = scenario_set(load_uncertainty(uncertainty_path), load_instance(instance_path),
                                   Path(uncertainty_path).name)
    return _CACHE[key]


def plan_tables(model, values: dict, kpi_instance=None) -> tuple[pd.DataFrame, ...]:
    """The allocation and decision tables of the plan `values` ({variable name: value}) on
    `model`, read by the same code as `solve`'s tables (the model's own values are restored);
    with `kpi_instance`, also the kpis table evaluated on that instance."""
    from optimizer.solving.results import allocation_table, decision_table, kpi_table

    variables = [v for component in _plan_variables(model) for v in component.values()]
    kept = [v.value for v in variables]
    try:
        for v in variables:
            v.set_value(values.get(v.name, 0.0), skip_validation=True)
        allocation, decisions = allocation_table(model), decision_table(model)
        if kpi_instance is None:
            return allocation, decisions
        return allocation, decisions, kpi_table(model, kpi_instance, allocation)
    finally:
        for v, value in zip(variables, kept):
            v.set_value(value, skip_validation=True)


def _hub_classes():
    """The hub's extension and converger (mpi-sppy is imported only under MPI: it prints a
    banner on import)."""
    from mpi4py import MPI
    from mpisppy.convergers.converger import Converger
    from mpisppy.extensions.extension import Extension

    class ConsensusPlan(Extension):
        """The hub's inner bound: after every iteration, the consensus xbar as a plan, evaluated
        in every scenario from the plan alone; the best one is kept."""

        def __init__(self, ph, instance_path: str = "", uncertainty_path: str = "", objective: str = "",
                     progress_path: str = "", started: float = 0.0):
            super().__init__(ph)
            scenarios = _scenarios(instance_path, uncertainty_path)
            self.local = [int(name.removeprefix("scenario")) for name in ph.local_scenarios]
            self.instances = [scenarios.instance(s) for s in self.local]
            self.probabilities = scenarios.probabilities[self.local]
            self.objective = objective
            self.best_expected = -np.inf
            self.best_values: dict | None = None
            # the trajectory: a line a iteration, appended to `progress_path` by the hub's rank 0
            self.progress_path, self.started = progress_path, started
            self.trajectory: list[dict] = []

        def note(self, outer_bound: float) -> None:
            """The trajectory's line for this iteration (`outer_bound` the hub's best, in its
            minimising sign), appended to the progress file and flushed for the parent to read."""
            if not self.progress_path or self.opt.cylinder_rank != 0:
                return
            line = _progress_line(int(self.opt._PHIter), self.best_expected, -outer_bound, self.started)
            self.trajectory.append(line)
            with open(self.progress_path, "a", encoding="utf-8") as file:  # closed: flushed
                file.write(json.dumps(line) + "\n")

        def miditer(self):  # xbar has just been computed
            from optimizer.studies.robust import evaluate_plan

            model = next(iter(self.opt.local_scenarios.values()))
            xbars = model._mpisppy_model.xbars
            values = {var.name: float(xbars[key].value) for key, var in model._mpisppy_data.nonant_indices.items()}
            allocation, decisions = plan_tables(model, values)
            plan = _Plan(allocation, decisions)
            values_here = evaluate_plan(plan, self.instances, self.objective)["objective"]
            expected = self.opt.mpicomm.allreduce(float(np.dot(self.probabilities, values_here)), op=MPI.SUM)
            if expected > self.best_expected:
                self.best_expected, self.best_values = expected, values
            spcomm = self.opt.spcomm
            if spcomm is not None:
                spcomm.BestInnerBound = spcomm.InnerBoundUpdate(-expected, char="C")
                self.note(spcomm.BestOuterBound)

    class WithinGap(Converger):
        """Stops progressive hedging once the relative gap between the bounds is at most the
        tolerance (mpi-sppy's hub stops on a gap only with an inner-bound spoke; here the hub
        finds its inner bound itself, and this spares a third cylinder)."""

        def __init__(self, ph):
            self.opt, self.conv = ph, None

        def is_converged(self) -> bool:
            spcomm = self.opt.spcomm
            if spcomm is None:
                return False
            _, self.conv = spcomm.compute_gaps()
            return self.opt.allreduce_or(self.conv <= spcomm.options["rel_gap"])

    return ConsensusPlan, WithinGap


def _closed_form_ph(direct: bool = True, solve: str = "direct"):
    """mpi-sppy's PH with the linearized proximal cuts updated by the closed-form projection
    (optimizer/studies/proximal.py) instead of scipy's least_squares one variable at a time;
    `solve` "direct" solves the scenarios straight with HiGHS (optimizer/studies/direct.py),
    "pyomo" through Pyomo's persistent interface (mpi-sppy's own solve, for comparison)."""
    from mpisppy.opt.ph import PH

    from optimizer.studies.coldstart import cold_start_class
    from optimizer.studies.direct import direct_solve_class
    from optimizer.studies.proximal import ClosedFormUpdates

    sync = solve != "direct"

    class ClosedFormPH(cold_start_class(direct_solve_class(PH)) if solve == "direct" else PH):
        def _update_prox_approx(self):
            if not hasattr(self, "_closed_form"):
                self._closed_form = ClosedFormUpdates(direct, sync=sync)
            self._closed_form.update(self)

    return ClosedFormPH


def _lagrangian_spoke_class():
    """mpi-sppy's Lagrangian spoke, pausing between its looks for new prices and keeping every
    bound it computes (optimizer/studies/outer_bound.py)."""
    from optimizer.studies.outer_bound import lagrangian_spoke_class

    return lagrangian_spoke_class()


def _lagrangian_opt(solve: str = "direct"):
    """The Lagrangian spoke's PHBase, its scenario solves straight with HiGHS for "direct"."""
    from mpisppy.phbase import PHBase

    from optimizer.studies.coldstart import cold_start_class
    from optimizer.studies.direct import direct_solve_class

    return cold_start_class(direct_solve_class(PHBase)) if solve == "direct" else PHBase


def _progress_line(iteration: int, expected: float, bound: float, started: float) -> dict:
    """A line of the trajectory (HedgingProgress's fields) as the hub's rank 0 writes it: the
    best plan's and the best outer bound's people lifted (a bound None before the spoke's
    first), the certified gap, the seconds since the ranks started and this rank's processor
    seconds."""
    import resource
    import time

    usage = resource.getrusage(resource.RUSAGE_SELF)
    bound = _finite(bound)
    return {"iteration": iteration, "expected": float(expected), "bound": bound,
            "gap": None if bound is None else _gap(float(expected), bound),
            "seconds": time.perf_counter() - started, "cpu_s": usage.ru_utime + usage.ru_stime}


@dataclass
class _Plan:
    allocation: pd.DataFrame
    decisions: pd.DataFrame


def run_ranks(instance_path: str, uncertainty_path: str, out: str, rho: float = DEFAULT_RHO,
              iterations: int = DEFAULT_ITERATIONS, gap: float = DEFAULT_GAP, projection: str = "closed",
              solve: str = "direct") -> None:
    """The MPI program: progressive hedging on half the ranks, Lagrangian bounds on the other
    half; rank 0 writes the best consensus plan (allocation.csv, decisions.csv) and both bounds
    (record.json, with every rank's peak resident memory) to the folder `out`. `projection`
    "scipy" keeps mpi-sppy's own per-variable update of the proximal cuts, `solve` "pyomo" mpi-sppy's
    solves through Pyomo's persistent interface (both for comparison)."""
    import resource
    import time

    from mpi4py import MPI
    from mpisppy.spin_the_wheel import WheelSpinner
    from mpisppy.utils import cfg_vanilla as vanilla
    from mpisppy.utils import config

    from optimizer.data.io import load_instance

    started = time.perf_counter()
    objective = load_instance(instance_path).scenario.objective
    names = [f"scenario{s}" for s in range(len(_scenarios(instance_path, uncertainty_path).design))]
    cfg = config.Config()
    cfg.popular_args()
    cfg.ph_args()
    cfg.two_sided_args()
    cfg.lagrangian_args()
    cfg.solver_name = "highs"
    cfg.default_rho = rho
    cfg.max_iterations = iterations
    cfg.rel_gap = gap
    cfg.max_stalled_iters = iterations  # stop on the gap or the limit, not on a pause of the bounds
    cfg.intra_hub_conv_thresh = -1.0  # never on the plans agreeing flow by flow (see the module's text)
    cfg.linearize_proximal_terms = True
    cfg.proximal_linearization_tolerance = PROXIMAL_TOLERANCE
    cfg.lagrangian = True
    kwargs = {"instance_path": instance_path, "uncertainty_path": uncertainty_path, "objective": objective}
    consensus_plan, within_gap = _hub_classes()
    progress_path = Path(out) / PROGRESS_FILE
    hub = vanilla.ph_hub(cfg, scenario_creator, None, names, scenario_creator_kwargs=kwargs,
                         ph_extensions=consensus_plan, ph_converger=within_gap,
                         extension_kwargs={**kwargs, "progress_path": str(progress_path), "started": started})
    if projection == "closed":
        hub["opt_class"] = _closed_form_ph(solve=solve)
    spoke = vanilla.lagrangian_spoke(cfg, scenario_creator, None, names, scenario_creator_kwargs=kwargs)
    spoke["opt_class"] = _lagrangian_opt(solve)
    spoke["spoke_class"] = _lagrangian_spoke_class()
    wheel = WheelSpinner(hub, [spoke])
    wheel.spin()
    peak_mb = MPI.COMM_WORLD.gather(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, root=0)
    where = MPI.COMM_WORLD.gather(_where(), root=0)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = MPI.COMM_WORLD.gather(usage.ru_utime + usage.ru_stime, root=0)
    spoke_bounds = MPI.COMM_WORLD.gather(None if wheel.on_hub() else getattr(wheel.spcomm, "bounds", None), root=0)
    if not wheel.on_hub() or wheel.cylinder_rank != 0:
        return
    opt = wheel.spcomm.opt
    extension = opt.extobject
    if hasattr(extension, "extdict"):  # mpi-sppy wraps several extensions in one
        extension = next(e for e in extension.extdict.values() if hasattr(e, "best_values"))
    folder = Path(out)
    trajectory = extension.trajectory
    if extension.best_values is not None and (not trajectory or trajectory[-1]["bound"] != _finite(-wheel.BestOuterBound)):
        extension.note(wheel.BestOuterBound)  # the bound the spoke sent after the last iteration's line
    if extension.best_values is not None:
        plan_instance = _scenarios(instance_path, uncertainty_path).plan_instance
        tables = plan_tables(next(iter(opt.local_scenarios.values())), extension.best_values, plan_instance)
        for name, table in zip(("allocation", "decisions", "kpis"), tables):
            table.to_csv(folder / f"{name}.csv", index=False)
    record = {"expected": float(extension.best_expected), "bound": -float(wheel.BestOuterBound),
              "iterations": int(opt._PHIter), "ranks": MPI.COMM_WORLD.size, "gap": gap,
              "seconds": time.perf_counter() - started, "peak_mb": peak_mb, "cpu_s": cpu_s, "where": where,
              "projection": projection, "solve": solve,
              "spoke_bounds": [b for b in (spoke_bounds or []) if b is not None], "trajectory": trajectory}
    (folder / "record.json").write_text(json.dumps(record), encoding="utf-8")


def hedge(instance, uncertainty_path: str | Path, ranks: int = 2, rho: float = DEFAULT_RHO,
          iterations: int = DEFAULT_ITERATIONS, gap: float = DEFAULT_GAP,
          hosts: str = "127.0.0.1", timeout: float = 3600, projection: str = "closed",
          solve: str = "direct", on_iteration: Callable[[HedgingProgress], None] | None = None) -> HedgingResult:
    """The expected-value robust plan by progressive hedging on `ranks` MPI processes (an even
    number: half run progressive hedging, half the Lagrangian bound; Open MPI's or MPICH's
    `mpiexec`, on `hosts`). `instance` is a path or a loaded Instance (written to a workbook for
    the ranks, with any overrides). The plan lifts, in expectation, at least (1 - gap) of the
    optimum when the status is `optimal`. `projection` "scipy" runs mpi-sppy's own update of the
    proximal cuts instead of the closed form, `solve` "pyomo" solves the scenarios through Pyomo's
    persistent interface instead of straight with HiGHS (optimizer/studies/direct.py; both for
    benchmarks only). On hosts other than 127.0.0.1
    the launcher and interfaces come from the environment (docs/robust.md, "On several hosts").
    `on_iteration` is called in this thread with each HedgingProgress as the hub writes it (the
    iteration, the best plan and bound so far, the gap); the result's `trajectory` has them all.
    A run that does not end within `timeout` seconds is stopped and reported as failed; Ctrl-C
    (or an exception from `on_iteration`) stops it too, and is raised. No rank is left running.
    Raises InvalidInstance when MPI or mpi-sppy is missing,
    the instance is a MIP, or `ranks` is odd."""
    from optimizer.data.io import Instance, load_instance, write_instance_xlsx

    loaded = instance if isinstance(instance, Instance) else load_instance(instance)
    where = str(loaded.path)
    from models.robust import RISK_OBJECTIVES
    from optimizer.data.scaling import require_plain

    require_plain(loaded, "hedge")
    if loaded.scenario.objective not in RISK_OBJECTIVES:
        raise InvalidInstance([Problem(where, "progressive hedging maximises expected people lifted; expected "
                                       f"{' or '.join(RISK_OBJECTIVES)}", key="scenario.objective",
                                       value=loaded.scenario.objective)])
    if _is_mip(loaded):
        raise InvalidInstance([Problem(where, "progressive hedging here solves LPs only (the consensus of relaxed "
                                       "whole decisions is not a plan); give --set scenario.model=lp, or use the "
                                       "extensive form for a MIP (ewppt robust)", key="scenario.model")])
    if ranks < 2 or ranks % 2:
        raise InvalidInstance([Problem("--ranks", "progressive hedging runs on an even number of ranks, at least 2 "
                                       "(half hedge, half compute the Lagrangian bound)", value=ranks)])
    if not 0 < gap < 1:
        raise InvalidInstance([Problem("--gap", "expected a relative gap between 0 and 1, e.g. 0.002", value=gap)])
    if solve not in ("direct", "pyomo"):
        raise InvalidInstance([Problem("solve", "expected direct (straight with HiGHS) or pyomo", value=solve)])
    from optimizer.studies.uncertainty import load_uncertainty, scenario_set

    # the uncertainty's problems with this instance are reported here, once, not by every rank
    drawn = scenario_set(load_uncertainty(uncertainty_path), loaded, Path(uncertainty_path).name)
    plan_instance = drawn.plan_instance
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        raise InvalidInstance([Problem("mpiexec", "no MPI found: install Debian's openmpi-bin (or mpich)")])
    import importlib.util

    missing = [m for m in ("mpi4py", "mpisppy") if importlib.util.find_spec(m) is None]
    if missing:  # (not imported here: mpi-sppy prints a banner on import)
        raise InvalidInstance([Problem("mpi-sppy", f"not installed ({', '.join(missing)}): pip install -e \".[hedging]\"")])
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        path = Path(instance) if not isinstance(instance, Instance) else out / "instance.xlsx"
        if isinstance(instance, Instance):
            write_instance_xlsx(instance, path)
        env = {**_without_launch_context(os.environ), "OMPI_ALLOW_RUN_AS_ROOT": "1",
               "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1"}
        env.setdefault("OMPI_MCA_odls_base_sigkill_timeout", "0")  # stopped, mpiexec ends its ranks at once, not after 1 s
        env.setdefault("OMPI_MCA_btl", "self,vader,tcp")
        forward = []
        if _only_loopback(hosts):  # one machine: MPI's traffic stays on the loopback interface
            env.update(OMPI_MCA_btl_tcp_if_include="lo", OMPI_MCA_oob_tcp_if_include="lo")
        else:
            # mpi-sppy's cylinders share bounds through MPI one-sided windows; between hosts over TCP,
            # Open MPI 4.1 has only its pt2pt window component, which refuses MPI_THREAD_MULTIPLE
            # (mpi4py's default). The interfaces (OMPI_MCA_btl_tcp_if_include, ..._oob_...) and the
            # launcher (ssh, or OMPI_MCA_plm_rsh_agent) are the caller's environment's (docs/robust.md).
            env.setdefault("OMPI_MCA_osc", "pt2pt")
            env.setdefault("MPI4PY_RC_THREAD_LEVEL", "single")
            forward = ["-x", "MPI4PY_RC_THREAD_LEVEL", "-x", "PYTHONPATH"]
        command = [mpiexec, "-n", str(ranks), *forward, "--host", _host_slots(hosts, ranks), sys.executable, "-m",
                   "optimizer.studies.hedging", str(path.resolve()), str(Path(uncertainty_path).resolve()), str(out),
                   "--rho", str(rho), "--iterations", str(iterations), "--gap", str(gap), "--projection", projection,
                   "--solve", solve]
        # run in the scratch folder: mpi-sppy writes hub.log into the working directory
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        with open(out / "ranks.log", "w", encoding="utf-8") as log:  # mpiexec's and the ranks' output
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=scratch)
            finished, seen = _follow(process, out / PROGRESS_FILE, timeout, on_iteration)
        if not finished or process.returncode != 0 or not (out / "allocation.csv").exists():
            lines = (out / "ranks.log").read_text(encoding="utf-8", errors="replace").strip().splitlines()
            tail = ([line for line in lines if "Error" in line or "error:" in line][-2:] or lines[-5:]
                    or [f"mpiexec exited with code {process.returncode} and printed nothing"])
            if not finished:
                tail = [f"no plan within the timeout of {timeout:g} s; the ranks were stopped"
                        + (f" at {seen[-1].describe()}" if seen else " before the first iteration")]
            return HedgingResult("failed", pd.DataFrame(), pd.DataFrame(), float("nan"), float("nan"), 0, ranks,
                                 " | ".join(tail), trajectory=seen)
        record = json.loads((out / "record.json").read_text(encoding="utf-8"))
        allocation = pd.read_csv(out / "allocation.csv", dtype={"donor": str, "recipient": str, "instrument": str,
                                                                "category": str})
        decisions = pd.read_csv(out / "decisions.csv", keep_default_na=False, dtype=str)
        decisions = decisions.assign(year=pd.to_numeric(decisions["year"]).astype("Int64"),
                                     count=decisions["count"].astype(float), money=decisions["money"].astype(float))
        kpis = pd.read_csv(out / "kpis.csv", dtype={"recipient": str})
    hedged = HedgingResult("optimal" if _gap(record["expected"], record["bound"]) <= gap else "iteration_limit", allocation, decisions,
                           record["expected"], record["bound"], record["iterations"], record["ranks"],
                           timings={"hedging": record["seconds"]}, peak_mb=record.get("peak_mb", []),
                           where=record.get("where", []), cpu_s=record.get("cpu_s", []),
                           spoke_bounds=[[None if b is None else -b for b in bounds]
                                         for bounds in record.get("spoke_bounds", [])],
                           trajectory=[HedgingProgress(**line) for line in record.get("trajectory", [])])
    from optimizer.solving.recheck import recheck
    from optimizer.studies.robust import evaluate_plan

    instances = [drawn.instance(s) for s in range(len(drawn.design))]
    values = evaluate_plan(hedged, instances, loaded.scenario.objective)
    hedged.scenarios = drawn.design.assign(robust_plan=values["objective"],
                                           robust_plan_people_lifted=values["people_lifted"],
                                           robust_plan_people_lifted_by_plan_end=values["people_lifted_by_plan_end"])
    # the plan must keep every rule (capacities at their worst), as any plan the engine reports
    violations = recheck(plan_instance, allocation, decisions, whole=False)
    if violations:
        hedged.status, hedged.message = "numerical", f"the plan breaks {len(violations)} rule(s), e.g. {violations[0]}"
    elif hedged.status == "iteration_limit":
        hedged.message = (f"{iterations} iterations reached with the plan within {hedged.gap:.2%} of the bound, "
                          f"not {gap:.2%}: give more --iterations or a wider --gap")
    else:
        hedged.message = f"plan within {hedged.gap:.2%} of the bound (no plan lifts more than {hedged.bound:,.0f})"
    steady_stage, warnings = None, []
    if hedged.status != "numerical" and loaded.scenario.scenario.year_profile == "steady":
        steady, why_not = _steady(hedged, drawn.plan_instance, instances, loaded.scenario.objective)
        if steady is None:
            warnings.append(f"the plan was not re-split steadily ({why_not}): its years are as progressive hedging "
                            "left them")
        else:
            hedged.allocation, kpis, steady_stage = steady.allocation, steady.kpis, steady.solver.get("steady_stage")
    hedged.result = _as_result(hedged, loaded, drawn, kpis, steady_stage)
    hedged.result.warnings += warnings
    return hedged


def _steady(hedged: HedgingResult, plan_instance, instances: list, objective: str):
    """Re-split the plan over the years as `solve` does (its steady stage), without changing what
    it lifts in any scenario: every recipient-instrument keeps its total aid, its aid in effect
    by the last year and its aid as the effects count it (discounted after the plan; all the
    effects see, models/effects.py), and every fund, project
    and cadre decision is fixed; only the split of aid over years and donors moves, under every
    rule of the plan. Returns (the re-split plan's Result, "") if the plan's objective in every
    scenario (`instances`) is unchanged, else (None, why not)."""
    import pyomo.environ as pyo

    from models.assemble import build_model
    from optimizer.data.schema import effect_weight
    from optimizer.solving.solve import solve_model
    from optimizer.studies.robust import evaluate_plan

    model = build_model(plan_instance, plan_instance.scenario)
    sets = model.index_sets
    last = sets.years[-1]
    aid = {tuple(key): value for key, value in
           hedged.allocation.groupby(["donor", "recipient", "instrument", "year"])["aid"].sum().items()}
    total = lambda flows: sum(aid.get(f, 0.0) for f in flows)  # noqa: E731
    keys = list(sets.flows_by_recipient_instrument)
    model.hedged_total = pyo.Constraint(keys, rule=lambda m, w, k: sum(
        m.x[f] for f in sets.flows_by_recipient_instrument[(w, k)]) == total(sets.flows_by_recipient_instrument[(w, k)]))
    lagged = [(w, k) for w, k in keys if sets.lag[k] > 0]
    model.hedged_in_effect = pyo.Constraint(lagged, rule=lambda m, w, k: sum(
        m.x[f] for f in sets.flows_in_effect(w, k, last)) == total(sets.flows_in_effect(w, k, last)))
    if plan_instance.scenario.horizon.beyond_plan != "ignored":  # with a lag of one year implied by the above
        discount = plan_instance.scenario.horizon.discount
        late = {f: effect_weight(f[3], sets.lag[f[2]], last, discount) for f in sets.flows}
        model.hedged_counted = pyo.Constraint([(w, k) for w, k in lagged if sets.lag[k] > 1], rule=lambda m, w, k: sum(
            late[f] * m.x[f] for f in sets.flows_by_recipient_instrument[(w, k)]) == sum(
            late[f] * aid.get(f, 0.0) for f in sets.flows_by_recipient_instrument[(w, k)]))
    decisions = hedged.decisions
    counts = {("fund", r.recipient, r.instrument): r.count for r in decisions[decisions["kind"] == "fund"].itertuples()}
    counts.update({("project", r.project): r.count for r in decisions[decisions["kind"] == "project"].itertuples()})
    counts.update({("cadres", r.donor, r.recipient, int(r.year)): r.count
                   for r in decisions[decisions["kind"] == "cadres"].itertuples()})
    for name, kind in (("y", "fund"), ("v", "project"), ("c", "cadres")):
        component = model.component(name)
        for index in (component if component is not None else ()):
            key = (kind, *index) if isinstance(index, tuple) else (kind, index)
            component[index].fix(float(counts.get(key, 0.0)))
    steady = solve_model(model, plan_instance, plan_instance.scenario)
    if steady.status != "optimal":
        return None, steady.status
    values = evaluate_plan(steady, instances, objective)["objective"]
    if not np.allclose(values, hedged.scenarios["robust_plan"].to_numpy(float), rtol=1e-7, atol=1e-6):
        return None, "the steady split lifted other numbers of people"
    return steady, ""


def _as_result(hedged: HedgingResult, instance, drawn, kpis: pd.DataFrame, steady_stage: str | None):
    """The plan as `robust`'s Result (the same tables, run.json and report; no duals or binding
    rows: progressive hedging has no one LP to read them from). `steady_stage` is the steady
    re-split's status, None when the plan keeps progressive hedging's years."""
    from optimizer.data.provenance import instance_figures
    from optimizer.solving.results import Result, round_figure, summarise
    from optimizer.studies.robust import _measures, _record
    from optimizer.studies.uncertainty import Risk

    status = {"optimal": "optimal", "iteration_limit": "time_limit"}.get(hedged.status, hedged.status)
    result = Result(status=status, objective=hedged.expected, message=hedged.message,
                    scenario=instance.scenario.model_dump(mode="json"), instance_digest=instance.digest,
                    allocation=hedged.allocation, kpis=kpis, decisions=hedged.decisions, has_plan=True,
                    solver={"model": "lp", "method": "progressive hedging (mpi-sppy)", "ranks": hedged.ranks,
                            "iterations": hedged.iterations, "bound": hedged.bound, "gap": hedged.gap,
                            "steady_stage": steady_stage, "peak_mb_per_rank": [round(m) for m in hedged.peak_mb],
                            "cpu_s_per_rank": [round(c, 2) for c in hedged.cpu_s]},
                    warnings=[str(w) for w in instance.warnings], figures=instance_figures(instance.path),
                    timings=dict(hedged.timings))
    result.summary = summarise(result, instance.scenario, drawn.plan_instance)
    expected = Risk("expected")
    figures = _measures("robust_plan", hedged.scenarios["robust_plan"].to_numpy(float), drawn.probabilities, expected)
    result.summary.update({key: round_figure(value) for key, value in figures.items()})
    result.summary.update(objective_name=f"expected of {instance.scenario.objective}", risk="expected",
                          scenarios=len(drawn.design))
    if steady_stage is None:
        result.summary["year_profile"] = "free (not re-split steadily)"
    result.scenarios = hedged.scenarios.map(lambda v: round_figure(v) if isinstance(v, float) else v)
    result.robust = {**_record(drawn.uncertainty, drawn, expected, figures), "method": "progressive hedging",
                     "bound": round_figure(hedged.bound), "gap": hedged.gap, "iterations": hedged.iterations,
                     "trajectory": [asdict(line) for line in hedged.trajectory]}
    return result


def _follow(process: subprocess.Popen, path: Path, timeout: float,
            on_iteration: Callable[[HedgingProgress], None] | None) -> tuple[bool, list[HedgingProgress]]:
    """Wait for mpiexec (`process`) to end, handing every line the hub appends to `path` to
    `on_iteration` as it comes. Returns whether it ended within `timeout` seconds, and the lines.
    However the wait ends (the timeout, Ctrl-C, an exception from `on_iteration`), no rank is
    left running."""
    import time

    from optimizer.solving import interrupt

    ranks = _Ranks(process)
    interrupt.on_forced_exit(_kill_all)  # the command line's exit GRACE seconds after Ctrl-C
    deadline = time.monotonic() + timeout
    seen: list[HedgingProgress] = []
    read = 0  # bytes of the progress file handed on: whole lines only (the hub may be mid-line)
    try:
        while True:
            ended = process.poll() is not None
            ranks.look()
            if path.exists():
                with open(path, "rb") as file:
                    file.seek(read)
                    text = file.read()
                done = text[:text.rfind(b"\n") + 1]
                read += len(done)
                for line in done.decode("utf-8").splitlines():
                    seen.append(HedgingProgress(**json.loads(line)))
                    if on_iteration is not None:
                        on_iteration(seen[-1])
            if ended:
                return True, seen
            if time.monotonic() >= deadline:
                return False, seen
            time.sleep(POLL)
    finally:
        ranks.stop()


_LIVE: list = []  # the _Ranks of the runs under way in this process


class _Ranks:
    """mpiexec and the rank processes it started on this host: Open MPI gives each rank a process
    group of its own, so a signal to mpiexec's group does not reach them, and a rank whose
    mpiexec died is nobody's child; so they are noted while mpiexec runs."""

    def __init__(self, process: subprocess.Popen):
        import psutil

        self.process, self.ranks = process, set()
        try:
            self.mpiexec = psutil.Process(process.pid)
        except psutil.Error:  # ended already
            self.mpiexec = None
        _LIVE.append(self)

    def look(self) -> None:
        import psutil

        try:
            if self.mpiexec is not None:
                self.ranks.update(self.mpiexec.children(recursive=True))
        except psutil.Error:  # mpiexec has ended
            pass

    def stop(self) -> None:
        """mpiexec stops its ranks (SIGTERM, STOP_WAIT seconds); what is left of them is killed."""
        if self.process.poll() is None:
            self.look()
            self.process.terminate()
            try:
                self.process.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        self.process.wait()
        if self in _LIVE:
            _LIVE.remove(self)

    def kill(self) -> None:
        import psutil

        for p in [self.mpiexec, *self.ranks]:
            try:
                if p is not None:
                    p.kill()  # (psutil checks that the pid is still that process's)
            except psutil.Error:
                pass


def _kill_all() -> None:
    for ranks in list(_LIVE):
        ranks.kill()


def _without_launch_context(environ) -> dict:
    """`environ` without what MPI set for a process it started or initialised: Open MPI's
    (OMPI_ names other than OMPI_MCA_ settings, and its launch settings OMPI_MCA_ess..., _pmix...,
    _orte_...), PMIx's (PMIX_) and MPICH's (PMI_). A process that initialised MPI by itself (a
    singleton: mpi4py imported in a notebook, a test) gets such variables from Open MPI, and its
    children inherit them; mpiexec started with them exits 1 without a word (measured: a pytest
    worker that had run an in-process mpi-sppy test, then `hedge` in a subprocess). The user's
    own settings (OMPI_MCA_btl..., the interfaces, the launcher) stay."""
    launch = ("OMPI_MCA_ess", "OMPI_MCA_pmix", "OMPI_MCA_orte_")
    return {k: v for k, v in environ.items()
            if not (k.startswith(("PMIX_", "PMI_")) or (k.startswith("OMPI_") and not k.startswith("OMPI_MCA_"))
                    or k.startswith(launch))}


def _host_slots(hosts: str, ranks: int) -> str:
    """mpiexec's --host: "a,b" shares the ranks out evenly ("a:2,b:2" for 4); given slots stay."""
    names = [h.strip() for h in hosts.split(",") if h.strip()]
    if any(":" in h for h in names):
        return ",".join(names)
    return ",".join(f"{h}:{-(-ranks // len(names))}" for h in names)


def _where() -> str:
    """This process's host name and, on Linux, its network namespace (hosts may share a name)."""
    import socket

    try:
        namespace = os.readlink("/proc/self/ns/net")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()} {namespace}".strip()


def _only_loopback(hosts: str) -> bool:
    names = {h.strip().split(":")[0] for h in hosts.split(",") if h.strip()}
    return names <= {"127.0.0.1", "localhost", "::1"}


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _gap(expected: float, bound: float) -> float:
    """(bound - expected) / bound: how far a plan lifting `expected` may be from the optimum."""
    return (bound - expected) / max(abs(bound), 1e-12)


def _is_mip(instance) -> bool:
    from models.assemble import model_kind
    from models.sets import derive_sets

    return model_kind(instance.scenario, derive_sets(instance)) == "mip"


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="progressive hedging on MPI ranks (run under mpiexec)")
    parser.add_argument("instance")
    parser.add_argument("uncertainty")
    parser.add_argument("out", help="a folder: allocation.csv, decisions.csv, record.json")
    parser.add_argument("--rho", type=float, default=DEFAULT_RHO)
    parser.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS)
    parser.add_argument("--gap", type=float, default=DEFAULT_GAP)
    parser.add_argument("--projection", choices=("closed", "scipy"), default="closed",
                        help="the proximal cuts' projection: closed form, or mpi-sppy's own (for comparison)")
    parser.add_argument("--solve", choices=("direct", "pyomo"), default="direct",
                        help="the scenario solves: straight with HiGHS, or through Pyomo's persistent interface")
    args = parser.parse_args(argv)
    run_ranks(args.instance, args.uncertainty, args.out, args.rho, args.iterations, args.gap, args.projection,
              args.solve)


if __name__ == "__main__":
    main()
