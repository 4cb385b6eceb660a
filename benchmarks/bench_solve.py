"""Where the time of one solve goes, per bundled instance and objective.

    python benchmarks/bench_solve.py [INSTANCE ...] [--repeat 3]
    python benchmarks/bench_solve.py --smoke     # tiny, one repeat: seconds, for the test suite

Prints, for each instance and objective, the median over `--repeat` runs in this process of:
load (read + validate + checks), build (Pyomo model), solve (Pyomo -> HiGHS and HiGHS
itself), extract (read back into tables), and the model size. Absolute times drift between
machines; compare the columns of one run. Exits 1 if a solve does not end optimal.
"""

from __future__ import annotations

import argparse
import statistics
import time

import pyomo.environ as pyo

from models import build_model
from optimizer import load_instance, solve
from optimizer.data.schema import OBJECTIVES


def median_time(fn, repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instances", nargs="*", help="[default: tiny ewppt-2010]")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny, one repeat: seconds, for the test suite")
    args = parser.parse_args()
    if args.smoke:
        args.instances, args.repeat = args.instances or ["tiny"], 1
    elif not args.instances:
        args.instances = ["tiny", "ewppt-2010"]
    failed = []
    print(f"{'instance':<12} {'objective':<24} {'vars':>7} {'rows':>7} {'load s':>8} {'build s':>8} "
          f"{'solve s':>8} {'extract s':>9} {'total s':>8} {'objective value':>16}")
    for name in args.instances:
        load_s, instance = median_time(lambda: load_instance(name), args.repeat)
        for objective in OBJECTIVES:
            scenario = instance.scenario.override(objective=objective)
            model = build_model(instance, scenario)
            n_vars = sum(len(v) for v in model.component_objects(ctype=pyo.Var))
            n_rows = sum(len(c) for c in model.component_objects(ctype=pyo.Constraint))
            results = [solve(instance, scenario) for _ in range(args.repeat)]
            pick = lambda key: statistics.median(r.timings[key] for r in results)  # noqa: E731
            print(f"{name:<12} {objective:<24} {n_vars:>7} {n_rows:>7} {load_s:>8.3f} {pick('build'):>8.3f} "
                  f"{pick('solve'):>8.3f} {pick('extract'):>9.3f} {pick('total'):>8.3f} "
                  f"{results[0].objective if results[0].objective is not None else results[0].status:>16}")
            failed += [f"{name} {objective}: {r.status} {r.message or ''}".strip() for r in results if not r.ok]
    if failed:
        raise SystemExit("failed:\n" + "\n".join(failed))


if __name__ == "__main__":
    main()
