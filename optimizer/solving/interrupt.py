"""Ctrl-C and per-solve stops: a run ends at any stage, and keeps its best plan when it has one.

Why this module exists: HiGHS runs in C with Python's lock released. Python runs a SIGINT
handler only in the main thread and only between bytecodes, which, while HiGHS runs, happens
only inside HiGHS's callbacks; there the KeyboardInterrupt of Python's default handler is
swallowed by highspy's callback dispatch and HiGHS carries on (measured: an 800-county MIP
ignored Ctrl-C for 11 minutes, and a 200-county one finished with exit 0). So:

- `solving(highs)` wraps every HiGHS run. The handler asks each running HiGHS to stop
  (highspy's `cancelSolve`, which HiGHS reads at its simplex, interior point and MIP interrupt
  callbacks) and raises KeyboardInterrupt only outside HiGHS's callbacks; when HiGHS returns,
  `solving` raises KeyboardInterrupt itself. An interrupted solve is never read as a time limit.
- A run that can keep what HiGHS found (branch and bound: `solving(highs, keep=True)`) is not
  raised out of: HiGHS returns its incumbent, the solve reports it with status "stopped", and
  `keep()` tells the command line that the run is now writing that plan.
- `StopRequest` stops one solve from any thread (a browser session's Stop button), cancelling
  only that solve's HiGHS objects; `controlled(stop, time_limit)` binds it (and the solve's
  time budget) to the code running in this thread/context.
- The command line (`install`) also reads the signal from a thread (`signal.set_wakeup_fd`), so
  that a HiGHS phase that checks for interrupts rarely (presolve, crossover) cannot hold the run:
  GRACE seconds after Ctrl-C the process removes its temporary output and exits 130 itself.
- Branch and bound reads its interrupt callback only between nodes, LP solves and heuristics
  (measured: 23 s inside a sub-MIP on 200 counties, 337 s in the root LP on 800, see
  docs/architecture.md). So `solving(highs, keep=True)` runs HiGHS's `run` in a thread of its
  own while the solve's thread waits; a stop (Ctrl-C or the StopRequest) that HiGHS has not
  answered within DETACH_GRACE seconds raises `Detached` in the solve's thread, which reports
  the best plan the status line showed (the copy kept as it appeared, see progress.py and
  mip.py) as "stopped", and leaves HiGHS to stop at its next check in its thread (that Highs
  object is not used again: `busy(highs)`; the command line leaves with os._exit once the plan
  is written, `leave`). Pyomo's process-wide `capture_output` stays with the solve's thread,
  which leaves it in order. The command line's forced exit waits STOP_GRACE for the solve to
  report its plan and WRITE_GRACE while it writes it; a second Ctrl-C ends it at once.

This module imports only the standard library: the command line installs it before it
imports pandas and Pyomo, so that Ctrl-C works from the first second.
"""

from __future__ import annotations

import contextvars
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

EXIT_INTERRUPTED = 130
GRACE = 1.5  # seconds from Ctrl-C to a forced exit when the run has not stopped by itself
DETACH_GRACE = 3.0  # seconds a stop in branch and bound waits for HiGHS before the run reports the plan shown
STOP_GRACE = 30.0  # ... a safety net: Ctrl-C in branch and bound, the solve reports its plan (DETACH_GRACE)
WRITE_GRACE = 120.0  # more seconds for a run that is writing the plan it stopped with
MESSAGE = "interrupted; no partial output was written"

