"""Progressive hedging's progress as it runs (optimizer/studies/hedging.py): the hub's line after
every iteration reaches `hedge`'s `on_iteration` while the ranks run, and the result (and
run.json) keeps the whole trajectory; a run stopped by its timeout, by Ctrl-C or by failing
ranks leaves no MPI process running. Two real ranks on 127.0.0.1, tiny's three hand-made
scenarios (tests/test_hedging.py).

Tolerance: the number of iterations depends on timing (the Lagrangian spoke runs beside the hub
and sends its bounds when it has them), so no count is asserted beyond one; every property below
holds whatever it is. Each bound is a sum of LP optima solved to HiGHS's tolerances (1e-7),
compared with the extensive form's optimum to 1e-7 relative, as tests/test_hedging_bounds.py.

Deterministic stops: the interrupted runs are given a proximal weight of 1e-6 (the prices move by
a millionth of the plans' differences an iteration, so the gap of 1.9% after iteration 1 stays
for far more iterations than the test waits) and are stopped once a line is seen, with the ranks
checked to be running at that moment; the timeout of 0.5 s ends the run while its ranks are
still importing (tiny's ranks take seconds to start).

Skipped where no MPI or mpi-sppy is installed, unless EWPPT_REQUIRE_MPI is set.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict

import pytest

from optimizer import load_instance, robust
from tests.conftest import INSTANCES, ROOT
from tests.test_hedging import HAVE_MPI, UNCERTAINTY

pytestmark = pytest.mark.skipif(not HAVE_MPI, reason="no MPI (Debian's openmpi-bin) or mpi4py/mpi-sppy")

STALLED = {"rho": 1e-6, "iterations": 100_000, "gap": 1e-6}  # a run that goes on (see the module's text)


@pytest.fixture
def uncertainty(tmp_path):
    path = tmp_path / "UNCERTAINTY.toml"
    path.write_text(UNCERTAINTY, encoding="utf-8")
    return path


def running(marker: str) -> list[int]:
    """The processes (not zombies, not this one) whose command line names `marker`: mpiexec and
    the ranks of a run whose files lie under the test's own folder."""
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        try:
            if (process.pid != os.getpid() and process.info["status"] != psutil.STATUS_ZOMBIE
                    and any(marker in part for part in process.info["cmdline"] or ())):
                found.append(process.pid)
        except psutil.Error:
            pass
    return found


def gone(marker: str, within: float = 30.0) -> list[int]:
    """What still runs of `marker`'s processes once they have had `within` seconds to end (a
    bound, not a measurement: the ranks end within milliseconds of mpiexec's SIGTERM)."""
    waited = time.monotonic()
    while (left := running(marker)) and time.monotonic() - waited < within:
        time.sleep(0.05)
    return left


def test_every_iteration_reaches_the_caller_while_the_ranks_run(uncertainty):
    from optimizer.studies.hedging import hedge

    optimum = robust(load_instance(INSTANCES / "tiny"), uncertainty, risk="expected", worth=False).objective
    seen = []
    hedged = hedge(INSTANCES / "tiny", uncertainty, ranks=2, gap=1e-4, on_iteration=seen.append)
    assert hedged.status == "optimal", hedged.message
    assert len(seen) >= 1
    # one line an iteration, in order; the last may repeat the last iteration with the better
    # bound the spoke sent after that iteration's line
    iterations = [line.iteration for line in seen]
    assert iterations[0] >= 1
    assert all(a < b for a, b in zip(iterations[:-1], iterations[1:-1]))
    assert all(a <= b for a, b in zip(iterations, iterations[1:]))
    if len(seen) > 1 and iterations[-1] == iterations[-2]:
        assert seen[-1].bound < seen[-2].bound
    plans = [line.expected for line in seen]
    bounds = [line.bound for line in seen if line.bound is not None]
    assert all(a <= b for a, b in zip(plans, plans[1:]))  # the best plan so far never worsens
    assert all(a >= b for a, b in zip(bounds, bounds[1:]))  # nor the best bound
    assert all(plan <= optimum * (1 + 1e-9) for plan in plans)
    assert all(bound >= optimum * (1 - 1e-7) for bound in bounds)
    for line in seen:
        assert (line.gap is None) == (line.bound is None)
        if line.gap is not None:
            assert line.gap == pytest.approx((line.bound - line.expected) / line.bound, rel=1e-12)
        assert line.seconds > 0 and line.cpu_s > 0
    assert [line.seconds for line in seen] == sorted(line.seconds for line in seen)
    # the last line is the result: its plan and its certified bound
    assert (seen[-1].expected, seen[-1].bound) == (hedged.expected, hedged.bound)
    assert seen[-1].gap <= 1e-4
    # the ranks' record of the trajectory is what the caller saw, and run.json's robust record has it
    assert hedged.trajectory == seen
    assert hedged.result.robust["trajectory"] == [asdict(line) for line in seen]


