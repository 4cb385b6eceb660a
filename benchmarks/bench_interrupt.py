"""How long Ctrl-C takes to end `ewppt solve`, at each stage of a run, and what it leaves.

    python benchmarks/bench_interrupt.py [--recipients 800] [--into-branch-and-bound 0 10 20 40] [--smoke]

Generates a county-scale MIP (800 recipients by default; `--smoke`: ewppt-2010), then for each
stage starts `ewppt solve`, sends SIGINT the moment the run prints that stage
(EWPPT_PROGRESS=lines; no hold, so the signal lands wherever the run really is), and prints
the seconds from the signal to the process's exit, the exit code, what the run wrote (the
status in run.json, or nothing) and the stage the run named. Branch and bound (at the default
gap) is interrupted that many seconds after it starts, so that the signal also lands inside
HiGHS's heuristics: it should write the best plan, status "stopped".

Before a plan exists the command forces its own exit 1.5 s after Ctrl-C
(optimizer/solving/interrupt.py), so those figures should be below about 2 s; in branch and
bound it waits up to 60 s for HiGHS to hand back its incumbent (HiGHS checks for the interrupt
between nodes and heuristics, never inside a sub-MIP). A stage that did not stop by itself is
marked [ended by force].
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STAGES = [  # (the progress line to interrupt at, extra solve options)
    ("starting", ()),
    ("loading the instance", ()),
    ("building the model", ()),
    ("loading the model into HiGHS", ()),
    ("MIP: solving the LP relaxation (HiGHS interior point)", ()),
    ("MIP: solving with the rounded whole decisions fixed (HiGHS interior point)", ()),
    ("MIP: branch and bound (HiGHS branch and bound)", ()),
    ("solving the LP (HiGHS simplex)", ("--model", "lp", "--method", "simplex")),
    ("ranging", ("--model", "lp", "--ranging")),
    ("re-checking the plan", ("--model", "lp")),
    ("writing the plan", ("--model", "lp")),
]


def interrupt_at(instance: str, marker: str, options: tuple[str, ...], out: Path,
                 after: float = 0.0) -> tuple[float | None, int, str, str]:
    """Seconds from SIGINT (sent `after` seconds after the run prints `marker`) to exit, the
    exit code, what was written and the stage the run named."""
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "EWPPT_PROGRESS": "lines", "EWPPT_TEST_HOLD": ""}
    process = subprocess.Popen([sys.executable, "-m", "optimizer", "solve", instance, "--out", str(out), *options],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    sent = None
    for line in process.stderr:
        if marker in line:
            time.sleep(after)
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                sent = time.perf_counter()
            break
    rest = process.stderr.read()
    process.wait()
    seconds = time.perf_counter() - sent if sent is not None else None
    said = next((line for line in rest.splitlines() if "(Ctrl-C while " in line or "Ctrl-C (while " in line), "")
    named = said.replace("Ctrl-C (while ", "(Ctrl-C while ").split("(Ctrl-C while ", 1)[1].split(" (HiGHS")[0].split(
        ")")[0] if said else ""
    run = out / "run.json"
    written = json.loads(run.read_text())["status"] if run.exists() else "nothing"
    return seconds, process.returncode, written, named + (" [ended by force]" if "ended by force" in rest else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=800)
    parser.add_argument("--into-branch-and-bound", type=float, nargs="*", default=[0.0], metavar="SECONDS",
                        help="interrupt branch and bound this long after it starts (one run each)")
    parser.add_argument("--smoke", action="store_true", help="ewppt-2010 and three stages: seconds, for the test suite")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from optimizer.data.generate import generate_instance

    with tempfile.TemporaryDirectory() as scratch:
        if args.smoke:
            instance, stages = "ewppt-2010", [STAGES[0], STAGES[2], STAGES[4]]
        else:
            instance = str(generate_instance(Path(scratch) / "g", recipients=args.recipients, seed=1))
            stages = STAGES
        print(f"Ctrl-C to exit, ewppt solve {Path(instance).name}")
        print(f"{'stage interrupted':<84} {'seconds':>8} {'exit':>5}  {'written':<8} stage the run named")
        worst = 0.0
        runs = [(marker, options, after) for marker, options in stages
                for after in (args.into_branch_and_bound if "branch and bound" in marker else [0.0])]
        for marker, options, after in runs:
            seconds, code, written, named = interrupt_at(instance, marker, options, Path(scratch) / "out", after)
            worst = max(worst, seconds or 0.0)
            shown = "finished first" if seconds is None else f"{seconds:8.2f}"
            label = marker + (f" +{after:g} s" if after else "")
            print(f"{label:<84} {shown:>8} {code:>5}  {written:<8} {named}")
            if seconds is not None and code != 130:
                raise SystemExit(f"{marker}: exit {code}, expected 130")
        print(f"slowest: {worst:.2f} s")


if __name__ == "__main__":
    main()
