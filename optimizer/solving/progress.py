"""What a run is doing now: its stage, how long it has run, and HiGHS's own figures.

The library names its stages (`with stage("building the model"): ...`); HiGHS's callbacks add
the method running inside a solve (simplex, interior point, branch and bound) with its
iteration count, and in branch and bound the best plan, the bound and the gap. The command
line shows `describe()` as a live status line on a terminal; with `EWPPT_PROGRESS=lines` every
change of stage or HiGHS method is also a line on standard error (for logs, and for tests that
interrupt a run at a named stage).

Each solve's figures live in a `State`: the process's own by default (the command line's
status line reads it from its drawing thread), or one per solve in a server that solves in
several threads at once (`with tracking() as state:` in the solving thread, `describe(state)`
from any other).

Standard library only, like `optimizer.solving.interrupt`.
"""

from __future__ import annotations

import contextvars
import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from optimizer.solving import interrupt

HINT_AFTER = 30.0  # seconds of one solve after which the status line names --time-limit and --mip-gap


@dataclass
class State:
    stages: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    stage_started: float = field(default_factory=time.monotonic)
    method: str = ""  # HiGHS's method in the current solve
    iterations: int = 0
    best: float | None = None  # a MIP's best plan and bound so far
    bound: float | None = None
    nodes: int = 0
    # HiGHS's best improving solution as it was reported (objective, a copy of its column values):
    # a stop that HiGHS does not answer reports it (optimizer/solving/mip.py)
    incumbent: tuple[float, object] | None = None


_state = State()  # the process's own (the command line's)
_current: contextvars.ContextVar[State | None] = contextvars.ContextVar("ewppt_progress", default=None)
# Reentrant: Ctrl-C's handler runs in the main thread between any two bytecodes, also while
# this thread holds the lock (a HiGHS callback noting its iteration), and names the stage
# (interrupt._arrived -> current()); a plain Lock deadlocked the run there (seen in CI: the
# process hung, and so did the forced exit that waited for the same lock).
_lock = threading.RLock()


def _st() -> State:
    state = _current.get()
    return _state if state is None else state


@contextmanager
def tracking() -> Iterator[State]:
    """A fresh State for the stages and HiGHS figures of the code run inside (this thread or
    context): one per solve when several solve at once; read it with `describe(state)`."""
    state = State()
    token = _current.set(state)
    try:
        yield state
    finally:
        _current.reset(token)
LINES = os.environ.get("EWPPT_PROGRESS", "").strip().lower() == "lines"


def _terminal():
    """Standard error as it was when this module was imported. Pyomo captures the process's
    standard error (the file descriptor too) while HiGHS runs, which is when progress matters."""
    try:
        return os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
    except (OSError, ValueError, AttributeError):  # no real standard error (a notebook, a daemon)
        return sys.stderr


STDERR = _terminal()


# Tests interrupt a run at a named stage: with EWPPT_TEST_HOLD set (markers separated by "|"),
# the run waits at each stage line containing one until the next Ctrl-C arrives, or the solve's own StopRequest (inside
# HiGHS's callback for a HiGHS method), so that the signal lands in that stage however fast the
# machine is. With EWPPT_TEST_HOLD_UNTIL=time_limit it waits instead until the solve's time
# limit is used up (a budget spent before the next stage, deterministically). With
# EWPPT_TEST_HOLD_UNTIL=released, HiGHS "does not answer": the hold goes on after the Ctrl-C or
# stop until `RELEASE` is set (in process) or the process ends, as HiGHS inside a sub-MIP or an
# LP of its branch and bound, which never reads the stop.
HOLD = tuple(marker for marker in os.environ.get("EWPPT_TEST_HOLD", "").split("|") if marker)
HOLD_UNTIL = os.environ.get("EWPPT_TEST_HOLD_UNTIL", "")
# A safety net only, so that a test that never sends its signal ends instead of hanging: long
# enough that no test on a loaded machine reaches it (60 s was reached once, by a browser test).
HOLD_LIMIT = 900.0  # seconds
RELEASE = threading.Event()


def _emit(text: str) -> None:
    before = interrupt.signals()  # a Ctrl-C sent on seeing the line counts, however soon it comes
    if LINES:
        STDERR.write(f"progress: {text}\n")
        STDERR.flush()
    if any(marker in text for marker in HOLD):
        _hold(before)


def _hold(before: int) -> None:
    waited = time.monotonic()
    while (interrupt.signals() == before and not interrupt.stop_requested_here()
           and time.monotonic() - waited < HOLD_LIMIT):
        if HOLD_UNTIL == "time_limit":
            left = interrupt.time_left()
            if left is None or left <= 0:
                return
        time.sleep(0.01)
    if HOLD_UNTIL == "released":
        RELEASE.wait(max(HOLD_LIMIT - (time.monotonic() - waited), 0))


def current() -> str:
    """The innermost stage and HiGHS's method in it, e.g. 'solving the LP relaxation (HiGHS
    interior point)'."""
    with _lock:
        state = _st()
        stage = state.stages[-1] if state.stages else ""
        return f"{stage} (HiGHS {state.method})" if stage and state.method else stage


interrupt.describe_stage(current)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Mark a stage of the run (nested stages show the innermost)."""
    state = _st()
    with _lock:
        state.stages.append(name)
        state.stage_started = time.monotonic()
        state.method, state.iterations, state.nodes = "", 0, 0
    _emit(name)
    try:
        yield
    finally:
        with _lock:
            state.stages.pop()
            state.method = ""


def restage(name: str) -> None:
    """Rename the innermost stage, its clock running on: a long stage's own progress (progressive
    hedging's iteration, plan and bound)."""
    with _lock:
        state = _st()
        if not state.stages:
            return
        state.stages[-1] = name
    _emit(name)


