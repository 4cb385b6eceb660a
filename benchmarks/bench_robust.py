"""Robust plans: extensive-form build and solve time and peak memory against the number of scenarios.

    python benchmarks/bench_robust.py                       # ewppt-2010 and 200 counties, 10/50/200 scenarios
    python benchmarks/bench_robust.py --scenarios 10 50 --recipients 200 800
    python benchmarks/bench_robust.py --smoke               # tiny and 20 counties, 2 and 4 scenarios: seconds
    python benchmarks/bench_robust.py --build-only          # the extensive form's size, build time and memory alone
    python benchmarks/bench_robust.py --lp --risk expected  # the LP that progressive hedging decomposes
    python benchmarks/bench_robust.py --hedging             # progressive hedging (2 MPI ranks) against the
                                                            # extensive form, expected risk, as LPs

The scenarios are a seeded Latin hypercube over every effect (`effects.*.*.people_per_million`,
factor 0.7 to 1.3) and every poor population (0.9 to 1.1), the plan for `--risk` (default
cvar:0.2, the hardest of the three: it has the most rows). Each configuration runs in a fresh
process, so the peak resident memory printed is its own; `build s` is drawing the scenarios
and building the Pyomo extensive form, `solve s` HiGHS's solves through `solve_model` (a MIP's
rounding and branch and bound, the steady stage, the re-check). A configuration past
`--time-limit` (default 900 s of HiGHS) reports what HiGHS had; one whose process runs past
twice that is killed and printed as `killed`.

`--hedging` solves the `expected` plan of each case as an LP (`scenario.model = "lp"`) both by
the extensive form (a fresh process) and by progressive hedging on two MPI ranks on 127.0.0.1
(optimizer/studies/hedging.py: one rank hedges, one computes the Lagrangian bound), and prints
both times, PH's iterations, the extensive form's optimum, PH's plan (its expected people
lifted) and outer bound, PH's certified gap between them, and the plan's true gap to the
optimum (`--smoke` runs it on tiny with 3 scenarios; without MPI it says so and skips).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def uncertainty(scenarios: int):
    from optimizer.studies.uncertainty import Uncertainty

    return Uncertainty.model_validate({
        "uncertainty": {"name": f"bench-{scenarios}", "design": "lhs", "samples": scenarios, "seed": 1},
        "parameter": [{"path": "effects.*.*.people_per_million", "bounds": [0.7, 1.3]},
                      {"path": "recipients.*.poor_population", "bounds": [0.9, 1.1]}]})


def run_one(folder: str, scenarios: int, risk: str, time_limit: float, build_only: bool = False) -> dict:
    from optimizer import load_instance
    from optimizer.studies.robust import build_extensive_form
    from optimizer.studies.uncertainty import parse_risk, scenario_set
    from optimizer.solving.solve import solve_model

    instance = load_instance(folder, **{"solver.time_limit": time_limit})
    started = time.perf_counter()
    drawn = scenario_set(uncertainty(scenarios), instance)
    instances = [drawn.instance(s) for s in range(len(drawn.design))]
    model = build_extensive_form(instances, drawn.probabilities, parse_risk(risk))
    built = time.perf_counter()
    if build_only:
        return dict(build_s=round(built - started, 2), solve_s=float("nan"), status="built", model="-", steady="-",
                    objective=None, columns=model.nvariables(), rows=model.nconstraints(),
                    peak_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    result = solve_model(model, instances[0], instance.scenario)
    solved = time.perf_counter()
    return dict(build_s=round(built - started, 2), solve_s=round(solved - built, 2), status=result.status,
                model=result.solver.get("model", "-"), steady=result.solver.get("steady_stage", "-"),
                objective=result.objective, columns=model.nvariables(), rows=model.nconstraints(),
                peak_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def lp_copy(folder: str, scratch: Path) -> Path:
    """The instance folder with `model = "lp"` in its [scenario] section."""
    import re
    import shutil

    target = scratch / f"{Path(folder).name}-lp"
    if not target.exists():
        shutil.copytree(folder, target)
        text = (target / "scenario.toml").read_text(encoding="utf-8")
        text = re.sub(r"(?m)^model\s*=.*$\n?", "", text)
        (target / "scenario.toml").write_text(re.sub(r"(?m)^\[scenario\]$", '[scenario]\nmodel = "lp"', text, count=1),
                                              encoding="utf-8")
    return target


def write_uncertainty(scenarios: int, scratch: Path) -> Path:
    path = scratch / f"uncertainty-{scenarios}.toml"
    path.write_text(f"""[uncertainty]
design = "lhs"
samples = {scenarios}
seed = 1

[[parameter]]
path = "effects.*.*.people_per_million"
bounds = [0.7, 1.3]

