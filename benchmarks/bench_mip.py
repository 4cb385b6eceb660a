"""MIP benchmark: a generated county-scale instance, build time, time to a 1% gap, peak memory,
and what each part of the formulation and the solve method gives.

    python benchmarks/bench_mip.py                       # 800 counties, 12 donors, 10 instruments, 5 years
    python benchmarks/bench_mip.py --recipients 200 --ablation
    python benchmarks/bench_mip.py --configs engine,no-tightening
    python benchmarks/bench_mip.py --smoke     # 20 counties, every configuration: seconds, for the test suite
    python benchmarks/bench_mip.py --targets --seeds 7,11,23 --before /tmp/before   # a planner's three waits
    python benchmarks/bench_mip.py --targets --only "gap 1%" --stages             # one target, stage by stage

--targets times the whole `ewppt solve` command, as a planner runs it, on generated instances of
--recipients counties (12 donors, 10 instruments, 5 years) for each of --seeds:
    gap 1%        `ewppt solve --mip-gap 0.01`: wall seconds to a plan within 1%, steady stage included
    gap 0.1%      `ewppt solve --mip-gap 0.001`: wall seconds to a plan within 0.1%
    default shown `ewppt solve` (no flags): seconds until the status line first shows a plan within 1%
                  of the bound (EWPPT_PROGRESS=lines prints each better plan; the run is then stopped)
With --before FOLDER (a checkout of the code to compare, e.g. `git archive main | tar -x -C FOLDER`)
each command runs with the code before and after, one right after the other, and the table gives
both times and their ratio: on a shared machine the ratio is the figure to trust. Each run also
gives its CPU seconds (the command's own, user and system): the command is almost all one
thread, so on a loaded machine its CPU seconds are close to what the wall time would be idle.
--stages adds, under each row, the wall and CPU seconds of every stage the command names
(EWPPT_PROGRESS=lines; CPU read from /proc, so Linux only).

Each configuration runs in a fresh process (so peak memory is its own) and prints one line:
instance load, model build, solve until the plan is within --gap of the best bound (or the
time limit), the objective, bound and gap, and the process's peak resident memory. Exits 1 if a
configuration's process fails or its solve ends other than optimal or at the time limit.

Configurations (--ablation runs all; the default runs only the engine's own):
    engine        relax and fix with the funds' effect tightening (models/fund_effects.py), branch
                  and bound if needed
    highs-bb      HiGHS's branch and bound alone on the same model (with the tightening)
    no-tightening relax and fix without the tightening
    highs-bb-loose HiGHS's branch and bound alone without the tightening
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIGS = ("engine", "highs-bb", "no-tightening", "highs-bb-loose")
TARGETS = (("gap 1%", ["--mip-gap", "0.01"], 40.0, 0.01),
           ("gap 0.1%", ["--mip-gap", "0.001"], 180.0, 0.001),
           ("default shown", [], 60.0, 0.01))
SHOWN = re.compile(r"progress: MIP plan: .*gap ([0-9.]+)%")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """A running process's CPU seconds so far (user and system), from /proc; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError, ValueError):
        return None


def run_command(code: Path, folder: Path, flags: list[str], watch: bool, time_limit: float) -> dict:
    """One `ewppt solve` with `code` first on the path: wall seconds, status and gap. `watch`:
    stop at the first plan shown within 1% (or at time_limit) and report when it was shown."""
    env = {**os.environ, "PYTHONPATH": str(code), "EWPPT_PROGRESS": "lines"}
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "optimizer", "solve", str(folder), "--out", str(Path(out) / "plan"), *flags]
        if not watch:
            command += ["--time-limit", str(time_limit)]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)
        shown, gap, cpu, marks = None, None, None, []
        timer = threading.Timer(time_limit, process.kill) if watch else None
        if timer:
            timer.start()
        for line in process.stderr:
            if line.startswith("progress:") and "MIP plan" not in line:
                marks.append((line[len("progress:"):].strip(), time.perf_counter() - started, cpu_seconds(process.pid)))
            found = SHOWN.search(line)
            if watch and found and float(found.group(1)) <= 1.0:
                shown, gap = time.perf_counter() - started, float(found.group(1)) / 100
                cpu = cpu_seconds(process.pid)
                process.kill()  # the process this benchmark started, by its own handle
                break
        _, status, usage = os.wait4(process.pid, 0)  # process.wait(), with the command's CPU seconds
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if timer:
            timer.cancel()
        if not watch:
            cpu = usage.ru_utime + usage.ru_stime
        marks.append(("end", shown if watch else wall, cpu))
        stages = _stages(marks) if shown is not None or not watch else []
        if watch:
            return dict(seconds=shown, gap=gap, cpu=cpu, stages=stages, status="shown" if shown is not None else "not shown")
        run = Path(out) / "plan" / "run.json"
        if not run.exists():
            return dict(seconds=wall, gap=None, cpu=cpu, stages=stages, status=f"exit {process.returncode}")
        record = json.loads(run.read_text(encoding="utf-8"))
        return dict(seconds=wall, gap=record.get("solver", {}).get("mip_gap"), cpu=cpu, stages=stages,
                    status=record.get("status"))


