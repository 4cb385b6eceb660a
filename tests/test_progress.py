"""The live status line's content (optimizer.solving.progress) and when it is drawn."""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

from optimizer.solving import progress
from tests.conftest import ROOT


def highs_output(**figures) -> SimpleNamespace:
    """What a HiGHS callback reports (highspy's HighsCallbackOutput), with these figures."""
    base = dict(simplex_iteration_count=0, ipm_iteration_count=-1, mip_node_count=0, mip_primal_bound=float("-inf"),
                mip_dual_bound=float("inf"), mip_gap=float("inf"))
    return SimpleNamespace(**{**base, **figures})


def test_the_line_names_the_innermost_stage_and_highs_method():
    with progress.stage("solving the LP"):
        assert progress.describe().startswith("solving the LP · 0 s")
        progress._note("interior point", highs_output(ipm_iteration_count=-1))
        assert progress.describe().startswith("solving the LP · HiGHS interior point · ")  # no iteration -1
        progress._note("simplex", highs_output(simplex_iteration_count=12345))
        assert progress.describe().startswith("solving the LP · HiGHS simplex, iteration 12,345 · ")
        assert progress.current() == "solving the LP (HiGHS simplex)"
        with progress.stage("ranging"):
            assert progress.current() == "ranging"
    assert progress.current() == ""


def test_a_mip_shows_its_best_plan_bound_and_gap():
    progress.mip_figures(reset=True)
    with progress.stage("MIP: branch and bound"):
        progress.mip_figures(bound=1000.0)
        assert "bound 1,000" in progress.describe() and "gap" not in progress.describe()
        progress.mip_figures(best=950.0)
        # HiGHS's own incumbent, worse than relax and fix's, and a tighter bound
        progress._note("branch and bound", highs_output(mip_node_count=7, mip_primal_bound=900.0, mip_dual_bound=990.0))
        line = progress.describe()
        assert "HiGHS branch and bound, 7 nodes · best plan 950, bound 990, gap 4.21%" in line
    progress.mip_figures(reset=True)


def test_a_long_solve_names_the_options_that_bound_it():
    with progress.stage("MIP: branch and bound"):
        progress._note("branch and bound", highs_output())
        assert "--time-limit" not in progress.describe()
        progress._state.stage_started -= progress.HINT_AFTER + 1
        assert "Ctrl-C stops; --time-limit SECONDS or --mip-gap 0.01 bound how long a solve takes" in progress.describe()


def _solve(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", "solve", "ewppt-2010", *args], capture_output=True,
                          text=True, env={**os.environ, **env}, cwd=ROOT, timeout=300)


def test_progress_lines_follow_the_mip_driver(tmp_path):
    done = _solve({"EWPPT_PROGRESS": "lines"}, "--out", str(tmp_path / "out"), "--show", "0")
    assert done.returncode == 0, done.stderr
    lines = [line.removeprefix("progress: ") for line in done.stderr.splitlines() if line.startswith("progress: ")]
    wanted = ["starting", "loading the instance", "building the model", "MIP: solving the LP relaxation",
              "loading the model into HiGHS", "MIP: solving the LP relaxation (HiGHS interior point)",
              "MIP: solving with the rounded whole decisions fixed", "re-checking the plan", "writing the plan"]
    assert [line for line in lines if line in wanted] == wanted


def test_nothing_is_drawn_in_a_pipe(tmp_path):
    done = _solve({"EWPPT_PROGRESS": ""}, "--out", str(tmp_path / "out"), "--show", "0")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_a_terminal_shows_the_live_status_line(tmp_path):
    """On a terminal (a pseudo-terminal here) the status line is drawn; the run waits at branch
    and bound (EWPPT_TEST_HOLD) until the line is seen, then Ctrl-C ends it."""
    import pty
    import select
    import signal

    controller, terminal = pty.openpty()
    env = {**os.environ, "EWPPT_PROGRESS": "", "EWPPT_TEST_HOLD": "MIP: branch and bound (HiGHS", "COLUMNS": "200"}
    process = subprocess.Popen([sys.executable, "-m", "optimizer", "solve", "ewppt-2010", "--out", str(tmp_path / "o")],
                               stdin=terminal, stdout=terminal, stderr=terminal, env=env, cwd=ROOT)
    os.close(terminal)
    seen = b""
    wanted = b"MIP: branch and bound \xc2\xb7 HiGHS branch and bound"
    while wanted not in seen and process.poll() is None:
        ready, _, _ = select.select([controller], [], [], 60)
        assert ready, "nothing drawn for 60 s"
        seen += os.read(controller, 65536)
    assert wanted in seen, seen.decode(errors="replace")[-2000:]
    assert b"best plan" in seen and b"bound" in seen
    process.send_signal(signal.SIGINT)
    rest = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        rest += chunk
    assert process.wait(timeout=60) == 130
    # Ctrl-C in branch and bound keeps the best plan (tests/test_interrupt.py checks the folder)
    assert b"stopping: the best plan found is written" in rest and b"the plan is written" in rest