_running: list = []  # the highspy.Highs objects solving now
_requested = threading.Event()
_keeping = threading.Event()  # the run stopped with a plan and is writing it (the forced exit waits)
_again = threading.Event()  # a second Ctrl-C: leave now, without the plan
_keep_threads: dict[int, int] = {}  # threads in a run whose stop keeps its plan (branch and bound) -> depth
_installed = False  # the command line's handling (install) is on
_own_threads: set[int] = set()  # native ids of the command line's watch threads (never deprioritised)
_cleanups: list[Callable[[], None]] = []  # run before a forced exit (remove temporary output)
_said = threading.Lock()  # the message is printed once, by whichever path ends the run
_stage: Callable[[], str] = lambda: ""  # what the run is doing, for the message (set by progress)
_interrupted_at: list[str] = []  # the stage when Ctrl-C arrived (stages unwind before the message)
_signals = [0]  # Ctrl-Cs handled so far (progress's test hold waits for the next one)
_verdicts: list[bool] = []  # per Ctrl-C handled: whether it landed in a run that keeps its plan
_noticed = threading.Event()  # the command line said "stopping: ..." for the first Ctrl-C
NOTICE_WAIT = 2.0  # seconds the run waits for that line, so that it comes first
VERDICT_WAIT = 0.5  # seconds the command line's watch waits for Python's handler to say where Ctrl-C landed


class Detached(Exception):
    """Branch and bound was stopped and HiGHS did not answer within DETACH_GRACE: it runs on in
    its own thread (it stops at its next check), and the solve reports the best plan shown."""


_busy: dict[int, threading.Thread] = {}  # id(highs) -> the thread of a detached run that has not returned
_busy_lock = threading.Lock()


class Stopped(Exception):
    """A solve stopped by its StopRequest before it had any plan to keep (nothing to report)."""


class StopRequest:
    """A stop for one solve, from any thread: a browser session's Stop button.

    Usage::

        from optimizer import StopRequest, Stopped  # (optimizer.solving.interrupt)

        stop = StopRequest()
        # in the session's solving thread
        try:
            result = solve(instance, stop=stop)       # or solve_model(..., stop=stop),
        except Stopped:                               # or ScenarioRunner.run(id, point, stop=stop)
            ...                                       # stopped before any plan existed
        # from any other thread (the Stop button)
        stop.request()

    `request()` cancels only the HiGHS runs of the solve the handle was given to (other
    solves in other threads go on untouched); a later HiGHS run of that solve does not start.
    When branch and bound had a plan (relax and fix's, or HiGHS's incumbent), the solve returns
    it as a Result with status "stopped", its MIP gap and best bound (`result.summary`), as
    Ctrl-C does in `ewppt solve`; stopped in the steady stage, it returns the first stage's plan
    the same way; before any plan exists it raises `Stopped`. Once requested the handle stays
    requested: give each solve a new one.

    `request()` returns at once; the solve returns when HiGHS next looks for the stop: within
    a fraction of a second in an LP; in branch and bound between nodes and heuristics, and
    where HiGHS does not look (its root LP, a sub-MIP heuristic: on 200 generated counties one
    ran 23 s) DETACH_GRACE seconds after the request, with the plan its status line showed,
    HiGHS left to stop in the background. A thread that must not wait joins the solving thread
    with a timeout of its own.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._running: list = []

    def request(self) -> None:
        """Stop the solve (callable from any thread, any number of times)."""
        with self._lock:
            self._event.set()
            running = list(self._running)
        for highs in running:
            _cancel(highs)

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def _add(self, highs) -> None:
        with self._lock:
            self._running.append(highs)
            if self._event.is_set():
                _cancel(highs)

    def _remove(self, highs) -> None:
        with self._lock:
            self._running.remove(highs)


@dataclass(frozen=True)
class _Control:
    stop: StopRequest | None = None
    keep: bool = False  # a stop in branch and bound keeps the incumbent (a "stopped" result)
    deadline: float | None = None  # time.perf_counter() by which the solve must end (its time limit)


_control: contextvars.ContextVar[_Control | None] = contextvars.ContextVar("ewppt_solve_control", default=None)


@contextmanager
def controlled(stop: StopRequest | None = None, time_limit: float | None = None) -> Iterator[None]:
    """Bind a solve's StopRequest and time budget to the code run inside (this thread or
    context). With a StopRequest the solve keeps a plan it is stopped with (Ctrl-C too); its
    time budget (`time_limit` seconds from now) is what `time_left` reports. Nested, the outer
    solve's stop and budget hold (an inner budget only where the outer has none)."""
    outer = _control.get()
    if outer is not None and (stop is None or stop is outer.stop):
        deadline = outer.deadline
        if deadline is None and time_limit is not None:
            deadline = time.perf_counter() + time_limit
        control = _Control(outer.stop, outer.keep, deadline)
    else:
        control = _Control(stop, stop is not None,
                           None if time_limit is None else time.perf_counter() + time_limit)
    token = _control.set(control)
    try:
        yield
    finally:
        _control.reset(token)


