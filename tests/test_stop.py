"""The per-solve stop (`interrupt.StopRequest`): a browser session's Stop button stops its own
solve, among several solving at once in threads of one process, and keeps its best plan.

Deterministic: the stopped solve waits inside HiGHS's branch and bound (progress.HOLD, the
hold tests/test_interrupt.py uses) until its own stop is requested, so the stop lands there
whatever the machine's speed; the other solve never holds.
"""

from __future__ import annotations

import os
import threading
import time

import pandas as pd
import pytest

from optimizer import load_instance
from optimizer.solving import interrupt, progress
from optimizer.solving.interrupt import StopRequest, Stopped
from optimizer.solving.solve import solve
from optimizer.studies.sweep import ScenarioRunner

BRANCH_AND_BOUND = ("(HiGHS branch and bound)",)  # progress.HOLD: the markers held at
GAP = {"solver.mip_rel_gap": 0.01}  # relax and fix's plan is within 1% on ewppt-2010: no branch and bound


@pytest.fixture(scope="module")
def ewppt():
    return load_instance("ewppt-2010")


class Held:
    """`work()` in a thread of its own with its own progress State; `wait_in_branch_and_bound`
    returns once that thread's solve is in HiGHS's branch and bound (held there)."""

    def __init__(self, work):
        self.state: progress.State | None = None
        self.result = self.error = None
        self.thread = threading.Thread(target=self._run, args=(work,))
        self.thread.start()

    def _run(self, work) -> None:
        with progress.tracking() as state:
            self.state = state
            try:
                self.result = work()
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                self.error = exc

    def wait_in_branch_and_bound(self) -> None:
        waited = time.monotonic()
        while not (self.state is not None and self.state.method == "branch and bound"):
            assert self.thread.is_alive(), f"the solve ended before branch and bound: {self.error or self.result}"
            assert time.monotonic() - waited < 600, "the solve never reached branch and bound"
            time.sleep(0.01)

    def join(self):
        self.thread.join(timeout=600)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error
        return self.result


def test_a_stop_request_stops_one_of_two_solves_and_keeps_its_plan(ewppt, monkeypatch):
    monkeypatch.setattr(progress, "HOLD", BRANCH_AND_BOUND)
    alone = solve(ewppt, **GAP)  # the other solve's numbers, solved alone
    assert alone.status == "optimal" and alone.solver["method"] == "relax-and-fix"

    mine, other = StopRequest(), StopRequest()
    stopped = Held(lambda: solve(ewppt, stop=mine))  # the default gap: branch and bound, held there
    stopped.wait_in_branch_and_bound()
    untouched = Held(lambda: solve(ewppt, stop=other, **GAP))
    mine.request()  # from this thread: only the held solve's HiGHS is asked to stop
    result, kept = stopped.join(), untouched.join()

    assert result.status == "stopped" and result.has_plan and not other.requested
    assert result.message.startswith("stopped on request: best plan found, within ")
    assert 0 < result.summary["mip_gap"] < 0.01  # relax and fix's plan, or HiGHS's better one
    assert result.summary["best_bound"] >= result.objective > 0
    assert result.summary["steady_stage"] == "skipped: stopped"
    assert result.objective == pytest.approx(float(result.kpis["people_lifted"].sum()), rel=1e-6)
    assert len(result.allocation) and (result.allocation["aid"] > 0).all()

    assert kept.status == "optimal" and kept.objective == alone.objective
    pd.testing.assert_frame_equal(kept.allocation, alone.allocation)
    pd.testing.assert_frame_equal(kept.kpis, alone.kpis)


def test_a_stop_before_any_plan_raises_stopped(ewppt):
    stop = StopRequest()
    stop.request()
    with pytest.raises(Stopped):
        solve(ewppt, stop=stop)
    assert not interrupt.requested()  # the process-wide Ctrl-C state is untouched
    assert solve(ewppt, **GAP).status == "optimal"  # and the next solve runs


def test_the_sweeps_runner_takes_the_same_stop(ewppt, monkeypatch):
    """The workbench re-solves through the sweep's persistent ScenarioRunner."""
    monkeypatch.setattr(progress, "HOLD", BRANCH_AND_BOUND)
    runner = ScenarioRunner(ewppt, [], save_allocation=True)
    before = StopRequest()
    before.request()
    with pytest.raises(Stopped):
        runner.run(0, {}, stop=before)

    stop = StopRequest()
    held = Held(lambda: runner.run(1, {}, stop=stop))
    held.wait_in_branch_and_bound()
    stop.request()
    record = held.join()
    assert record["status"] == "stopped" and record["message"].startswith("stopped on request")
    assert 0 < record["mip_gap"] < 0.01 and record["best_bound"] >= record["objective"] > 0
    assert len(record["allocation"])

    monkeypatch.setattr(progress, "HOLD", ())  # no hold: nobody stops this one
    again = runner.run(2, {}, stop=StopRequest())  # the same runner solves on, to the end
    assert again["status"] == "optimal" and again["objective"] >= record["objective"] - 1e-6


