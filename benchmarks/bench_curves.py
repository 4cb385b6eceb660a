"""Large effect tables: `ewppt solve` on ewppt-2010 with its effect curves refined into ever
more segments, timed stage by stage, with each stage's growth against the effect rows.

    python benchmarks/bench_curves.py [--pieces 1 10 50 100 198] [--curve split|concave] [--repeat 1] [--smoke]

Each of ewppt-2010's 168 funding-line curves (recipient, instrument) has 3 segments. Every
segment is cut into `pieces` segments of equal width, so a line has 3 x pieces segments and the
table 504 x pieces rows (198 pieces: 594 segments a line, 99,792 rows). `--curve split` (the
default) keeps each piece at its segment's people per million: the piecewise-linear effect is
the same function, only cut at more breakpoints, so the optimum must not move (the script exits
1 if the objective does; tests/test_curves.py proves it on tiny and ewppt-2010). `--curve
concave` makes the curve strictly concave instead, through the same breakpoints: the pieces of
a segment fall linearly around its people per million (their mean), by at most a third of the
gap to the neighbouring segments, so the value at every old breakpoint is the same and slopes
still fall from piece to piece; between breakpoints the curve bends, so the optimum may move a
little. Each refined instance is a folder (a copy of ewppt-2010 with the new effects.csv and the
effect rows of provenance.csv left out: the model never reads them) in a temporary directory.

Each size is one `ewppt solve FOLDER --out DIR` (a fresh process, EWPPT_PROGRESS=lines); every
progress line is timestamped as it arrives and the run is cut into stages:

    start      Python, pandas, Pyomo and highspy imported
    read       loading the instance: reading the CSVs, validating every cell, the cross-table checks
    build      building the Pyomo model
    load       loading the model into HiGHS (Pyomo's persistent interface)
    relax+fix  MIP: the LP relaxation, rounding, the LP with the whole decisions fixed
    b&b        MIP: HiGHS's branch and bound (only when relax and fix is not within the gap)
    duals      MIP: the LP of branch and bound's plan, for its duals
    steady     the steady year-profile stage
    re-check   re-checking the plan from the instance alone, and the result tables
    write      writing the result folder

It prints one row per size (rows, seconds per stage, the objective) and the growth exponent of
each stage: the slope of log(seconds) against log(rows) over the sizes of at least 5,000 rows
(1 is linear). A stage shorter than 0.05 s at every size has no exponent (noise).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "instances" / "ewppt-2010"

STAGES = ["start", "read", "build", "load", "relax+fix", "b&b", "duals", "steady", "re-check", "write"]
MARKERS = [  # the progress line (its start) that opens each stage
    ("starting", "start"),
    ("loading the instance", "read"),
    ("building the model", "build"),
    ("loading the model into HiGHS", "load"),
    ("MIP: solving the LP relaxation", "relax+fix"),
    ("MIP: solving with the rounded", "relax+fix"),
    ("MIP: branch and bound", "b&b"),
    ("MIP: duals of the plan", "duals"),
    ("solving the LP", "relax+fix"),
    ("steady year profiles", "steady"),
    ("re-checking the plan", "re-check"),
    ("writing the plan", "write"),
]
FIT_FROM = 5_000  # rows: the growth exponent is fitted over sizes from here on
NOISE = 0.05  # seconds


def refine_effects(effects: pd.DataFrame, pieces: int, curve: str = "split") -> pd.DataFrame:
    """effects.csv with every segment cut into `pieces` of equal width, renumbered 1, 2, ... per
    recipient-instrument. `split`: each piece keeps its segment's people per million (the same
    piecewise-linear function). `concave`: a strictly concave curve through the same breakpoints
    (the pieces' people per million fall linearly around the segment's, their mean)."""
    if curve not in ("split", "concave"):
        raise ValueError(f"curve must be split or concave, not {curve!r}")
    effects = effects.sort_values(["recipient", "instrument", "segment"], kind="stable").reset_index(drop=True)
    rows = []
    for (w, k), line in effects.groupby(["recipient", "instrument"], sort=False):
        slopes = line["people_per_million"].to_list()
        widths = line["width"].to_list()
        n = len(slopes)
        for i, (e, u) in enumerate(zip(slopes, widths)):
            room = [e]  # the last piece stays >= 0
            if i > 0:
                room.append(slopes[i - 1] - e)
            if i < n - 1:
                room.append(e - slopes[i + 1])
            spread = min(room) / 3 if curve == "concave" and pieces > 1 else 0.0
            for p in range(pieces):
                tilt = (pieces - 1 - 2 * p) / (pieces - 1) if pieces > 1 else 0.0
                rows.append((w, k, i * pieces + p + 1, u / pieces, e + spread * tilt))
    return pd.DataFrame(rows, columns=["recipient", "instrument", "segment", "width", "people_per_million"])


def write_refined(folder: Path, pieces: int, curve: str = "split", source: Path = BUNDLED) -> int:
    """A copy of `source` at `folder` with its effects refined; returns the effect rows."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(source, folder)
    refined = refine_effects(pd.read_csv(source / "effects.csv"), pieces, curve)
    refined.to_csv(folder / "effects.csv", index=False)
    provenance = folder / "provenance.csv"
    if provenance.exists():  # its effect rows name the old segments; the model never reads it
        table = pd.read_csv(provenance, dtype=str, keep_default_na=False)
        table[table["table"] != "effects"].to_csv(provenance, index=False)
    return len(refined)


def stage_of(line: str) -> str | None:
    text = line.removeprefix("progress: ")
    for marker, name in MARKERS:
        if text.startswith(marker):
            return name
    return None