def time_left() -> float | None:
    """Seconds left of the current solve's time budget (None: no limit; may be negative)."""
    control = _control.get()
    if control is None or control.deadline is None:
        return None
    return control.deadline - time.perf_counter()


def run_limit(highs, seconds: float | None) -> float:
    """The `time_limit` option that gives `highs`'s next run `seconds` (inf: none). HiGHS
    measures its limit against the run time of the Highs object, every run() so far included
    (highspy 1.16: `getRunTime()` grows across runs, and a re-solve whose limit is below it
    stops at once), so a run's own limit is the time already spent plus its own."""
    return math.inf if seconds is None else float(seconds) + highs.getRunTime()


def keeps_plans() -> bool:
    """Whether a stop of the current solve keeps the plan branch and bound has."""
    control = _control.get()
    return control is not None and control.keep


def signals() -> int:
    """How many Ctrl-Cs Python's handler has seen (a test hold waits for one more)."""
    return _signals[0]


def stop_requested_here() -> bool:
    """Whether the current solve's StopRequest was requested (Ctrl-C aside)."""
    control = _control.get()
    return control is not None and control.stop is not None and control.stop.requested


def requested() -> bool:
    """Whether Ctrl-C arrived and has not yet ended the run, or the current solve's StopRequest
    was requested."""
    if _requested.is_set():
        return True
    control = _control.get()
    return control is not None and control.stop is not None and control.stop.requested


def solving_now() -> bool:
    """Whether a HiGHS run (wrapped in `solving`) is under way in this process."""
    return bool(_running)


def stop_message() -> str:
    """What stopped the current solve, for a stopped result's message."""
    if _requested.is_set():
        stage = _interrupted_at[0] if _interrupted_at else ""
        return f"stopped by Ctrl-C (while {stage})" if stage else "stopped by Ctrl-C"
    return "stopped on request"


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C arrived, Stopped if the current solve's StopRequest
    was requested (for loops between solves)."""
    if _requested.is_set():
        _requested.clear()
        raise KeyboardInterrupt
    control = _control.get()
    if control is not None and control.stop is not None and control.stop.requested:
        raise Stopped("the solve was stopped before it had a plan")


def stopped_without_plan() -> None:
    """A stop that found no plan to keep: raise as a stop elsewhere would (never returns)."""
    check()
    raise KeyboardInterrupt  # stopped, and the request is gone already: still an interruption


def keep() -> str:
    """The run was stopped with a plan and goes on to report it: the command line's forced
    exit waits WRITE_GRACE for it, and a second Ctrl-C names its own stage. In a script or
    notebook (no `install`), Ctrl-C is then spent: the next solve runs. Returns what stopped
    it (`stop_message`)."""
    said = stop_message()
    if _installed and _requested.is_set():
        _noticed.wait(NOTICE_WAIT)  # the "stopping: ..." line comes before the run's own
    _keeping.set()
    _interrupted_at.clear()
    if not _installed:
        _requested.clear()
    return said


def on_forced_exit(cleanup: Callable[[], None]) -> None:
    """Run `cleanup` before a forced exit (GRACE seconds after Ctrl-C)."""
    if cleanup not in _cleanups:
        _cleanups.append(cleanup)


def describe_stage(stage: Callable[[], str]) -> None:
    """Name the run's current stage in the interrupted message."""
    global _stage
    _stage = stage


