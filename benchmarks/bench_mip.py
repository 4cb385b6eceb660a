"""MIP benchmark: a generated county-scale instance, build time, time to a 1% gap, peak memory,
and what each part of the formulation and the solve method gives.

    python benchmarks/bench_mip.py                       # 800 counties, 12 donors, 10 instruments, 5 years
    python benchmarks/bench_mip.py --recipients 200 --ablation
    python benchmarks/bench_mip.py --configs engine,no-tightening
    python benchmarks/bench_mip.py --smoke     # 20 counties, every configuration: seconds, for the test suite

Each configuration runs in a fresh process (so peak memory is its own) and prints one line:
instance load, model build, solve until the plan is within --gap of the best bound (or the
time limit), the objective, bound and gap, and the process's peak resident memory. Exits 1 if a
configuration's process fails or its solve ends other than optimal or at the time limit.

Configurations (--ablation runs all; the default runs only the engine's own):
    engine        relax and fix with the fund_effect tightening, branch and bound if needed
    highs-bb      HiGHS's branch and bound alone on the same model (with fund_effect)
    no-tightening relax and fix without fund_effect
    highs-bb-loose HiGHS's branch and bound alone without fund_effect
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

CONFIGS = ("engine", "highs-bb", "no-tightening", "highs-bb-loose")


def run_one(folder: Path, config: str, gap: float, time_limit: float) -> dict:
    from models.assemble import build_model
    from optimizer import load_instance
    from optimizer.solving.mip import relative_gap
    from optimizer.solving.solve import _run, new_solver, solve_model

    started = time.perf_counter()
    instance = load_instance(folder, **{"solver.mip_rel_gap": gap, "solver.time_limit": time_limit})
    loaded = time.perf_counter()
    model = build_model(instance)
    built = time.perf_counter()
    if config in ("no-tightening", "highs-bb-loose"):
        model.fund_effect.deactivate()
    if config.startswith("highs-bb"):
        opt = new_solver()
        status, raw = _run(opt, model, instance.scenario)
        objective = raw.incumbent_objective if status in ("optimal", "time_limit") else None
        bound = raw.objective_bound
        record = dict(status=status, objective=objective, bound=bound, gap=relative_gap(bound, objective))
    else:
        result = solve_model(model, instance, instance.scenario)
        record = dict(status=result.status, objective=result.objective, bound=result.solver.get("best_bound"),
                      gap=result.solver.get("mip_gap"), method=result.solver.get("method"))
    solved = time.perf_counter()
    size = dict(columns=model.nvariables(), rows=model.nconstraints(),
                whole=sum(1 for v in model.component_data_objects() if getattr(v, "is_integer", lambda: False)()))
    return dict(config=config, load_s=round(loaded - started, 2), build_s=round(built - loaded, 2),
                solve_s=round(solved - built, 2), peak_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                **size, **record)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=800)
    parser.add_argument("--donors", type=int, default=12)
    parser.add_argument("--instruments", type=int, default=10)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--gap", type=float, default=0.01)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--ablation", action="store_true", help="also run the other configurations")
    parser.add_argument("--configs", help=f"comma-separated subset of {', '.join(CONFIGS)}")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: CONFIG:FOLDER, run in this process
    parser.add_argument("--smoke", action="store_true",
                        help="20 counties, every configuration: seconds, for the test suite")
    args = parser.parse_args()
    if args.smoke:
        args.recipients, args.ablation, args.time_limit = 20, True, 20.0

    if args.one:
        config, folder = args.one.split(":", 1)
        print(json.dumps(run_one(Path(folder), config, args.gap, args.time_limit)))
        return

    from optimizer.data.generate import generate_instance

    with tempfile.TemporaryDirectory() as tmp:
        folder = generate_instance(Path(tmp) / "bench", recipients=args.recipients, donors=args.donors,
                                   instruments=args.instruments, years=args.years, seed=args.seed)
        print(f"generated: {args.recipients} recipients, {args.donors} donors, {args.instruments} instruments, "
              f"{args.years} years (seed {args.seed}); gap target {args.gap:.2%}, time limit {args.time_limit:g} s")
        chosen = args.configs.split(",") if args.configs else CONFIGS if args.ablation else CONFIGS[:1]
        failed = []
        for config in chosen:
            done = subprocess.run([sys.executable, __file__, "--one", f"{config}:{folder}", "--gap", str(args.gap),
                                   "--time-limit", str(args.time_limit)], capture_output=True, text=True, cwd=ROOT)
            if done.returncode:
                print(f"{config}: failed\n{done.stderr}")
                failed.append(f"{config}: exit {done.returncode}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            if r["status"] not in ("optimal", "time_limit"):
                failed.append(f"{config}: {r['status']}")
            gap = "-" if r["gap"] is None else f"{r['gap']:.3%}"
            objective = "-" if r["objective"] is None else f"{r['objective']:,.0f}"
            bound = "-" if r["bound"] is None else f"{r['bound']:,.0f}"
            print(f"{config:<15} {r['status']:<11} load {r['load_s']:>6.2f} s  build {r['build_s']:>6.2f} s  "
                  f"solve {r['solve_s']:>7.2f} s  objective {objective:>10}  bound {bound:>10}  gap {gap:>8}  "
                  f"peak {r['peak_mb']} MB  ({r['columns']:,} columns, {r['rows']:,} rows, {r['whole']:,} whole)")
        if failed:
            raise SystemExit("failed: " + "; ".join(failed))


if __name__ == "__main__":
    main()
