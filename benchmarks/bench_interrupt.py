"""How long Ctrl-C takes to end `ewppt solve`, at each stage of a run, and what it leaves.

    python benchmarks/bench_interrupt.py [--recipients 800] [--seed 7] [--into-branch-and-bound 2 20 60] [--smoke]

Generates a county-scale MIP (800 recipients, 12 donors, 10 instruments, 5 years, seed 7 by
default, as benchmarks/bench_mip.py; `--smoke`: ewppt-2010), then for each stage starts
`ewppt solve`, sends SIGINT the moment the run prints that stage (EWPPT_PROGRESS=lines; no
hold, so the signal lands wherever the run really is), and prints the seconds from the signal
to the process's exit, the exit code, what the run wrote (the status in run.json, or nothing)
and the stage the run named. Branch and bound (at the default gap) is interrupted that many
seconds after its stage starts (`MIP: branch and bound`), so that the signal also lands inside
HiGHS's root LP and its heuristics, where HiGHS does not look for it: the run should still
write the best plan shown, status "stopped", a few seconds later (interrupt.DETACH_GRACE).
For those runs the table also says whether HiGHS answered the stop (`answered`: it handed back
its incumbent within the grace) or not (`not answered`: the plan the status line showed was
written while HiGHS ran on), `(first)` when the signal came before HiGHS's first branch and bound
callback (in its presolve), `not started` when it came before HiGHS started, and
whether the plan written is the last one shown, its bound that shown or tighter (`shown =
written`: the status line's bound tightens between "MIP plan" lines).

Before a plan exists the command forces its own exit 1.5 s after Ctrl-C
(optimizer/solving/interrupt.py), so those figures should be below about 2 s. A stage that did
not stop by itself is marked [ended by force]. Every run has a hard timeout (`--timeout`): a
run still going then is killed with its process group and the tail of its standard error is
printed, so that a hang says where it was.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BRANCH_AND_BOUND = "MIP: branch and bound"

STAGES = [  # (the progress line to interrupt at, extra solve options)
    ("starting", ()),
    ("loading the instance", ()),
    ("building the model", ()),
    ("loading the model into HiGHS", ()),
    ("MIP: solving the LP relaxation (HiGHS interior point)", ()),
    ("MIP: solving with the rounded whole decisions fixed (HiGHS interior point)", ()),
    (BRANCH_AND_BOUND, ()),
    ("solving the LP (HiGHS simplex)", ("--model", "lp", "--method", "simplex")),
    ("ranging", ("--model", "lp", "--ranging")),
    ("re-checking the plan", ("--model", "lp")),
    ("writing the plan", ("--model", "lp")),
]


class Hung(Exception):
    pass


def _lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def interrupt_at(instance: str, marker: str, options: tuple[str, ...], out: Path, after: float = 0.0,
                 timeout: float = 600.0) -> dict:
    """Run `ewppt solve`, send SIGINT `after` seconds after it prints `marker`; returns the
    seconds from the signal to exit (None: it finished first), the exit code, what was written,
    the stage the run named and, for branch and bound, whether HiGHS answered and whether the
    figures written are those last shown. Raises Hung (after killing the run's process group)
    when the run has not ended `timeout` seconds after it started."""
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "EWPPT_PROGRESS": "lines", "EWPPT_TEST_HOLD": "", "EWPPT_TEST_HOLD_UNTIL": ""}
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "optimizer", "solve", instance, "--out", str(out), *options],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
                               start_new_session=True)  # its own process group: a hang is killed whole
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(process.stderr, lines), daemon=True).start()
    seen: list[str] = []
    sent = None
    checked = False  # HiGHS's branch and bound had called back (checked for a stop) before the signal
    signal_at = None

    def left() -> float:
        return timeout - (time.monotonic() - started)

    def kill(why: str) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        while not lines.empty():
            line = lines.get()
            if line is not None:
                seen.append(line)
        tail = "".join(seen[-25:])
        raise Hung(f"{marker}{f' +{after:g} s' if after else ''}: {why}; killed its process group. "
                   f"The last lines of its standard error:\n{tail}")

    while True:
        now = time.monotonic()
        if signal_at is not None and sent is None and now >= signal_at:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                sent = time.perf_counter()
                checked = any("(HiGHS branch and bound)" in line for line in seen)
            signal_at = None
        wait = max(min(left(), 0.05 if signal_at is not None else left()), 0)
        if left() <= 0:
            kill(f"still running {timeout:g} s after it started" + (" (Ctrl-C sent)" if sent else ""))
        try:
            line = lines.get(timeout=wait)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if signal_at is None and sent is None and marker in line:
            signal_at = time.monotonic() + after
    try:
        process.wait(timeout=max(left(), 1))
    except subprocess.TimeoutExpired:
        kill("its standard error closed but it did not exit")
    seconds = time.perf_counter() - sent if sent is not None else None
    rest = "".join(seen)
    said = next((line for line in seen if "(Ctrl-C while " in line or "Ctrl-C (while " in line), "")
    named = said.replace("Ctrl-C (while ", "(Ctrl-C while ").split("(Ctrl-C while ", 1)[1].split(" (HiGHS")[0].split(
        ")")[0] if said else ""
    run_json = out / "run.json"
    run = json.loads(run_json.read_text()) if run_json.exists() else None
    found = {"seconds": seconds, "code": process.returncode, "written": run["status"] if run else "nothing",
             "named": named + (" [ended by force]" if "ended by force" in rest else ""), "highs": "", "shown": ""}
    if run is not None and run["status"] == "stopped" and run["solver"].get("model") == "mip":
        termination = run["solver"].get("termination", "")
        found["highs"] = ("not started" if "before branch and bound" in termination
                          else "not answered" if "had not answered" in termination else "answered")
        if found["highs"] != "not started" and not checked:
            found["highs"] += " (first)"  # before HiGHS's first branch and bound callback (its presolve)
        found["shown"] = _same_plan(_last_shown(seen), run)
    return found


def _last_shown(lines: list[str]) -> str:
    shown = [line.strip() for line in lines if line.startswith("progress: MIP plan: ")]
    return shown[-1].removeprefix("progress: MIP plan: ").rsplit(" (", 1)[0] if shown else ""


def _same_plan(shown: str, run: dict) -> str:
    """'yes' when the plan written is the last one shown ("best plan 834,767" as the status line
    formats it) and its bound is that shown then or tighter (the status line's bound moves
    without a new "MIP plan" line); else what differs."""
    written = _figures(run)
    if shown.split(", bound")[0] != written.split(", bound")[0]:
        return f"no: shown {shown}; written {written}"
    bound = run["summary"].get("best_bound")
    shown_bound = float(shown.split("bound ")[1].split(", gap")[0].replace(",", "")) if "bound " in shown else None
    if bound is not None and shown_bound is not None and round(bound) > shown_bound:
        return f"no: bound shown {shown_bound:,.0f}, written {bound:,.0f}"
    return "yes"


def _figures(run: dict) -> str:
    """A written plan's figures as the status line formats them."""
    from optimizer.solving.progress import State, _figures as figures

    return figures(State(best=run["objective"], bound=run["summary"].get("best_bound")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=800)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--into-branch-and-bound", type=float, nargs="*", default=[2.0, 20.0, 60.0],
                        metavar="SECONDS", help="interrupt branch and bound this long after it starts (one run each)")
    parser.add_argument("--stages", nargs="*", metavar="MARKER",
                        help="only the stages whose progress line contains one of these")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds a run may take before it is killed")
    parser.add_argument("--smoke", action="store_true", help="ewppt-2010 and four stages: seconds, for the test suite")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from optimizer.data.generate import generate_instance

    with tempfile.TemporaryDirectory() as scratch:
        if args.smoke:  # ewppt-2010's branch and bound starts after about 5 s and may end 1 s later
            instance, stages, timeout = "ewppt-2010", [STAGES[0], STAGES[2], STAGES[4], STAGES[6]], 45.0
            offsets = [0.0]
        else:
            instance = str(generate_instance(Path(scratch) / "g", recipients=args.recipients, donors=12,
                                             instruments=10, years=5, seed=args.seed))
            stages, timeout, offsets = STAGES, args.timeout, args.into_branch_and_bound
        if args.stages:
            stages = [stage for stage in stages if any(wanted in stage[0] for wanted in args.stages)]
        print(f"Ctrl-C to exit, ewppt solve {Path(instance).name}")
        print(f"{'stage interrupted':<78} {'seconds':>8} {'exit':>5}  {'written':<8} {'HiGHS':<19} "
              f"{'shown = written':<16} stage the run named")
        worst = 0.0
        runs = [(marker, options, after) for marker, options in stages
                for after in (offsets if marker == BRANCH_AND_BOUND else [0.0])]
        failed = []
        for marker, options, after in runs:
            label = marker + (f" +{after:g} s" if after else "")
            try:
                found = interrupt_at(instance, marker, options, Path(scratch) / "out", after, timeout)
            except Hung as exc:
                print(f"{label:<78} {'hung':>8}", flush=True)
                print(str(exc), file=sys.stderr, flush=True)
                failed.append(f"{label}: hung")
                if args.smoke:  # the test suite's own timeout must not hide the diagnosis
                    break
                continue
            seconds = found["seconds"]
            worst = max(worst, seconds or 0.0)
            shown = "finished first" if seconds is None else f"{seconds:8.2f}"
            print(f"{label:<78} {shown:>8} {found['code']:>5}  {found['written']:<8} {found['highs']:<19} "
                  f"{found['shown']:<16} {found['named']}", flush=True)
            if seconds is not None and found["code"] != 130:
                failed.append(f"{label}: exit {found['code']}, expected 130")
            if found["shown"].startswith("no"):
                failed.append(f"{label}: the figures written are not those shown ({found['shown']})")
        print(f"slowest: {worst:.2f} s")
        if failed:
            raise SystemExit("; ".join(failed))


if __name__ == "__main__":
    main()