@pytest.fixture
def deaf(monkeypatch):
    """HiGHS "does not answer" (progress.HOLD_UNTIL = "released"): held in branch and bound, the
    hold goes on after the stop until the test releases it, as HiGHS inside a sub-MIP or the
    root LP of its branch and bound, which never reads the stop."""
    monkeypatch.setattr(progress, "HOLD", BRANCH_AND_BOUND)
    monkeypatch.setattr(progress, "HOLD_UNTIL", "released")
    progress.RELEASE.clear()
    yield
    progress.RELEASE.set()  # the left HiGHS runs finish (they were asked to stop)
    waited = time.monotonic()
    while interrupt.detached_runs() and time.monotonic() - waited < 120:
        time.sleep(0.05)
    progress.RELEASE.clear()
    assert not interrupt.detached_runs()


def test_a_stop_highs_does_not_answer_returns_the_plan_shown(ewppt, deaf, monkeypatch):
    """The workbench's Stop returns the plan its status line shows even while HiGHS does not
    look for the stop; the same runner then solves on (in a new Highs object, the left one
    still running)."""
    runner = ScenarioRunner(ewppt, [], save_allocation=True)
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    stop = StopRequest()
    held = Held(lambda: runner.run(0, {}, stop=stop))
    held.wait_in_branch_and_bound()
    stop.request()
    record = held.join()  # returned, HiGHS still held in its callback
    assert interrupt.detached_runs() == 1
    (left,) = interrupt._busy.values()  # the left run's thread: the lowest priority, no rival for the next solve
    assert os.getpriority(os.PRIO_PROCESS, left.native_id) == 19
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine  # the workbench's own threads: unchanged
    assert record["status"] == "stopped" and record["message"].startswith("stopped on request: the best plan found")
    assert record["objective"] == held.state.best and record["best_bound"] == pytest.approx(held.state.bound)
    assert record["mip_gap"] == pytest.approx((held.state.bound - held.state.best) / held.state.best)
    assert len(record["allocation"]) and record["objective"] > 0

    monkeypatch.setattr(progress, "HOLD", ())  # nobody stops this one
    again = runner.run(1, {}, stop=StopRequest())
    assert again["status"] == "optimal" and again["objective"] >= record["objective"] - 1e-6
    assert interrupt.detached_runs() == 1  # the left run is still held: the runner did not wait for it


def test_a_stop_highs_does_not_answer_with_no_plan_shown_keeps_none(ewppt, deaf):
    """Before any plan is shown, a stop HiGHS does not answer reports no plan (solve_model then
    raises `Stopped`); a plan HiGHS had shown is the one reported."""
    from models.assemble import build_model
    from optimizer.solving.mip import _branch_and_bound, discrete_vars
    from optimizer.solving.solve import _run, new_solver

    model, opt = build_model(ewppt, ewppt.scenario), new_solver()
    stop = StopRequest()

    def branch_and_bound():
        with interrupt.controlled(stop):
            progress.mip_figures(reset=True)  # no plan shown (no relax and fix here)
            return _branch_and_bound(opt, model, ewppt.scenario, _run, lambda: None, discrete_vars(model), None)

    held = Held(branch_and_bound)
    held.wait_in_branch_and_bound()
    shown = held.state.incumbent
    stop.request()
    outcome = held.join()
    assert outcome.status == "stopped" and interrupt.detached_runs() == 1
    if shown is None:  # HiGHS had reported no plan when the stop came (its first callback)
        assert not outcome.has_plan
    else:
        assert outcome.objective == shown[0]


@pytest.fixture
def python_sigint():
    """Python's own SIGINT handler for the test, as a script or notebook has it: a shell that
    starts pytest in the background without job control hands it SIGINT ignored, and then no
    Ctrl-C reaches the process at all (the tests below send one to themselves)."""
    import signal

    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.fixture(scope="module")
def ewppt_lp_matrix():
    """ewppt-2010's LP relaxation as HiGHS holds it (a study's model)."""
    runner = ScenarioRunner(load_instance("ewppt-2010", **{"scenario.model": "lp"}), [])
    assert runner.run(0, {})["status"] == "optimal"
    return next(iter(runner._models.values())).opt._solver_model.getLp()