def message(text: str = MESSAGE) -> str:
    """`text` and the stage the run was in when Ctrl-C arrived."""
    stage = _interrupted_at[0] if _interrupted_at else _stage()
    return f"{text} (Ctrl-C while {stage})" if stage else text


def say_once(write: Callable[[str], None], text: str = MESSAGE, stage: bool = True) -> bool:
    """Print the interrupted message with `write` unless it was printed already."""
    if not _said.acquire(blocking=False):
        return False
    write(message(text) if stage else text)
    return True


def _arrived() -> None:
    if not _interrupted_at:
        _interrupted_at.append(_stage())
    _requested.set()
    for highs in list(_running):
        _cancel(highs)


# HiGHS's interrupt checks that call back into Python (highspy's callback events): the stop is
# read there (cancelSolve), and so are the progress listener's notes
_CHECKS = ("cbSimplexInterrupt", "cbIpmInterrupt", "cbMipInterrupt")
_unwatched: set[int] = set()  # id(highs) of runs without Python callbacks (solving(callbacks=False))
# Reentrant: Ctrl-C's handler (_arrived -> _cancel) may run in the main thread while it holds the lock
_unwatched_lock = threading.RLock()


def _start_checks(highs) -> None:
    """HiGHS calls back into Python at its interrupt checks again (those highspy has subscribers
    for: the stop, and the progress listener)."""
    for name in _CHECKS:
        event = getattr(highs, name)
        if event.callbacks:
            highs.startCallback(event.callback_type)


def _cancel(highs) -> None:
    """Ask `highs` to stop at its next interrupt check. A run without Python callbacks gets them
    back first (HiGHS reads the flag it sets between iterations, from any thread), so that it
    stops as promptly as one that had them all along."""
    highs.cancelSolve()
    with _unwatched_lock:
        if id(highs) in _unwatched:
            _start_checks(highs)


def _inside_highs_callback(frame) -> bool:
    # highspy dispatches every callback through its own highs.py; a KeyboardInterrupt raised
    # below that frame is lost, so there we only ask HiGHS to stop
    while frame is not None:
        if frame.f_code.co_filename.endswith(os.path.join("highspy", "highs.py")):
            return True
        frame = frame.f_back
    return False


def _handler(signum, frame) -> None:
    _verdicts.append(threading.get_ident() in _keep_threads or _keeping.is_set())
    _signals[0] += 1
    _arrived()
    if _inside_highs_callback(frame) or threading.get_ident() in _keep_threads:
        return  # HiGHS stops at its next interrupt check (a run that keeps its incumbent returns it)
    # Pyomo logs a component whose construction was interrupted as an ERROR with the
    # exception: the planner asked for the stop, so say nothing but the one line
    logging.disable(logging.CRITICAL)
    raise KeyboardInterrupt


