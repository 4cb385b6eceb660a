"""Robust plans: extensive-form build and solve time and peak memory against the number of scenarios.

    python benchmarks/bench_robust.py                       # ewppt-2010 and 200 counties, 10/50/200 scenarios
    python benchmarks/bench_robust.py --scenarios 10 50 --recipients 200 800
    python benchmarks/bench_robust.py --smoke               # tiny and 20 counties, 2 and 4 scenarios: seconds

The scenarios are a seeded Latin hypercube over every effect (`effects.*.*.people_per_million`,
factor 0.7 to 1.3) and every poor population (0.9 to 1.1), the plan for `--risk` (default
cvar:0.2, the hardest of the three: it has the most rows). Each configuration runs in a fresh
process, so the peak resident memory printed is its own; `build s` is drawing the scenarios
and building the Pyomo extensive form, `solve s` HiGHS's solves through `solve_model` (a MIP's
rounding and branch and bound, the steady stage, the re-check). A configuration past
`--time-limit` (default 900 s of HiGHS) reports what HiGHS had; one whose process runs past
twice that is killed and printed as `killed`.
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


def run_one(folder: str, scenarios: int, risk: str, time_limit: float) -> dict:
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
    result = solve_model(model, instances[0], instance.scenario)
    solved = time.perf_counter()
    return dict(build_s=round(built - started, 2), solve_s=round(solved - built, 2), status=result.status,
                model=result.solver.get("model", "-"), steady=result.solver.get("steady_stage", "-"),
                objective=result.objective, columns=model.nvariables(), rows=model.nconstraints(),
                peak_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instances", nargs="*", default=["ewppt-2010"])
    parser.add_argument("--recipients", type=int, nargs="*", default=[200])
    parser.add_argument("--scenarios", type=int, nargs="*", default=[10, 50, 200])
    parser.add_argument("--risk", default="cvar:0.2")
    parser.add_argument("--time-limit", type=float, default=900.0)
    parser.add_argument("--smoke", action="store_true", help="tiny and 20 counties, 2 and 4 scenarios: seconds")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: FOLDER:SCENARIOS, run in this process
    args = parser.parse_args()
    if args.one:
        folder, scenarios = args.one.rsplit(":", 1)
        print(json.dumps(run_one(folder, int(scenarios), args.risk, args.time_limit)))
        return
    names, sizes, counts = (["tiny"], [20], [2, 4]) if args.smoke else (args.instances, args.recipients, args.scenarios)
    from optimizer import generate_instance
    from optimizer.data.io import resolve_instance_path

    print(f"{'instance':<14} {'model':<5} {'scenarios':>9} {'columns':>10} {'rows':>10} {'build s':>8} {'solve s':>8} "
          f"{'peak MB':>8}  status (steady stage)  objective ({args.risk})")
    failed = False
    with tempfile.TemporaryDirectory() as scratch:
        cases = [(name, str(resolve_instance_path(name))) for name in names]
        cases += [(f"{n} counties", str(generate_instance(Path(scratch) / f"g{n}", recipients=n, seed=1)))
                  for n in sizes]
        for name, folder in cases:
            for count in counts:
                command = [sys.executable, __file__, "--one", f"{folder}:{count}", "--risk", args.risk,
                           "--time-limit", str(args.time_limit)]
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
                failed |= r["status"] not in ("optimal", "time_limit")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
