"""What the steady year-profile stage costs: solve time with `year_profile = "steady"` (the
default) against `"free"` (the first stage alone), measured side by side in one run.

    python benchmarks/bench_steady.py [INSTANCE ...] [--recipients 200 800] [--smoke]

For each instance (bundled names or folders; `--recipients N` adds a generated N-county
instance, seed 1, as an LP and as a MIP) prints the solve seconds of both, their ratio, the
objective of each (they must agree: the script exits 1 when they do not), and the steadiness
figures of both plans (the share of aid off its line's profile, the share of funded lines with
an empty year).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimizer import generate_instance, load_instance, solve  # noqa: E402


def timed(instance, **overrides):
    started = time.perf_counter()
    result = solve(instance, **overrides)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instances", nargs="*", default=["ewppt-2010"])
    parser.add_argument("--recipients", type=int, nargs="*", default=[200, 800])
    parser.add_argument("--smoke", action="store_true", help="tiny and 20 generated counties: seconds")
    args = parser.parse_args()
    names, sizes = (["tiny"], [20]) if args.smoke else (args.instances, args.recipients)
    print(f"{'instance':<22} {'model':<5} {'free s':>8} {'steady s':>9} {'ratio':>6} {'objective':>16} "
          f"{'off free':>9} {'off steady':>10} {'empty free':>10} {'empty steady':>12}")
    failed = False
    with tempfile.TemporaryDirectory() as scratch:
        cases = [(name, load_instance(name), None) for name in names]
        for n in sizes:
            folder = generate_instance(Path(scratch) / f"g{n}", recipients=n, seed=1)
            cases += [(f"{n} counties", load_instance(folder), kind) for kind in ("lp", "mip")]
        for name, instance, kind in cases:
            extra = {"scenario.model": kind} if kind else {}
            free_s, free = timed(instance, **extra, **{"scenario.year_profile": "free"})
            steady_s, steady = timed(instance, **extra)
            same = free.objective is not None and steady.objective is not None and \
                abs(free.objective - steady.objective) <= 1e-9 * max(1.0, abs(free.objective))
            failed |= not same
            print(f"{name:<22} {steady.summary.get('model', '-'):<5} {free_s:8.2f} {steady_s:9.2f} "
                  f"{steady_s / free_s:6.2f} {steady.objective:16,.1f} "
                  f"{free.summary['aid_off_profile']:9.1%} {steady.summary['aid_off_profile']:10.1%} "
                  f"{free.summary['lines_with_an_empty_year']:10.1%} {steady.summary['lines_with_an_empty_year']:12.1%}"
                  + ("" if same else "  OBJECTIVES DIFFER"))
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