def test_the_command_shows_each_iteration_and_writes_the_trajectory(tmp_path, uncertainty):
    out = tmp_path / "hedged"
    env = {**os.environ, "EWPPT_PROGRESS": "lines"}  # the status line's changes as lines
    done = subprocess.run([sys.executable, "-m", "optimizer", "hedge", "tiny", str(uncertainty), "--out", str(out),
                           "--gap", "0.0001", "--show", "0"], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    trajectory = json.loads((out / "run.json").read_text(encoding="utf-8"))["robust"]["trajectory"]
    assert len(trajectory) >= 1
    shown = [line.removeprefix("progress: progressive hedging on 2 MPI ranks: ") for line in done.stderr.splitlines()
             if line.startswith("progress: progressive hedging on 2 MPI ranks: ")]
    from optimizer.studies.hedging import HedgingProgress

    assert shown == [HedgingProgress(**line).describe() for line in trajectory]
    assert "e-0" not in "".join(shown) and "e+0" not in "".join(shown)  # no scientific notation
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert trajectory[-1]["expected"] == pytest.approx(run["objective"], rel=1e-9)
    assert trajectory[-1]["bound"] == pytest.approx(run["robust"]["bound"], rel=1e-6)

def test_in_a_pipe_the_command_prints_a_line_now_and_then(tmp_path, uncertainty, monkeypatch):
    from typer.testing import CliRunner

    from optimizer import cli

    out = tmp_path / "hedged"
    monkeypatch.setattr(cli, "HEDGING_LINE_EVERY", 0.0)  # a line for every iteration (60 s apart by default)
    done = CliRunner().invoke(cli.app, ["hedge", str(INSTANCES / "tiny"), str(uncertainty), "--out", str(out),
                                        "--gap", "0.0001", "--show", "0"])
    assert done.exit_code == 0, done.output
    trajectory = json.loads((out / "run.json").read_text(encoding="utf-8"))["robust"]["trajectory"]
    lines = [line for line in done.output.splitlines() if line.startswith("progressive hedging on 2 MPI ranks: ")]
    assert len(lines) == len(trajectory) >= 1
    assert lines[0].startswith(f"progressive hedging on 2 MPI ranks: iteration {trajectory[0]['iteration']}, plan ")
    assert lines[-1].endswith(" min)")


def test_ctrl_c_in_the_command_stops_the_ranks(tmp_path, uncertainty):
    out = tmp_path / "hedged"
    env = {**os.environ, "EWPPT_PROGRESS": "lines"}
    process = subprocess.Popen([sys.executable, "-m", "optimizer", "hedge", "tiny", str(uncertainty), "--out", str(out),
                                "--rho", str(STALLED["rho"]), "--iterations", str(STALLED["iterations"]),
                                "--gap", str(STALLED["gap"])], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, cwd=ROOT)
    seen, ranks = "", []
    for line in process.stderr:
        if ": iteration 1," in line:
            seen, ranks = line.strip(), running(str(tmp_path))
            process.send_signal(signal.SIGINT)  # to the command alone, not to mpiexec's group
            break
    rest = process.stderr.read()
    process.communicate(timeout=120)
    left = gone(str(tmp_path))
    for pid in left:  # clean up before failing
        os.kill(pid, signal.SIGKILL)
    assert seen, rest[-2000:]
    assert len(ranks) >= 3, ranks  # mpiexec and both ranks were running when Ctrl-C came
    assert not left, f"{left} outlived Ctrl-C"
    assert process.returncode == 130, rest
    messages = [line for line in rest.splitlines() if not line.startswith("progress: ")]
    assert len(messages) == 1 and messages[0].startswith(
        "interrupted; no partial output was written (Ctrl-C while progressive hedging on 2 MPI ranks: iteration "), rest
    assert not out.exists()


def test_an_exception_from_the_caller_stops_the_ranks(uncertainty):
    from optimizer.studies.hedging import hedge

    marker, ranks = str(uncertainty.parent), []

    def on_iteration(line):
        ranks.extend(running(marker))
        raise KeyboardInterrupt  # as Ctrl-C in a script: raised where hedge waits

    with pytest.raises(KeyboardInterrupt):
        hedge(INSTANCES / "tiny", uncertainty, ranks=2, on_iteration=on_iteration, **STALLED)
    assert len(ranks) >= 3  # mpiexec and both ranks were running
    assert not gone(marker)


def test_a_run_past_its_timeout_is_stopped_and_says_so(uncertainty):
    from optimizer.studies.hedging import hedge

    hedged = hedge(INSTANCES / "tiny", uncertainty, ranks=2, timeout=0.5)
    assert hedged.status == "failed"
    assert hedged.message.startswith("no plan within the timeout of 0.5 s; the ranks were stopped")
    assert not gone(str(uncertainty.parent))


def test_ranks_that_fail_give_their_error_and_leave_nothing_running(uncertainty):
    from optimizer.studies.hedging import hedge

    hedged = hedge(INSTANCES / "tiny", uncertainty, ranks=2, projection="neither")  # refused by the ranks' own parser
    assert hedged.status == "failed"
    assert "argument --projection: invalid choice: 'neither'" in hedged.message, hedged.message
    assert hedged.trajectory == []
    assert not gone(str(uncertainty.parent))
