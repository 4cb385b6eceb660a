"""Every benchmark runs: `benchmarks/bench_*.py --smoke` (a tiny size, the same code paths and
table) exits 0 and prints its table. Scripts are found by glob, so a new benchmark is covered
as soon as it exists; one without `--smoke` fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("bench_*.py"))

# a line of each script's table; a script not named here must print something, without a traceback
HEADERS = {
    "bench_analysis.py": "| instance | plan size | solve s |",
    "bench_curves.py": "| rows | segments a line | start | read |",
    "bench_frontier.py": "frontier of 3 plans: persistent",
    "bench_hedging.py": "| projection | scenarios | iterations |",
    "bench_interrupt.py": "stage interrupted",
    "bench_mip.py": "engine          optimal",
    "bench_robust.py": "scenarios    columns       rows  build s",
    "bench_serve.py": "| instance | model | changes | plan p50 s |",
    "bench_solve.py": "extract s",
    "bench_sweep.py": "1. rebuild",
    "bench_target.py": "target model",
}


def test_benchmarks_found():
    assert SCRIPTS, "no benchmarks/bench_*.py"


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_benchmark_smoke(script: Path):
    assert '"--smoke"' in script.read_text(encoding="utf-8"), (
        f"{script.name} has no --smoke flag: add one that runs a tiny size (tiny or ewppt-2010, a few "
        f"scenarios, one repeat) in seconds and prints the same table, so this test can run it")
    done = subprocess.run([sys.executable, str(script), "--smoke"], cwd=ROOT, capture_output=True, text=True,
                          timeout=180)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{script.name} --smoke exited {done.returncode}:\n{output[-4000:]}"
    assert "Traceback" not in output, f"{script.name} --smoke printed a traceback:\n{output[-4000:]}"
    assert done.stdout.strip(), f"{script.name} --smoke printed nothing"
    header = HEADERS.get(script.name)
    assert header is None or header in done.stdout, (
        f"{script.name} --smoke did not print its table (no line with {header!r}):\n{done.stdout[-4000:]}")
