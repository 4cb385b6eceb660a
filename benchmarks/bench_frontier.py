"""The efficiency-equity frontier: one model re-solved against a model rebuilt per point.

    python benchmarks/bench_frontier.py [--instance ewppt-2010] [--points 9] [--generate-recipients 300]
    python benchmarks/bench_frontier.py --smoke     # 3 points, ewppt-2010 and 40 counties: seconds, for the test suite

Both sides compute the same frontier (optimizer/analysis/frontier.py), side by side in one run:

- persistent: `frontier(instance, points=N)`: the people-lifted model built once with a mutable
  `coverage_min`, the first solve by the scenario's method (ipm), the other points warm-started
  simplex re-solves of the same model; plus one equity model for theta*.
- rebuild: the same end point A, theta* and floors, each point a fresh `solve(instance, ...)`
  with `coverage_min = eps` (a new model and a first solve every time).

Every point is a full plan either way (read back, kpis, duals, binding, the independent
re-check), so the figures also show how much of a point is the solve and how much the read
back. The instances are solved as LPs (`[scenario] model = "lp"`); the generated one has
N counties, 12 donors, 10 instruments and 5 years (`ewppt generate`, seed 1). Exits 1 if a
point does not end optimal or the two ways' objectives differ by more than 1e-6 relative.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from optimizer import load_instance, solve
from optimizer.analysis.frontier import frontier

OBJECTIVE_TOLERANCE = 1e-6  # relative; the two ways solve the same LPs


def bench(instance, points: int) -> dict[str, float]:
    # warm-up, untimed: the first Pyomo build and HiGHS call in a process pay one-time costs
    solve(instance)

    started = time.perf_counter()
    persistent = frontier(instance, points=points)
    persistent_s = time.perf_counter() - started
    if len(persistent.points) < 2:  # A already has the best least coverage: no re-solve to measure
        raise SystemExit(f"the frontier has {len(persistent.points)} point: {persistent.message}")
    if not all(p.result.ok for p in persistent.points):
        raise SystemExit(f"persistent frontier: not every point optimal\n{persistent.table[['status', 'message']]}")

    # the same points, a fresh model each (theta* as the persistent run found it, one more build)
    from models.assemble import build_model
    from optimizer.analysis.frontier import _max_min_coverage

    started = time.perf_counter()
    base = instance.scenario.override(**{"objective": "people_lifted", "priorities.coverage_min": 0.0})
    rebuilt = [solve(instance, base)]
    _max_min_coverage(instance.with_scenario(base), base, build_model)
    for point in persistent.points[1:]:
        rebuilt.append(solve(instance, base.override(**{"priorities.coverage_min": point.coverage_floor})))
    rebuild_s = time.perf_counter() - started
    if not all(r.ok for r in rebuilt):
        raise SystemExit(f"rebuilt frontier: not every point optimal: {[r.status for r in rebuilt]}")
    worst = max(abs(r.objective - p.result.objective) / max(1.0, abs(p.result.objective))
                for r, p in zip(rebuilt, persistent.points))
    if worst > OBJECTIVE_TOLERANCE:
        raise SystemExit(f"persistent and rebuilt frontiers disagree: largest relative difference {worst:.1e}")

    resolves = persistent.points[1:]
    return {
        "points": points, "persistent_s": persistent_s, "rebuild_s": rebuild_s, "ratio": rebuild_s / persistent_s,
        "first_solve_s": persistent.points[0].result.timings["solve"],
        "resolve_solve_median_s": statistics.median(p.result.timings["solve"] for p in resolves),
        "resolve_extract_median_s": statistics.median(p.result.timings["extract"] for p in resolves),
        "rebuild_build_median_s": statistics.median(r.timings["build"] for r in rebuilt),
        "rebuild_solve_median_s": statistics.median(r.timings["solve"] for r in rebuilt),
        "rebuild_extract_median_s": statistics.median(r.timings["extract"] for r in rebuilt),
        "objective_gap": worst, "people_a": persistent.points[0].people_lifted,
        "people_b": persistent.points[-1].people_lifted, "coverage_a": persistent.points[0].min_coverage,
        "coverage_b": persistent.points[-1].min_coverage,
    }


def report(r: dict[str, float]) -> None:
    n = r["points"]
    print(f"  frontier of {n} plans: persistent {r['persistent_s']:.2f} s vs rebuild {r['rebuild_s']:.2f} s: "
          f"{r['ratio']:.2f}x faster; largest objective difference {r['objective_gap']:.1e}")
    print(f"  persistent: first solve {r['first_solve_s']:.3f} s; re-solve medians: solve "
          f"{r['resolve_solve_median_s']:.3f} s, read back + re-check {r['resolve_extract_median_s']:.3f} s")
    print(f"  rebuild medians per point: build {r['rebuild_build_median_s']:.3f} s, solve "
          f"{r['rebuild_solve_median_s']:.3f} s, read back + re-check {r['rebuild_extract_median_s']:.3f} s")
    print(f"  A: {r['people_a']:,.1f} people at least coverage {r['coverage_a']:.6g}; "
          f"B: {r['people_b']:,.1f} at {r['coverage_b']:.6g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", default="ewppt-2010")
    parser.add_argument("--points", type=int, default=9)
    parser.add_argument("--generate-recipients", type=int, default=300)
    parser.add_argument("--smoke", action="store_true",
                        help="3 points, ewppt-2010 and 40 counties: seconds, for the test suite")
    args = parser.parse_args()
    if args.smoke:
        args.points, args.generate_recipients = 3, 40  # 20 counties: A is already B
    model = {"scenario.model": "lp"}
    runs = [(args.instance, lambda: load_instance(args.instance, **model))]
    if args.generate_recipients:
        from optimizer.data.generate import generate_instance

        def generated():
            folder = tempfile.mkdtemp(prefix="ewppt-bench-")
            path = generate_instance(folder, recipients=args.generate_recipients, donors=12, instruments=10, years=5,
                                     seed=1)
            return load_instance(path, **model)

        runs.append((f"generated-{args.generate_recipients}", generated))
    for name, load in runs:
        instance = load()
        print(f"{name} ({len(instance.recipients)} recipients, LP):", flush=True)
        report(bench(instance, args.points))


if __name__ == "__main__":
    main()