@pytest.mark.parametrize("how", ["stop request", "Ctrl-C", "Ctrl-C seen by the watch thread"])
def test_a_run_without_callbacks_stops_at_its_next_check(ewppt_lp_matrix, how, python_sigint):
    """A study's warm re-solves run HiGHS without Python callbacks (`solving(callbacks=False)`),
    as bare highspy does: not one call at HiGHS's interrupt checks. A stop turns the checks back
    on, so the run stops at its next one. Deterministic: the stop is asked for from inside the
    run, by HiGHS's log line of its first simplex iteration (a callback the run keeps; its log
    goes nowhere else). "Ctrl-C" is the signal itself, handled in that callback. "Ctrl-C seen by
    the watch thread" is what happens while HiGHS runs in C: Python's handler waits for HiGHS to
    return, and the signal's byte on the wake-up pipe (written here as the C handler writes it)
    is read by the run's watch thread (a script's; the command line has its own), which asks
    HiGHS to stop; the log callback waits until it has."""
    import os
    import signal

    import highspy

    def fresh() -> tuple[highspy.Highs, list[int]]:
        h = highspy.Highs()
        for name, value in (("output_flag", True), ("log_to_console", False), ("presolve", "off"),
                            ("solver", "simplex"), ("threads", 1)):
            h.setOptionValue(name, value)
        h.passModel(ewppt_lp_matrix)
        checks = [0]  # Python calls at HiGHS's simplex interrupt checks
        h.cbSimplexInterrupt.subscribe(lambda event: checks.__setitem__(0, checks[0] + 1))
        return h, checks

    whole, checks = fresh()
    with interrupt.solving(whole, callbacks=False):  # not stopped: how far the run goes, and no call
        whole.run()
    assert whole.getModelStatus() == highspy.HighsModelStatus.kOptimal
    iterations = whole.getInfo().simplex_iteration_count
    assert iterations > 100 and checks[0] == 0

    h, checks = fresh()
    stop, seen = StopRequest(), []

    def on_log(event) -> None:
        words = event.message.split()  # an iteration report: "<iteration> <objective> Ph1: ..."
        if len(words) > 2 and words[0].isdigit() and words[2].startswith("Ph") and not seen:
            seen.append(checks[0])
            if how == "stop request":
                stop.request()
            elif how == "Ctrl-C":
                os.kill(os.getpid(), signal.SIGINT)
            else:
                os.write(interrupt._run_watch[0], bytes([signal.SIGINT]))
                waited = time.monotonic()
                while not interrupt.requested() and time.monotonic() - waited < 120:
                    time.sleep(0.01)

    h.cbLogging.subscribe(on_log)
    raised = Stopped if how == "stop request" else KeyboardInterrupt
    with pytest.raises(raised), interrupt.controlled(stop), interrupt.solving(h, callbacks=False):
        h.run()
    interrupt._interrupted_at.clear()  # (the command line's record of the stage Ctrl-C landed in)
    assert seen == [0], "the stop was not asked for inside the run, before any check called back"
    assert h.getModelStatus() == highspy.HighsModelStatus.kInterrupt
    assert h.getInfo().simplex_iteration_count < iterations  # stopped early, at a check
    assert checks[0] >= 1  # the checks were back on for the stop
    assert not interrupt.requested()

    # the same Highs solves on, with its checks (`callbacks=True`, the default)
    with interrupt.solving(h):
        h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal and checks[0] > 1
    assert h.getInfo().objective_function_value == pytest.approx(whole.getInfo().objective_function_value,
                                                                 rel=1e-9)


@pytest.mark.parametrize("callbacks", [True, False])
def test_ctrl_c_in_python_inside_a_run_leaves_no_stop_for_the_next_solve(callbacks, python_sigint):
    """In a script or notebook, Ctrl-C that lands while Python (not HiGHS) runs inside a solve's
    run raises KeyboardInterrupt there, and the script may carry on: the request is spent with
    it, so the next solve runs to its plan instead of stopping at once. Deterministic: the
    signal is sent from inside the `solving` block, before HiGHS starts."""
    import signal

    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.addVars(1, [0.0], [1.0])
    h.changeColsCost(1, [0], [-1.0])
    with pytest.raises(KeyboardInterrupt), interrupt.solving(h, callbacks=callbacks):
        os.kill(os.getpid(), signal.SIGINT)  # Python's handler runs here, in Python code
        time.sleep(5)  # (the handler raises before this ends)
        h.run()
    assert not interrupt.requested()
    result = solve(load_instance("tiny"))
    assert result.status == "optimal"
