"""Progressive hedging with mpi-sppy over MPI: the expected-value robust plan without the extensive form.

When the extensive form (optimizer/studies/robust.py) outgrows one machine, the same plan can be
found by decomposition: each MPI rank builds only its own scenarios' models (the ordinary model
of that scenario's instance, capacities at their worst, optimizer/studies/uncertainty.py), and
mpi-sppy's progressive hedging (Rockafellar and Wets) solves them one by one with HiGHS, pulling
their allocations x (and a MIP's relaxed whole decisions) together with a proximal term and
prices w until they agree:

    scenario s, iteration k:  min  -P_s(x_s) + w_s . x_s + rho/2 |x_s - xbar|^2   over scenario s's model
    xbar = sum_s p_s x_s,     w_s += rho (x_s - xbar)

until sum_s p_s |x_s - xbar| (mpi-sppy's convergence metric) is below `convthresh`. Only the
`expected` risk measure decomposes so (CVaR and the worst case couple the scenarios through
their shared eta); an LP only (the consensus of relaxed whole decisions is not a plan).

The consensus xbar keeps every plan row: the rows are the same in every scenario (the
capacities are at their worst in all of them), so an average of plans that keep them keeps them.

    mpiexec -n 2 python -m optimizer.studies.hedging INSTANCE UNCERTAINTY.toml OUT.json

runs it (rank 0 writes OUT.json: the consensus plan, iterations, convergence); `hedge(...)` starts
that command and reads the plan back. Each rank draws the scenarios from the files itself: they
are a pure function of the uncertainty file and its seed, so every rank has the same set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from optimizer.data.errors import InvalidInstance, Problem

DEFAULT_RHO = 1.0  # per million yuan: the proximal weight, in people per million squared
DEFAULT_ITERATIONS = 500
DEFAULT_CONVTHRESH = 1e-6


@dataclass
class HedgingResult:
    status: str  # converged | iteration_limit | failed
    allocation: pd.DataFrame  # donor, recipient, instrument, year, aid: the consensus plan xbar
    iterations: int
    convergence: float
    ranks: int
    message: str = ""


def scenario_creator(scenario_name: str, instance_path: str = "", uncertainty_path: str = "", objective: str = ""):
    """Scenario `scenario<id>`'s model for mpi-sppy: the ordinary model of its instance with the
    objective `minimise -P_s` and the allocation (x and any whole decisions) as the root node's
    non-anticipative variables."""
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
    nonants = [model.x] + [v for v in (model.component("y"), model.component("v"), model.component("c"))
                           if v is not None and len(v)]
    sputils.attach_root_node(model, 0.0, nonants)
    model._mpisppy_probability = float(scenarios.probabilities[s])
    return model


_CACHE: dict = {}


def _scenarios(instance_path: str, uncertainty_path: str):
    key = (instance_path, uncertainty_path)
    if key not in _CACHE:
        from optimizer.data.io import load_instance
        from optimizer.studies.uncertainty import load_uncertainty, scenario_set

        _CACHE[key] = scenario_set(load_uncertainty(uncertainty_path), load_instance(instance_path),
                                   Path(uncertainty_path).name)
    return _CACHE[key]


def run_ranks(instance_path: str, uncertainty_path: str, out: str, rho: float = DEFAULT_RHO,
              iterations: int = DEFAULT_ITERATIONS, convthresh: float = DEFAULT_CONVTHRESH) -> None:
    """The MPI program: every rank runs progressive hedging on its share of the scenarios; rank 0
    writes the consensus plan to `out`."""
    from mpi4py import MPI
    from mpisppy.opt.ph import PH

    from optimizer.data.io import load_instance

    instance = load_instance(instance_path)
    scenarios = _scenarios(instance_path, uncertainty_path)
    names = [f"scenario{s}" for s in range(len(scenarios.design))]
    options = {"solver_name": "highs", "PHIterLimit": iterations, "defaultPHrho": rho,
               "convthresh": convthresh, "verbose": False, "display_progress": False, "display_timing": False,
               "iter0_solver_options": {}, "iterk_solver_options": {}}
    ph = PH(options, names, scenario_creator,
            scenario_creator_kwargs={"instance_path": instance_path, "uncertainty_path": uncertainty_path,
                                     "objective": instance.scenario.objective})
    conv, _, _ = ph.ph_main()
    values = ph.gather_var_values_to_rank0()
    if MPI.COMM_WORLD.rank != 0:
        return
    probability = dict(zip(names, scenarios.probabilities))
    model = next(iter(ph.local_scenarios.values()))  # Pyomo's names of the flows, back to their indices
    flow_of = {model.x[f].name: f for f in model.x}
    consensus: dict[tuple, float] = {}
    for (name, variable), value in values.items():
        if variable in flow_of:
            flow = flow_of[variable]
            consensus[flow] = consensus.get(flow, 0.0) + probability[name] * float(value or 0.0)
    record = {"iterations": int(ph._PHIter), "convergence": float(conv) if conv is not None else None,
              "ranks": MPI.COMM_WORLD.size, "converged": bool(conv is not None and conv < convthresh),
              "x": [[*flow, value] for flow, value in consensus.items()]}
    Path(out).write_text(json.dumps(record), encoding="utf-8")


def hedge(instance_path: str | Path, uncertainty_path: str | Path, ranks: int = 2, rho: float = DEFAULT_RHO,
          iterations: int = DEFAULT_ITERATIONS, convthresh: float = DEFAULT_CONVTHRESH,
          hosts: str = "127.0.0.1", timeout: float = 3600) -> HedgingResult:
    """The expected-value robust plan by progressive hedging on `ranks` MPI processes (Open MPI's
    or MPICH's `mpiexec`, on `hosts`). Raises InvalidInstance when MPI or mpi-sppy is missing."""
    from optimizer.data.io import load_instance

    instance = load_instance(instance_path)
    if instance.scenario.scenario.model == "mip" or _is_mip(instance):
        raise InvalidInstance([Problem(str(instance_path), "progressive hedging here solves LPs only (the consensus "
                                       "of relaxed whole decisions is not a plan); solve with --set "
                                       "scenario.model=lp or use the extensive form (ewppt robust)")])
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        raise InvalidInstance([Problem("mpiexec", "no MPI found: install Debian's openmpi-bin (or mpich)")])
    import importlib.util

    missing = [m for m in ("mpi4py", "mpisppy") if importlib.util.find_spec(m) is None]
    if missing:  # (not imported here: mpi-sppy prints a banner on import)
        raise InvalidInstance([Problem("mpi-sppy", f"not installed ({', '.join(missing)}): pip install mpi4py mpi-sppy")])
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "consensus.json"
        env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
               "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMPI_MCA_btl": "self,vader,tcp",
               "OMPI_MCA_btl_tcp_if_include": "lo", "OMPI_MCA_oob_tcp_if_include": "lo"}
        command = [mpiexec, "-n", str(ranks), "--host", f"{hosts}:{ranks}", sys.executable, "-m",
                   "optimizer.studies.hedging", str(instance_path), str(uncertainty_path), str(out),
                   "--rho", str(rho), "--iterations", str(iterations), "--convthresh", str(convthresh)]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout,
                              cwd=Path(__file__).resolve().parents[2])
        if done.returncode != 0 or not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            return HedgingResult("failed", pd.DataFrame(), 0, float("nan"), ranks, " | ".join(tail))
        record = json.loads(out.read_text(encoding="utf-8"))
    allocation = _allocation(record["x"], instance)
    # the consensus must keep every plan row (capacities at their worst), as any plan the engine reports
    from optimizer.solving.recheck import recheck
    from optimizer.solving.results import empty_table
    from optimizer.studies.uncertainty import load_uncertainty, scenario_set

    plan_instance = scenario_set(load_uncertainty(uncertainty_path), instance, Path(uncertainty_path).name).plan_instance
    violations = recheck(plan_instance, allocation, empty_table("decisions"), whole=False)
    status = "converged" if record["converged"] else "iteration_limit"
    message = f"the consensus breaks {len(violations)} rule(s), e.g. {violations[0]}" if violations else ""
    return HedgingResult("numerical" if violations else status, allocation, record["iterations"],
                         record["convergence"], record["ranks"], message)