@contextmanager
def solving(highs, keep: bool = False, callbacks: bool = True) -> Iterator[None]:
    """Run HiGHS (`highs` a highspy.Highs) so that Ctrl-C, or the current solve's StopRequest,
    stops it: raises KeyboardInterrupt (Ctrl-C) or Stopped when HiGHS returns after a stop,
    whatever status it reports. With `keep` (branch and bound under a solve that keeps its
    plans) it raises nothing: HiGHS returns what it has and the caller reports it as stopped.
    In the main thread of a program that kept Python's default handler (a script, a
    notebook), the handler is installed for the duration of the solve.

    With `callbacks=False` (an LP's warm re-solve in a study or the workbench: thousands a
    minute) HiGHS runs without calling back into Python, as bare highspy does: no progress
    notes, and no stop read at its interrupt checks until a stop is asked for. A StopRequest,
    and Ctrl-C under the command line (its watch thread), turn the checks back on, and HiGHS
    stops at its next one as it would with them. Ctrl-C in a script or notebook (no `install`)
    is seen by Python only when HiGHS returns: the re-solve ends first (docs/sweeps.md)."""
    temporary = (threading.current_thread() is threading.main_thread()
                 and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    if temporary:
        signal.signal(signal.SIGINT, _handler)
    # a script's run without callbacks: Python's handler would only run when HiGHS returns
    woken = temporary and not callbacks and _watch_run()
    interrupted = False
    highs.HandleUserInterrupt = True  # HiGHS's interrupt callbacks read cancelSolve
    control = _control.get()
    stop = control.stop if control is not None else None
    me = threading.get_ident()
    _running.append(highs)
    if not callbacks:
        _pause_checks(highs)
    if stop is not None:
        stop._add(highs)
    if keep:
        _enter_keeping(me)
    given = highs.__dict__.get("run")  # a wrapper of the caller's (mip._give_start), put back after
    if keep:
        highs.run = _detachable(highs, given or highs.run)
    try:
        if not keep:
            check()  # a stop that came between two solves
        elif requested():
            highs.cancelSolve()  # HiGHS returns at its first check, with what it has
        yield
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if keep:
            highs.__dict__.pop("run", None)
            if given is not None:
                highs.run = given
        if keep:
            _leave_keeping(me)
        _running.remove(highs)
        if stop is not None:
            stop._remove(highs)
        if not callbacks:
            _resume_checks(highs)
        if not busy(highs):  # a detached run resets its Highs when HiGHS returns
            _reset(highs)
        if woken:
            signal.set_wakeup_fd(-1)
        if interrupted and not _installed:
            # a script's Ctrl-C raised here (as HiGHS returned, or while Python ran inside the
            # run): the request is spent with the KeyboardInterrupt, as check() spends it, so
            # the script's next solve runs
            _requested.clear()
            _interrupted_at.clear()
        if temporary:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    if not keep:
        check()


_run_watch: list[int] = []  # the write end of the pipe the script's watch thread reads (made once)


def _arrived_in_run() -> None:
    """Ctrl-C seen by the script's watch thread: ask the runs without callbacks to stop, only
    while they run (`_resume_checks` ends that under the same lock), so that a signal read late
    leaves no request behind for the next solve; Python's handler raises when HiGHS returns."""
    with _unwatched_lock:
        running = [highs for highs in list(_running) if id(highs) in _unwatched]
        if not running:
            return
        _requested.set()
        for highs in running:
            _cancel(highs)


def _watch_run() -> bool:
    """In a script or notebook (no `install`), for a run without Python callbacks: Ctrl-C is
    also written to a pipe (`signal.set_wakeup_fd`, until the run ends) that a thread reads, and
    that thread asks HiGHS to stop (`_arrived`), as the command line's watch thread does; then
    HiGHS stops at its next check and Python's handler raises when it returns. Not when the
    program has a wake-up fd of its own (an event loop): that is left alone, and the re-solve
    ends before the signal takes effect."""
    try:
        if not _run_watch:
            read_end, write_end = os.pipe()
            os.set_blocking(write_end, False)

            def watch() -> None:
                while True:
                    try:
                        received = os.read(read_end, 64)
                    except OSError:
                        return
                    if signal.SIGINT in received:
                        _arrived_in_run()

            threading.Thread(target=watch, name="ewppt-interrupt-watch-run", daemon=True).start()
            _run_watch.append(write_end)
        before = signal.set_wakeup_fd(_run_watch[0], warn_on_full_buffer=False)
        if before not in (-1, _run_watch[0]):
            signal.set_wakeup_fd(before)  # the program's own
            return False
        return True
    except (OSError, ValueError):  # (no pipes or wake-up fds here)
        return False


def _pause_checks(highs) -> None:
    """HiGHS stops calling back into Python at its interrupt checks (until _resume_checks, or
    a stop: _cancel); a stop asked for before this line found `highs` running and set its flag."""
    with _unwatched_lock:
        _unwatched.add(id(highs))
        for name in _CHECKS:
            highs.stopCallback(getattr(highs, name).callback_type)
        if highs._Highs__solver_should_stop:  # a stop came between _running and here
            _start_checks(highs)


def _resume_checks(highs) -> None:
    with _unwatched_lock:
        _unwatched.discard(id(highs))
        _start_checks(highs)


def _enter_keeping(me: int) -> None:
    _keep_threads[me] = _keep_threads.get(me, 0) + 1


def _leave_keeping(me: int) -> None:
    if _keep_threads.get(me, 0) > 1:
        _keep_threads[me] -= 1
    else:
        _keep_threads.pop(me, None)


@contextmanager
def keeping() -> Iterator[None]:
    """Branch and bound's stage, with a plan on the screen or about to be (under a solve that
    keeps its plans): Ctrl-C here does not raise, as in `solving(highs, keep=True)`; the code
    inside looks at `requested()`. (Between the stage's start and HiGHS's start a Ctrl-C used
    to raise and lose relax and fix's plan.)"""
    if not keeps_plans():
        yield
        return
    me = threading.get_ident()
    _enter_keeping(me)
    try:
        yield
    finally:
        _leave_keeping(me)


def _reset(highs) -> None:
    if highs._Highs__solver_should_stop:
        highs._Highs__solver_should_stop = False  # highspy resets it only in startSolve: reuse needs it
        # and HiGHS keeps its callbacks' "interrupt" answer until they are set again: its next
        # LP would stop at its first callback (a re-solved model: a study, the workbench)
        highs.enableCallbacks()


def busy(highs) -> bool:
    """Whether `highs` is still running a branch and bound the solve left (Detached): it must
    not be touched (a re-solve loads the model into a new Highs object)."""
    with _busy_lock:
        return id(highs) in _busy


def detached_runs() -> int:
    """How many left branch and bound runs are still inside HiGHS."""
    with _busy_lock:
        return len(_busy)


def _detachable(highs, run: Callable[[], object]) -> Callable[[], object]:
    """`run` (highspy's run of `highs`) in a thread of its own, in this thread's context (the
    solve's stop, time budget and progress State); the caller waits, and DETACH_GRACE seconds
    after a stop HiGHS has not answered, raises Detached and leaves HiGHS running."""

    def run_detachable():
        done = threading.Event()
        box: dict = {}
        context = contextvars.copy_context()

        def work() -> None:
            try:
                box["status"] = context.run(run)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                box["error"] = exc
            finally:
                with _busy_lock:
                    done.set()
                    left = _busy.pop(id(highs), None) is not None
                if left:
                    _reset(highs)

        thread = threading.Thread(target=work, name="ewppt-branch-and-bound", daemon=True)
        thread.start()
        stopped_at = None
        while not done.wait(0.05):
            if stopped_at is None and requested():
                stopped_at = time.monotonic()
            if stopped_at is not None and time.monotonic() - stopped_at >= DETACH_GRACE:
                with _busy_lock:
                    if not done.is_set():
                        _busy[id(highs)] = thread
                        _lowest_priority(thread.native_id)  # the left run: no rival for the next solve
                        if _installed:
                            _yield_to_writing()
                        raise Detached("HiGHS did not hand back its incumbent; the plan shown is reported")
        if "error" in box:
            raise box["error"]
        return box["status"]

    return run_detachable


def _lowest_priority(task: int | None) -> None:
    """The thread `task` (a native id) at the lowest CPU priority (Linux: a thread's nice value
    is its own); nothing where that is not allowed."""
    try:
        os.setpriority(os.PRIO_PROCESS, int(task), 19)
    except (OSError, TypeError, ValueError, AttributeError):
        pass


def _yield_to_writing() -> None:
    """The command line, leaving HiGHS running: every other thread of the process (HiGHS's
    and its workers) gets the lowest CPU priority, so that re-checking and writing the plan
    are not slowed by the run it leaves (Linux: a thread's nice value is its own)."""
    keep = {threading.get_native_id(), *_own_threads}
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return
    for task in tasks:
        if task.isdigit() and int(task) not in keep:
            _lowest_priority(int(task))


def leave(code: int) -> None:
    """The command line's last step: with a left branch and bound still inside HiGHS (Detached),
    leave at once with `code` (os._exit after flushing), so that the interpreter does not tear
    down while HiGHS's threads run."""
    if detached_runs():
        exit_now(code)


def exit_now(code: int) -> None:
    """Leave the process at once with `code` (os._exit), the output flushed first."""
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - leaving
            pass
    os._exit(code)


def install(write_fd: int = 2) -> None:
    """For the command line: Ctrl-C ends the run within GRACE seconds, at any stage, with
    exit 130 and one line on standard error (written to `write_fd` as it was at install).
    In branch and bound under a solve that keeps its plans, the run reports the best plan shown
    (HiGHS's, handed back, or the copy kept after DETACH_GRACE) and writes it; the forced exit
    waits STOP_GRACE for it to be reported and WRITE_GRACE while it is written; a second
    Ctrl-C leaves at once (GRACE), without the plan."""
    global _installed
    _installed = True
    stderr = os.dup(write_fd)
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.signal(signal.SIGINT, _handler)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    received_at: list[float] = []

    def say(text: str) -> None:
        try:
            os.write(stderr, (text + "\n").encode())
        except OSError:
            pass

    def watch() -> None:
        _own_threads.add(threading.get_native_id())
        while True:
            try:
                received = os.read(read_end, 64)
            except OSError:
                return
            for _ in range(received.count(signal.SIGINT)):
                received_at.append(time.monotonic())
                first = len(received_at) == 1
                if first:  # the handler (the main thread) tells where the signal landed; this thread may come first
                    waited = time.monotonic()
                    while not _verdicts and time.monotonic() - waited < VERDICT_WAIT:
                        time.sleep(0.005)
                keeping = first and (_verdicts[0] if _verdicts else bool(_keep_threads))
                # the forced exit starts before anything that takes a lock (naming the stage in
                # _arrived): nothing may hold it back
                threading.Thread(target=force_exit, args=(keeping,), daemon=True).start()
                if not first:
                    _again.set()
                elif keeping:
                    say(f"stopping: the best plan found is written (HiGHS has {DETACH_GRACE:g} s to hand it back, "
                        "else the plan shown is); Ctrl-C again to quit without it")
                if first:
                    _noticed.set()
                _arrived()

    def force_exit(keeping: bool) -> None:
        _own_threads.add(threading.get_native_id())
        if not keeping:
            time.sleep(GRACE)
        elif _keeping.wait(STOP_GRACE) or _again.is_set():
            if _again.wait(WRITE_GRACE):  # the second Ctrl-C's own timer ends the run
                return
        # said differently, so that a log (and bench_interrupt.py) can tell a stage that did not stop
        waited = time.monotonic() - received_at[0]
        for cleanup in _cleanups:
            try:
                cleanup()
            except Exception:  # noqa: BLE001 - leaving now matters more than a leftover
                pass
        why = (f"; the solve did not report its plan within {STOP_GRACE:g} s" if keeping and not _keeping.is_set()
               else "")
        say_once(lambda text: say(text + f"; ended by force after {waited:.1f} s{why}"))
        os._exit(EXIT_INTERRUPTED)

    threading.Thread(target=watch, name="ewppt-interrupt-watch", daemon=True).start()


def forget_in_child() -> None:
    """In a forked worker process: Ctrl-C is the parent's to handle (it stops its workers), and
    the wake-up pipe inherited from the parent is not this process's."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def die_with_parent(parent_pid: int) -> None:
    """A worker process ends when its parent dies, even by SIGKILL (Linux's PR_SET_PDEATHSIG;
    elsewhere a thread watches the parent's pid)."""
    try:
        import ctypes

        if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL) != 0:  # 1 = PR_SET_PDEATHSIG
            raise OSError
    except (OSError, AttributeError):
        def watch_parent() -> None:
            while os.getppid() == parent_pid:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch_parent, daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)
