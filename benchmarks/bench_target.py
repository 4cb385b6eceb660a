"""`ewppt target`: the least factor of the proportions as one LP, against a bisection of solves.

    python benchmarks/bench_target.py                          # ewppt-2010 as an LP, N = 1.1 x today's plan
    python benchmarks/bench_target.py --people-ratio 1.5 --coverage 0.01
    python benchmarks/bench_target.py --skip-public            # without the bisection over `solve` calls
    python benchmarks/bench_target.py --smoke                  # tiny, N and F = 0.5, every method: seconds

Side by side in one process, for each target (people lifted N, or a coverage floor F):

1. target model: `optimizer.analysis.target`'s least factor: the built model with the factor phi as a
   variable, min phi (one LP; on an instance with funds under model = "lp" a few warm
   re-solves close the funds' big-M, see models/target.py). Build and solves, not the plan.
2. persistent bisection: one model built with the proportions mutable, re-solved (warm
   simplex, as a sweep does) at factors chosen by bisection: bracket from phi = 1 by doubling
   or halving, then halve [lo, hi] until hi - lo <= 1e-6 hi. A factor is "reached" when the
   most people lifted there is >= N (a coverage target: when the floor's model is feasible).
3. public bisection: the same bisection over `optimizer.solving.solve(...)` calls, what a script
   around the public API would do (each call builds, solves, re-checks and extracts a plan).

Prints each method's time, solves, factor and the ratio to the target model. Exits 1 if the
target model does not solve to optimal or a bisection's factor differs from the target model's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRECISION = 1e-6  # relative width of the bisection's final bracket


def counted_runs():
    """Wrap optimizer.solving.solve._run to count HiGHS solves; returns the counter (a list)."""
    solve_module = sys.modules["optimizer.solving.solve"]
    original = solve_module._run
    calls: list[int] = []

    def run(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    solve_module._run = run
    return calls, lambda: setattr(solve_module, "_run", original)


def target_model(instance, people, coverage) -> tuple[float, float, int]:
    """(factor, seconds, HiGHS solves) of optimizer.analysis.target's least-factor step."""
    from optimizer.analysis import target as target_module

    scenario = instance.scenario
    if coverage is not None:
        scenario = scenario.override(**{"priorities.coverage_min": coverage})
        instance = instance.with_scenario(scenario)
    max_factor = 1.0 / max(scenario.proportion.model_dump().values())
    calls, restore = counted_runs()
    started = time.perf_counter()
    try:
        status, factor = target_module._least_factor(instance, scenario, max_factor, people)
    finally:
        restore()
    if status != "optimal":
        raise SystemExit(f"target model: {status}")
    return factor, time.perf_counter() - started, len(calls)


def bisect(reached) -> tuple[float, int]:
    """The least factor at which reached(phi) holds, to PRECISION, from phi = 1: (factor, calls)."""
    calls = 0

    def test(phi: float) -> bool:
        nonlocal calls
        calls += 1
        return reached(phi)

    if test(1.0):
        hi, lo = 1.0, 0.5
        while test(lo):
            hi, lo = lo, lo / 2
    else:
        lo, hi = 1.0, 2.0
        while not test(hi):
            lo, hi = hi, hi * 2
    while hi - lo > PRECISION * hi:
        mid = (lo + hi) / 2
        if test(mid):
            hi = mid
        else:
            lo = mid
    return hi, calls