def _stages(marks: list[tuple]) -> list[tuple]:
    """(stage, wall s, CPU s or None) from the (stage, wall, CPU) marks at each stage's start, in
    order; a stage's HiGHS method lines ("... (HiGHS interior point)") and its returns after
    another stage (loading into HiGHS inside the relaxation) count as the stage."""
    stages: dict[str, list] = {}
    for (name, wall, cpu), (_, wall2, cpu2) in zip(marks, marks[1:]):
        entry = stages.setdefault(name.split(" (HiGHS ")[0], [0.0, 0.0])
        entry[0] += wall2 - wall
        entry[1] = None if entry[1] is None or cpu is None or cpu2 is None else entry[1] + cpu2 - cpu
    return [(name, wall, cpu) for name, (wall, cpu) in stages.items()]


def targets(args) -> list[str]:
    """The three targets on each seed; with --before, before and after side by side."""
    from optimizer.data.generate import generate_instance

    codes = [("after", ROOT)] + ([("before", Path(args.before).resolve())] if args.before else [])
    failed = []
    print(f"{args.recipients} counties, {args.donors} donors, {args.instruments} instruments, {args.years} years; "
          f"whole `ewppt solve` wall and CPU seconds (time limit {args.time_limit:g} s, load average "
          f"{os.getloadavg()[0]:.1f} at the start)")
    print("| seed | run | target | " + " | ".join(f"{name} s | {name} CPU s | {name} gap" for name, _ in codes)
          + (" | before / after |" if args.before else " |"))
    print("|---" * (3 + 3 * len(codes) + (1 if args.before else 0)) + "|")
    chosen = [t for t in TARGETS if not args.only or t[0] in args.only.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for seed in [int(s) for s in args.seeds.split(",")]:
            folder = generate_instance(Path(tmp) / f"s{seed}", recipients=args.recipients, donors=args.donors,
                                       instruments=args.instruments, years=args.years, seed=seed)
            for name, flags, limit, gap_target in chosen:
                cells, seconds, breakdown = [], {}, []
                for code_name, code in codes:
                    r = run_command(code, folder, flags, watch=not flags, time_limit=args.time_limit)
                    seconds[code_name] = r["seconds"]
                    met = r["seconds"] is not None and r["gap"] is not None and r["gap"] <= gap_target + 1e-12
                    if code_name == "after" and not met:
                        failed.append(f"seed {seed} {name}: {r['status']}")
                    cells += ["-" if r["seconds"] is None else f"{r['seconds']:.1f}",
                              "-" if r["cpu"] is None else f"{r['cpu']:.1f}",
                              "-" if r["gap"] is None else f"{r['gap']:.3%}"]
                    breakdown.append(f"    {code_name}: " + "; ".join(
                        f"{stage} {wall:.1f} s" + ("" if used is None else f" ({used:.1f} CPU)")
                        for stage, wall, used in r["stages"]))
                ratio = ""
                if args.before:
                    b, a = seconds.get("before"), seconds.get("after")
                    ratio = f" {b / a:.2f} |" if a and b else " - |"
                print(f"| {seed} | {name} | {limit:g} s, {gap_target:.1%} | " + " | ".join(cells) + " |" + ratio,
                      flush=True)
                if args.stages:
                    print("\n".join(breakdown), flush=True)
    return failed


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
        model.fund_effect.deactivate()  # in the breakpoint form (models/fund_effects.py), also
        for line in model.fund_curve_share:  # the weights' share of y: the line's whole curve
            model.fund_curve_share[line].set_value((None, sum(
                model.fund_curve_weight[key] for key, _, _ in model.fund_curve_vertices[line]) - 1.0, 0.0))
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
    parser.add_argument("--targets", action="store_true", help="time the three planner targets on --seeds")
    parser.add_argument("--seeds", default="7,11,23", help="--targets: comma-separated generator seeds")
    parser.add_argument("--before", help="--targets: a checkout of the code to compare with, run side by side")
    parser.add_argument("--only", help="--targets: comma-separated targets to run (gap 1%%, gap 0.1%%, default shown)")
    parser.add_argument("--stages", action="store_true", help="--targets: each run's stages, wall and CPU seconds")
    args = parser.parse_args()
    if args.smoke:
        args.recipients, args.ablation, args.time_limit = 20, True, 20.0
    if args.targets:
        failed = targets(args)
        if failed:
            raise SystemExit("target missed: " + "; ".join(failed))
        return

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
        if args.smoke:  # and the targets' commands, once, at the smoke size
            args.seeds = "7"
            missed = targets(args)
            failed += [m for m in missed if "exit" in m or "not shown" in m]
        if failed:
            raise SystemExit("failed: " + "; ".join(failed))


if __name__ == "__main__":
    main()
