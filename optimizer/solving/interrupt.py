"""Ctrl-C that ends a run at any stage, and never turns it into a result.

Why this module exists: HiGHS runs in C with Python's lock released. Python runs a SIGINT
handler only in the main thread and only between bytecodes, which, while HiGHS runs, happens
only inside HiGHS's callbacks; there the KeyboardInterrupt of Python's default handler is
swallowed by highspy's callback dispatch and HiGHS carries on (measured: an 800-county MIP
ignored Ctrl-C for 11 minutes, and a 200-county one finished with exit 0). So:

- `solving(highs)` wraps every HiGHS run. The handler asks each running HiGHS to stop
  (highspy's `cancelSolve`, which HiGHS reads at its simplex, interior point and MIP interrupt
  callbacks) and raises KeyboardInterrupt only outside HiGHS's callbacks; when HiGHS returns,
  `solving` raises KeyboardInterrupt itself. An interrupted solve is never read as a time limit
  or a plan.
- The command line (`install`) also reads the signal from a thread (`signal.set_wakeup_fd`), so
  that a HiGHS phase that checks for interrupts rarely (presolve, crossover) cannot hold the run:
  GRACE seconds after Ctrl-C the process removes its temporary output and exits 130 itself.

This module imports only the standard library: the command line installs it before it
imports pandas and Pyomo, so that Ctrl-C works from the first second.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

EXIT_INTERRUPTED = 130
GRACE = 1.5  # seconds from Ctrl-C to a forced exit when the run has not stopped by itself
MESSAGE = "interrupted; no partial output was written"

_running: list = []  # the highspy.Highs objects solving now
_requested = threading.Event()
_cleanups: list[Callable[[], None]] = []  # run before a forced exit (remove temporary output)
_said = threading.Lock()  # the message is printed once, by whichever path ends the run
_stage: Callable[[], str] = lambda: ""  # what the run is doing, for the message (set by progress)
_interrupted_at: list[str] = []  # the stage when Ctrl-C arrived (stages unwind before the message)


def requested() -> bool:
    """Whether Ctrl-C arrived and has not yet ended the run."""
    return _requested.is_set()


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C arrived (for loops between solves)."""
    if _requested.is_set():
        _requested.clear()
        raise KeyboardInterrupt


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


def say_once(write: Callable[[str], None], text: str = MESSAGE) -> bool:
    """Print the interrupted message with `write` unless it was printed already."""
    if not _said.acquire(blocking=False):
        return False
    write(message(text))
    return True


def _arrived() -> None:
    if not _interrupted_at:
        _interrupted_at.append(_stage())
    _requested.set()
    for highs in list(_running):
        highs.cancelSolve()


def _inside_highs_callback(frame) -> bool:
    # highspy dispatches every callback through its own highs.py; a KeyboardInterrupt raised
    # below that frame is lost, so there we only ask HiGHS to stop
    while frame is not None:
        if frame.f_code.co_filename.endswith(os.path.join("highspy", "highs.py")):
            return True
        frame = frame.f_back
    return False


def _handler(signum, frame) -> None:
    _arrived()
    if _inside_highs_callback(frame):
        return
    # Pyomo logs a component whose construction was interrupted as an ERROR with the
    # exception: the planner asked for the stop, so say nothing but the one line
    logging.disable(logging.CRITICAL)
    raise KeyboardInterrupt


@contextmanager
def solving(highs) -> Iterator[None]:
    """Run HiGHS (`highs` a highspy.Highs) so that Ctrl-C stops it: raises KeyboardInterrupt
    when HiGHS returns after a Ctrl-C, whatever status it reports. In the main thread of a
    program that kept Python's default handler (a script, a notebook), the handler is
    installed for the duration of the solve."""
    temporary = (threading.current_thread() is threading.main_thread()
                 and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    if temporary:
        signal.signal(signal.SIGINT, _handler)
    highs.HandleUserInterrupt = True  # HiGHS's interrupt callbacks read cancelSolve
    _running.append(highs)
    try:
        if _requested.is_set():  # Ctrl-C came between two solves
            check()
        yield
    finally:
        _running.remove(highs)
        highs._Highs__solver_should_stop = False  # highspy resets it only in startSolve: reuse needs it
        if temporary:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    check()


def install(write_fd: int = 2) -> None:
    """For the command line: Ctrl-C ends the run within GRACE seconds, at any stage, with
    exit 130 and one line on standard error (written to `write_fd` as it was at install)."""
    stderr = os.dup(write_fd)
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.signal(signal.SIGINT, _handler)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)

    def watch() -> None:
        while True:
            try:
                received = os.read(read_end, 64)
            except OSError:
                return
            if signal.SIGINT in received:
                _arrived()
                threading.Thread(target=force_exit, daemon=True).start()

    def force_exit() -> None:
        time.sleep(GRACE)
        for cleanup in _cleanups:
            try:
                cleanup()
            except Exception:  # noqa: BLE001 - leaving now matters more than a leftover
                pass
        # said differently, so that a log (and bench_interrupt.py) can tell a stage that did not stop
        say_once(lambda text: os.write(stderr, (text + f"; ended by force after {GRACE:g} s\n").encode()))
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