[[parameter]]
path = "recipients.*.poor_population"
bounds = [0.9, 1.1]
""", encoding="utf-8")
    return path


def hedging(cases: list[tuple[str, str]], counts: list[int], time_limit: float, scratch: Path,
            iterations: int | None = None, gap: float | None = None) -> bool:
    """Progressive hedging against the extensive form; False when a run failed or broke its
    certificate (a plan better than the optimum, or an outer bound below it)."""
    import importlib.util
    import shutil

    print(f"{'instance':<14} {'scenarios':>9} {'EF s':>8} {'PH s':>8} {'PH iterations':>13} "
          f"{'EF optimum':>14} {'PH plan':>14} {'PH bound':>14} {'PH gap':>9} {'gap to EF':>9}  PH status")
    if shutil.which("mpiexec") is None or not all(importlib.util.find_spec(m) for m in ("mpi4py", "mpisppy")):
        print("skipped: no MPI (Debian's openmpi-bin) or mpi4py/mpi-sppy")
        return True
    from optimizer.studies.hedging import hedge

    ok = True
    for name, folder in cases:
        lp = lp_copy(folder, scratch)
        for count in counts:
            path = write_uncertainty(count, scratch)
            started = time.perf_counter()
            done = subprocess.run([sys.executable, __file__, "--one", f"{lp}:{count}", "--risk", "expected",
                                   "--time-limit", str(time_limit)], capture_output=True, text=True)
            ef_s = time.perf_counter() - started
            ef = json.loads(done.stdout.strip().splitlines()[-1])["objective"] if done.returncode == 0 else None
            started = time.perf_counter()
            options = {k: v for k, v in (("iterations", iterations), ("gap", gap)) if v}
            ph = hedge(lp, path, ranks=2, timeout=2 * time_limit + 600, **options)
            ph_s = time.perf_counter() - started
            planned = ph.status in ("optimal", "iteration_limit")
            to_ef = f"{(ef - ph.expected) / max(1.0, abs(ef)):9.1e}" if ef is not None and planned else "-"
            ok &= ef is not None and planned
            if ef is not None and planned:  # the certificate must hold against the extensive form's optimum
                ok &= ph.expected <= ef * (1 + 1e-7) and ph.bound >= ef * (1 - 1e-7)
            print(f"{name:<14} {count:>9} {ef_s:>8.2f} {ph_s:>8.2f} {ph.iterations:>13} "
                  f"{'-' if ef is None else f'{ef:,.1f}':>14} {ph.expected:>14,.1f} {ph.bound:>14,.1f} "
                  f"{ph.gap:>9.1e} {to_ef:>9}  {ph.status} {ph.message}", flush=True)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instances", nargs="*", default=["ewppt-2010"])
    parser.add_argument("--recipients", type=int, nargs="*", default=[200])
    parser.add_argument("--scenarios", type=int, nargs="*", default=[10, 50, 200])
    parser.add_argument("--risk", default="cvar:0.2")
    parser.add_argument("--time-limit", type=float, default=900.0)
    parser.add_argument("--smoke", action="store_true", help="tiny and 20 counties, 2 and 4 scenarios: seconds")
    parser.add_argument("--hedging", action="store_true", help="progressive hedging against the extensive form")
    parser.add_argument("--ph-iterations", type=int, help="progressive hedging's iteration limit (default 200)")
    parser.add_argument("--ph-gap", type=float, help="progressive hedging's relative gap (default 1e-3)")
    parser.add_argument("--build-only", action="store_true", help="build the extensive form, do not solve it")
    parser.add_argument("--lp", action="store_true", help="every case as an LP (scenario.model = lp), as hedging solves it")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: FOLDER:SCENARIOS, run in this process
    args = parser.parse_args()
    if args.one:
        folder, scenarios = args.one.rsplit(":", 1)
        print(json.dumps(run_one(folder, int(scenarios), args.risk, args.time_limit, args.build_only)))
        return
    names, sizes, counts = (["tiny"], [20], [2, 4]) if args.smoke else (args.instances, args.recipients, args.scenarios)
    from optimizer import generate_instance
    from optimizer.data.io import resolve_instance_path

    if args.hedging:
        with tempfile.TemporaryDirectory() as scratch:
            cases = [(name, str(resolve_instance_path(name))) for name in names]
            if not args.smoke:
                cases += [(f"{n} counties", str(generate_instance(Path(scratch) / f"g{n}", recipients=n, seed=1)))
                          for n in sizes]
            ok = hedging(cases, [3] if args.smoke else counts, args.time_limit, Path(scratch), args.ph_iterations, args.ph_gap)
        sys.exit(0 if ok else 1)

    print(f"{'instance':<14} {'model':<5} {'scenarios':>9} {'columns':>10} {'rows':>10} {'build s':>8} {'solve s':>8} "
          f"{'peak MB':>8}  status (steady stage)  objective ({args.risk})")
    failed = False
    with tempfile.TemporaryDirectory() as scratch:
        cases = [(name, str(resolve_instance_path(name))) for name in names]
        cases += [(f"{n} counties", str(generate_instance(Path(scratch) / f"g{n}", recipients=n, seed=1)))
                  for n in sizes]
        for name, folder in cases:
            folder = str(lp_copy(folder, Path(scratch))) if args.lp else folder
            for count in counts:
                command = [sys.executable, __file__, "--one", f"{folder}:{count}", "--risk", args.risk,
                           "--time-limit", str(args.time_limit), *(["--build-only"] if args.build_only else [])]
                try:
                    done = subprocess.run(command, capture_output=True, text=True, timeout=2 * args.time_limit + 600)
                except subprocess.TimeoutExpired:
                    print(f"{name:<14} {'-':<5} {count:>9}  killed after {2 * args.time_limit + 600:.0f} s", flush=True)
                    continue
                if done.returncode != 0:
                    failed = True
                    print(f"{name:<14} {'-':<5} {count:>9}  failed: {done.stderr.strip().splitlines()[-1:]}", flush=True)
                    continue
                r = json.loads(done.stdout.strip().splitlines()[-1])
                objective = "-" if r["objective"] is None else f"{r['objective']:,.1f}"
                print(f"{name:<14} {r['model']:<5} {count:>9} {r['columns']:>10,} {r['rows']:>10,} {r['build_s']:>8.2f} "
                      f"{r['solve_s']:>8.2f} {r['peak_mb']:>8,}  {r['status']} ({r['steady']})  {objective}", flush=True)
                failed |= r["status"] not in ("optimal", "time_limit", "built")
        if args.smoke:  # the hedging table too, on tiny
            print()
            failed |= not hedging(cases[:1], [3], args.time_limit, Path(scratch))
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