def persistent_bisection(instance, people, coverage) -> tuple[float, float, int]:
    import pyomo.environ as pyo

    from models.assemble import build_model
    from models.parameters import budget_values
    from optimizer.solving.solve import _run, new_solver

    started = time.perf_counter()
    scenario = instance.scenario
    if coverage is not None:
        scenario = scenario.override(**{"priorities.coverage_min": coverage})
        instance = instance.with_scenario(scenario)
    model = build_model(instance, scenario, mutable={"proportion"})
    base = {level: pyo.value(model.proportion[level]) for level in model.proportion}
    opt = new_solver()
    updates = opt.config.auto_updates
    for flag in ("check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
                 "check_for_new_or_removed_params", "check_for_new_objective", "update_constraints",
                 "update_vars", "update_named_expressions", "update_objective"):
        setattr(updates, flag, False)
    solved = False

    def reached(phi: float) -> bool:
        nonlocal solved
        for level, value in base.items():
            model.proportion[level].set_value(phi * value)
        for data, value in budget_values(model):
            data.set_value(value)
        status, raw = _run(opt, model, scenario, warm=solved)
        solved = True
        if status != "optimal":
            return False
        if people is None:
            return True  # the coverage floor is in the model: feasible is reached
        return raw.incumbent_objective >= people

    factor, calls = bisect(reached)
    return factor, time.perf_counter() - started, calls


def public_bisection(instance, people, coverage) -> tuple[float, float, int]:
    from optimizer import solve

    started = time.perf_counter()
    proportion = instance.scenario.proportion.model_dump()
    extra = {"priorities.coverage_min": coverage} if coverage is not None else {}

    def reached(phi: float) -> bool:
        result = solve(instance, **{f"proportion.{level}": phi * value for level, value in proportion.items()},
                       **extra)
        if not result.has_plan:
            return False
        return people is None or result.summary["people_lifted"] >= people

    factor, calls = bisect(reached)
    return factor, time.perf_counter() - started, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instance", nargs="?", default="ewppt-2010")
    parser.add_argument("--model", default="lp", choices=("lp", "mip"), help="scenario.model [default: lp]")
    parser.add_argument("--people-ratio", type=float, default=1.1, help="N as a multiple of today's people lifted")
    parser.add_argument("--coverage", type=float, default=None, help="also a coverage target F")
    parser.add_argument("--skip-public", action="store_true", help="leave out the bisection over solve() calls")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny, N = 1.1 x today and F = 0.5, every method: seconds, for the test suite")
    args = parser.parse_args()
    if args.smoke:  # tiny has no funds: ewppt-2010's public bisection alone takes a minute
        args.instance, args.coverage = "tiny", 0.5 if args.coverage is None else args.coverage

    import optimizer.solving.solve  # noqa: F401 - counted_runs patches the module
    from optimizer import load_instance, solve

    instance = load_instance(args.instance, **{"scenario.model": args.model, "objective": "people_lifted"})
    today = solve(instance)
    targets = [("people", round(today.summary["people_lifted"] * args.people_ratio), None)]
    if args.coverage is not None:
        targets.append(("coverage", None, args.coverage))
    print(f"{args.instance} ({args.model}): today {today.summary['people_lifted']:,.1f} people lifted, "
          f"least coverage {today.summary['min_coverage']:.6g}")
    print(f"{'target':<24} {'method':<22} {'seconds':>8} {'solves':>6} {'factor':>14} {'ratio':>7}")
    disagree = []
    for kind, people, coverage in targets:
        label = f"people >= {people:,}" if kind == "people" else f"coverage >= {coverage:g}"
        phi, seconds, solves = target_model(instance, people, coverage)
        print(f"{label:<24} {'target model':<22} {seconds:>8.2f} {solves:>6} {phi:>14.9f} {1:>7.1f}")
        methods = [("persistent bisection", persistent_bisection)]
        if not args.skip_public:
            methods.append(("public bisection", public_bisection))
        for name, method in methods:
            factor, taken, calls = method(instance, people, coverage)
            agree = abs(factor - phi) <= 2 * PRECISION * factor
            print(f"{label:<24} {name:<22} {taken:>8.2f} {calls:>6} {factor:>14.9f} {taken / seconds:>7.1f}"
                  + ("" if agree else "  (differs from the target model's factor)"))
            if not agree:
                disagree.append(f"{label}, {name}: {factor:.9f} against the target model's {phi:.9f}")
    if disagree:
        raise SystemExit("factors differ:\n" + "\n".join(disagree))


if __name__ == "__main__":
    main()
