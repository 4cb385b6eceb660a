"""How long Ctrl-C takes to end `ewppt solve`, at each stage of a run.

    python benchmarks/bench_interrupt.py [--recipients 800] [--smoke]

Generates a county-scale MIP (800 recipients by default; `--smoke`: ewppt-2010), then for each
stage starts `ewppt solve`, sends SIGINT the moment the run prints that stage
(EWPPT_PROGRESS=lines; no hold, so the signal lands wherever the run really is), and prints
the seconds from the signal to the process's exit, the exit code and the stage the run named.
The command forces its own exit 1.5 s after Ctrl-C (optimizer/solving/interrupt.py), so every figure
should be below about 2 s; a stage that did not stop by itself is marked [ended by force].
"""

from __future__ import annotations

import argparse
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
    ("MIP: branch and bound (HiGHS branch and bound)", ("--mip-gap", "0")),
    ("solving the LP (HiGHS simplex)", ("--model", "lp", "--method", "simplex")),
    ("ranging", ("--model", "lp", "--ranging")),
    ("re-checking the plan", ("--model", "lp")),
    ("writing the plan", ("--model", "lp")),
]


def interrupt_at(instance: str, marker: str, options: tuple[str, ...], out: Path) -> tuple[float | None, int, str]:
    env = {**os.environ, "EWPPT_PROGRESS": "lines", "EWPPT_TEST_HOLD": ""}
    process = subprocess.Popen([sys.executable, "-m", "optimizer", "solve", instance, "--out", str(out), *options],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    sent = None
    for line in process.stderr:
        if marker in line:
            process.send_signal(signal.SIGINT)
            sent = time.perf_counter()
            break
    rest = process.stderr.read()
    process.wait()
    seconds = time.perf_counter() - sent if sent is not None else None
    said = next((line for line in rest.splitlines() if "(Ctrl-C while " in line), "")
    named = said.split("(Ctrl-C while ", 1)[1].split(")")[0] if said else ""
    return seconds, process.returncode, named + (" [ended by force]" if "ended by force" in said else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=800)
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
        print(f"{'stage interrupted':<76} {'seconds':>8} {'exit':>5}  stage the run named")
        worst = 0.0
        for marker, options in stages:
            seconds, code, named = interrupt_at(instance, marker, options, Path(scratch) / "out")
            worst = max(worst, seconds or 0.0)
            shown = "never reached" if seconds is None else f"{seconds:8.2f}"
            print(f"{marker:<76} {shown:>8} {code:>5}  {named}")
            if code != 130:
                raise SystemExit(f"{marker}: exit {code}, expected 130")
        print(f"slowest: {worst:.2f} s")


if __name__ == "__main__":
    main()
