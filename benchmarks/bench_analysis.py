"""What the planner's analyses cost next to a plain solve, side by side in one run.

    python benchmarks/bench_analysis.py --recipients 200 800 --repeat 3
    python benchmarks/bench_analysis.py --smoke     # ewppt-2010 and 20 counties, one run: seconds, for the test suite

For ewppt-2010 and generated county-scale instances (solved as LPs, `scenario.model = "lp"`,
so the figures are about the analyses rather than the MIP):

- solve: `solve(instance)`, build + HiGHS + read back + re-check;
- solve + ranging: the same with `ranging=True` (a copy of the plan's LP with one column per
  instance figure, re-solved from the plan's basis, then HiGHS's ranging);
- explain: `explain(instance)` of the scenario made infeasible by household_finance_min 0.6 +
  enterprise_finance_min 0.5 (shares over 1 in every donor-year): the LP, the IIS and the elastic
  solve.

Medians of --repeat runs in one process; ratios are against the plain solve of the same run.
Exits 1 if a solve does not end optimal or explain does not find the scenario infeasible.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARES_OVER_ONE = {"priorities.household_finance_min": 0.6, "priorities.enterprise_finance_min": 0.5}


def median_seconds(run, repeat: int) -> tuple[float, object]:
    times, last = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        last = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), last


def measure(name: str, instance, repeat: int) -> None:
    from optimizer import solve
    from optimizer.analysis.explain import explain

    lp = instance.with_scenario(instance.scenario.override(**{"scenario.model": "lp"}))
    plain, result = median_seconds(lambda: solve(lp), repeat)
    ranged, with_ranging = median_seconds(lambda: solve(lp, ranging=True), repeat)
    infeasible = lp.with_scenario(lp.scenario.override(**SHARES_OVER_ONE))
    explained, why = median_seconds(lambda: explain(infeasible), repeat)
    if not (result.ok and with_ranging.ok and why.status == "infeasible"):
        raise SystemExit(f"{name}: solve {result.status}, solve + ranging {with_ranging.status}, "
                         f"explain {why.status} (expected optimal, optimal, infeasible)")
    print(f"| {name} | {len(result.allocation):,} flows | {plain:.2f} | {ranged:.2f} ({ranged / plain:.1f}x) "
          f"| {len(with_ranging.ranging):,} | {explained:.2f} ({explained / plain:.1f}x) | {len(why.conflict)} rows, "
          f"{len(why.changes)} values changed |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, nargs="*", default=[200, 800])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true",
                        help="ewppt-2010 and 20 counties, one run: seconds, for the test suite")
    args = parser.parse_args()
    if args.smoke:
        args.recipients, args.repeat = [20], 1

    from optimizer import load_instance
    from optimizer.data.generate import generate_instance

    print("| instance | plan size | solve s | solve + ranging s | figures ranged | explain s | explanation |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    measure("ewppt-2010 (LP)", load_instance(ROOT / "instances" / "ewppt-2010"), args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        for recipients in args.recipients:
            folder = generate_instance(Path(tmp) / f"gen-{recipients}", recipients=recipients, donors=12, seed=1)
            measure(f"generated, {recipients} counties (LP)", load_instance(folder), args.repeat)


if __name__ == "__main__":
    main()