def _note(method: str, out) -> None:
    """HiGHS reports from inside a solve (highspy's callback output `out`): the method and its
    figures."""
    better = False
    with _lock:
        state = _st()
        changed = method != state.method
        state.method = method
        if method == "simplex":
            state.iterations = int(out.simplex_iteration_count)
        elif method == "interior point":
            state.iterations = int(out.ipm_iteration_count)
        else:  # HiGHS's bound; its plans come with their values (_improving), so that a plan shown is kept
            state.nodes = int(out.mip_node_count)
            better = _set_figures(state, None, _finite(out.mip_dual_bound))
    if changed:
        _emit(current())
    if method == "branch and bound" and better:
        _emit_figures("HiGHS")


def _improving(event) -> None:
    """HiGHS's improving solution (in branch and bound): keep a copy of its values, as shown."""
    out = event.data_out
    objective = _finite(out.objective_function_value)
    better = False
    if objective is not None:
        values = out.mip_solution.copy()  # HiGHS reuses its memory: a copy, taken now
        with _lock:
            state = _st()
            if state.incumbent is None or objective > state.incumbent[0]:
                state.incumbent = (objective, values)
            better = _set_figures(state, objective, _finite(out.mip_dual_bound))
    _note("branch and bound", out)
    if better:
        _emit_figures("HiGHS")


def shown() -> tuple[float | None, float | None, tuple[float, object] | None]:
    """The best plan and bound the status line shows now, and HiGHS's improving solution kept."""
    with _lock:
        state = _st()
        return state.best, state.bound, state.incumbent


def _set_figures(state: State, best: float | None, bound: float | None) -> bool:
    """Keep the best plan and bound; True when the plan improved."""
    better = best is not None and (state.best is None or best > state.best)  # plans are maximised
    if better:
        state.best = best
    if bound is not None and (state.bound is None or bound < state.bound):
        state.bound = bound
    return better


def mip_figures(best: float | None = None, bound: float | None = None, reset: bool = False) -> None:
    """The MIP driver's own best plan and bound (relax and fix), for the status line."""
    with _lock:
        state = _st()
        if reset:
            state.best = state.bound = state.incumbent = None
        better = _set_figures(state, best, bound)
    if better:
        _emit_figures("relax and fix")


def _emit_figures(source: str) -> None:
    """With EWPPT_PROGRESS=lines, a line for each better MIP plan: its figures as the status
    line shows them and who found it (benchmarks/bench_mip.py times when a plan within 1% is
    first shown)."""
    if LINES or HOLD:
        with _lock:
            text = _figures(_st())
        _emit(f"MIP plan: {text} ({source})")


def _listener(method: str):
    def listen(event) -> None:
        try:
            _note(method, event.data_out)
        except Exception:  # noqa: BLE001 - an exception in a callback is a HiGHS solve error
            pass
    return listen


def _improving_listener(event) -> None:
    try:
        _improving(event)
    except Exception:  # noqa: BLE001 - an exception in a callback is a HiGHS solve error
        pass


def watch(highs) -> None:
    """Subscribe to `highs`'s interrupt and MIP callbacks (once per highspy.Highs)."""
    if getattr(highs, "_ewppt_watched", False):
        return
    highs.cbSimplexInterrupt.subscribe(_listener("simplex"))
    highs.cbIpmInterrupt.subscribe(_listener("interior point"))
    highs.cbMipInterrupt.subscribe(_listener("branch and bound"))
    highs.cbMipImprovingSolution.subscribe(_improving_listener)
    highs._ewppt_watched = True


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) and abs(value) < 1e300 else None


def _figures(st: State) -> str:
    """The MIP's best plan, bound and gap so far (the caller holds the lock)."""
    figures = []
    if st.best is not None:
        figures.append(f"best plan {st.best:,.0f}" if abs(st.best) >= 100 else f"best plan {st.best:.4g}")
    if st.bound is not None:
        figures.append(f"bound {st.bound:,.0f}" if abs(st.bound) >= 100 else f"bound {st.bound:.4g}")
    if st.best is not None and st.bound is not None:
        figures.append(f"gap {max(st.bound - st.best, 0) / max(abs(st.best), 1e-9):.2%}")
    return ", ".join(figures)


def describe(state: State | None = None) -> str:
    """One line: stage, method, figures and elapsed time (for the status line) of `state` (the
    process's own by default)."""
    with _lock:
        st = state or _state
        now = time.monotonic()
        parts = [st.stages[-1] if st.stages else "starting"]
        if st.method:
            detail = f"HiGHS {st.method}"
            if st.method == "branch and bound":
                detail += f", {st.nodes:,} nodes"
            elif st.iterations > 0:  # HiGHS reports -1 before its first iteration
                detail += f", iteration {st.iterations:,}"
            parts.append(detail)
        if parts[0].startswith("MIP") and (st.best is not None or st.bound is not None):
            parts.append(_figures(st))
        parts.append(f"{now - st.stage_started:,.0f} s (run {now - st.started:,.0f} s)")
        if st.method and now - st.stage_started > HINT_AFTER:
            parts.append("Ctrl-C stops; --time-limit SECONDS or --mip-gap 0.01 bound how long a solve takes")
        return " · ".join(parts)