def _is_mip(instance) -> bool:
    from models.assemble import model_kind
    from models.sets import derive_sets

    return model_kind(instance.scenario, derive_sets(instance)) == "mip"


def _allocation(x: list, instance) -> pd.DataFrame:
    """[d, w, k, t, aid] rows as the allocation table (aid > 1e-9 only)."""
    category = dict(zip(instance.instruments["instrument"], instance.instruments["category"]))
    rows = []
    for d, w, k, t, value in x:
        if value > 1e-9:
            rows.append((d, w, k, category[k], int(t), round(value, 9)))
    table = pd.DataFrame(rows, columns=["donor", "recipient", "instrument", "category", "year", "aid"])
    return table.sort_values(["donor", "recipient", "instrument", "year"], ignore_index=True)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="progressive hedging on MPI ranks (run under mpiexec)")
    parser.add_argument("instance")
    parser.add_argument("uncertainty")
    parser.add_argument("out")
    parser.add_argument("--rho", type=float, default=DEFAULT_RHO)
    parser.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS)
    parser.add_argument("--convthresh", type=float, default=DEFAULT_CONVTHRESH)
    args = parser.parse_args(argv)
    run_ranks(args.instance, args.uncertainty, args.out, args.rho, args.iterations, args.convthresh)


if __name__ == "__main__":
    main()