def cpu_seconds(pid: int) -> float | None:
    """The CPU seconds (user + system) process `pid` has used so far (Linux's /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def timed_solve(folder: Path, out: Path) -> tuple[dict[str, float], dict[str, float], dict]:
    """One `ewppt solve`: wall seconds and CPU seconds per stage, and run.json. (CPU seconds are
    the process's own, read from /proc at each progress line: on a shared machine they move far
    less than wall seconds; HiGHS runs on the scenario's threads, one for ewppt-2010.)"""
    env = {**os.environ, "EWPPT_PROGRESS": "lines", "EWPPT_TEST_HOLD": ""}
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "optimizer", "solve", str(folder), "--out", str(out)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall, cpu = dict.fromkeys(STAGES, 0.0), dict.fromkeys(STAGES, 0.0)
    current, since, since_cpu, tail = "start", started, 0.0, []
    for line in process.stderr:
        now, used = time.monotonic(), cpu_seconds(process.pid)
        tail = (tail + [line])[-20:]
        name = stage_of(line.strip())
        if name is not None and name != current:
            wall[current] += now - since
            if used is not None:
                cpu[current] += used - since_cpu
                since_cpu = used
            current, since = name, now
    try:  # the child's whole CPU time, from its exit status
        _, status, usage = os.wait4(process.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        cpu[current] += usage.ru_utime + usage.ru_stime - since_cpu
    except (AttributeError, ChildProcessError):  # no wait4 (not Unix): wall seconds only
        code = process.wait()
    process.returncode = code
    wall[current] += time.monotonic() - since
    if code != 0:
        raise SystemExit(f"ewppt solve {folder} exited {code}:\n{''.join(tail)}")
    return wall, cpu, json.loads((out / "run.json").read_text(encoding="utf-8"))


def slope(xs: list[float], ys: list[float]) -> float | None:
    """The least-squares slope of log y against log x (None with fewer than two points)."""
    points = [(math.log(x), math.log(max(y, 1e-3))) for x, y in zip(xs, ys)]
    if len(points) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else None


def print_table(title: str, table: list[tuple[int, int, dict[str, float], str]]) -> None:
    print(title)
    header = ["rows", "segments a line", *STAGES, "total s", "objective"]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for rows, segments, seconds, objective in table:
        print(f"| {rows:,} | {segments} | " + " | ".join(f"{seconds[s]:.2f}" for s in STAGES)
              + f" | {sum(seconds.values()):.2f} | {objective} |")
    fit = [(rows, seconds) for rows, _, seconds, _ in table if rows >= FIT_FROM] or \
        [(rows, seconds) for rows, _, seconds, _ in table]
    exponents = []
    for s in [*STAGES, "total"]:
        ys = [sum(sec.values()) if s == "total" else sec[s] for _, sec in fit]
        b = slope([rows for rows, _ in fit], ys) if max(ys) >= NOISE else None
        exponents.append(f"{s} {'-' if b is None else f'{b:.2f}'}")
    print(f"growth exponent (slope of log seconds against log rows over {len(fit)} sizes"
          f"{f' of at least {FIT_FROM:,} rows' if fit[0][0] >= FIT_FROM else ''}; 1 is linear; "
          f"- a stage under {NOISE} s throughout):")
    print("  " + ", ".join(exponents))
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pieces", type=int, nargs="*", default=[1, 10, 50, 100, 198],
                        help="pieces per bundled segment (segments a line: 3 x pieces; at most 333)")
    parser.add_argument("--curve", choices=["split", "concave"], default="split")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the median of each stage")
    parser.add_argument("--smoke", action="store_true", help="two tiny sizes (1 and 2 pieces): seconds")
    args = parser.parse_args()
    sizes = [1, 2] if args.smoke else sorted(set(args.pieces))
    walls, cpus, first, failed = [], [], None, False
    with tempfile.TemporaryDirectory(prefix="ewppt-curves-") as scratch:
        for pieces in sizes:
            folder = Path(scratch) / f"ewppt-2010-x{pieces}"
            rows = write_refined(folder, pieces, args.curve)
            runs = [timed_solve(folder, Path(scratch) / f"out-{pieces}-{r}") for r in range(args.repeat)]
            run_json = runs[0][2]
            objective, status = run_json.get("objective"), run_json.get("status")
            shown = f"{objective:,.1f}" + ("" if status == "optimal" else f" {status}")
            for kind, table in ((0, walls), (1, cpus)):
                median = {s: sorted(run[kind][s] for run in runs)[len(runs) // 2] for s in STAGES}
                table.append((rows, 3 * pieces, median, shown))
            print(f"{rows:,} rows: {sum(walls[-1][2].values()):.1f} s wall, {sum(cpus[-1][2].values()):.1f} s CPU, "
                  f"objective {shown}", file=sys.stderr, flush=True)
            failed |= status != "optimal"
            first = objective if first is None else first
            # the same curve: the same optimum, to the MIP's gap (each plan is within it of the optimum)
            gap = run_json["scenario"]["solver"].get("mip_rel_gap") or 1e-4
            if args.curve == "split" and abs(objective - first) > 2 * gap * max(1.0, abs(first)):
                print(f"OBJECTIVE MOVED: {objective} against {first} with the same curve", flush=True)
                failed = True
    what = f"ewppt-2010, curves refined ({args.curve}), `ewppt solve` per stage, median of {args.repeat} run(s)"
    print_table(f"{what}: CPU seconds of the solving process (user + system)", cpus)
    print_table(f"{what}: wall seconds (the machine's load moves these)", walls)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
