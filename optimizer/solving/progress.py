"""What a run is doing now: its stage, how long it has run, and HiGHS's own figures.

The library names its stages (`with stage("building the model"): ...`); HiGHS's callbacks add
the method running inside a solve (simplex, interior point, branch and bound) with its
iteration count, and in branch and bound the best plan, the bound and the gap. The command
line shows `describe()` as a live status line on a terminal; with `EWPPT_PROGRESS=lines` every
change of stage or HiGHS method is also a line on standard error (for logs, and for tests that
interrupt a run at a named stage).

Standard library only, like `optimizer.solving.interrupt`.
"""

from __future__ import annotations

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
HINT = "Ctrl-C stops; --time-limit SECONDS or --mip-gap 0.01 bound how long a solve takes"


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


_state = State()  # the run's state (the command line's), or of any thread that tracks none
_lock = threading.Lock()
_local = threading.local()  # a thread's own state while it runs inside track(key)
_tracks: dict[object, State] = {}


def _mine() -> State:
    return getattr(_local, "state", None) or _state


@contextmanager
def track(key: object) -> Iterator[None]:
    """Keep this thread's stages and HiGHS figures apart, under `key`, while the block runs (a
    server solving several sessions at once: `describe(key)` is that session's status line)."""
    state = State()
    with _lock:
        _tracks[key] = state
    _local.state = state
    try:
        yield
    finally:
        _local.state = None
        with _lock:
            _tracks.pop(key, None)
LINES = os.environ.get("EWPPT_PROGRESS", "").strip().lower() == "lines"


def _terminal():
    """Standard error as it was when this module was imported. Pyomo captures the process's
    standard error (the file descriptor too) while HiGHS runs, which is when progress matters."""
    try:
        return os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
    except (OSError, ValueError, AttributeError):  # no real standard error (a notebook, a daemon)
        return sys.stderr


STDERR = _terminal()


# Tests interrupt a run at a named stage: with EWPPT_TEST_HOLD set, the run waits at the first
# stage line containing it until Ctrl-C arrives (inside HiGHS's callback for a HiGHS method),
# so that the signal lands in that stage however fast the machine is.
HOLD = os.environ.get("EWPPT_TEST_HOLD", "")


def _emit(text: str) -> None:
    if LINES:
        STDERR.write(f"progress: {text}\n")
        STDERR.flush()
    if HOLD and HOLD in text:
        _hold()


def _hold() -> None:
    waited = time.monotonic()
    while not interrupt.requested() and time.monotonic() - waited < 60:
        time.sleep(0.01)


def current() -> str:
    """The innermost stage and HiGHS's method in it, e.g. 'solving the LP relaxation (HiGHS
    interior point)'."""
    with _lock:
        state = _mine()
        stage = state.stages[-1] if state.stages else ""
        return f"{stage} (HiGHS {state.method})" if stage and state.method else stage


interrupt.describe_stage(current)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Mark a stage of the run (nested stages show the innermost)."""
    state = _mine()
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


def _note(method: str, out) -> None:
    """HiGHS reports from inside a solve (highspy's callback output `out`): the method and its
    figures."""
    with _lock:
        state = _mine()
        changed = method != state.method
        state.method = method
        if method == "simplex":
            state.iterations = int(out.simplex_iteration_count)
        elif method == "interior point":
            state.iterations = int(out.ipm_iteration_count)
        else:  # HiGHS's figures where it has them (its incumbent may be worse than relax and fix's plan)
            state.nodes = int(out.mip_node_count)
            _set_figures(_finite(out.mip_primal_bound), _finite(out.mip_dual_bound))
    if changed:
        _emit(current())


def _set_figures(best: float | None, bound: float | None) -> None:
    state = _mine()
    if best is not None and (state.best is None or best > state.best):  # plans are maximised
        state.best = best
    if bound is not None and (state.bound is None or bound < state.bound):
        state.bound = bound


def mip_figures(best: float | None = None, bound: float | None = None, reset: bool = False) -> None:
    """The MIP driver's own best plan and bound (relax and fix), for the status line."""
    with _lock:
        if reset:
            _mine().best = _mine().bound = None
        _set_figures(best, bound)


def _listener(method: str):
    def listen(event) -> None:
        try:
            _note(method, event.data_out)
        except Exception:  # noqa: BLE001 - an exception in a callback is a HiGHS solve error
            pass
    return listen


def watch(highs) -> None:
    """Subscribe to `highs`'s interrupt and MIP callbacks (once per highspy.Highs)."""
    if getattr(highs, "_ewppt_watched", False):
        return
    highs.cbSimplexInterrupt.subscribe(_listener("simplex"))
    highs.cbIpmInterrupt.subscribe(_listener("interior point"))
    highs.cbMipInterrupt.subscribe(_listener("branch and bound"))
    highs.cbMipImprovingSolution.subscribe(_listener("branch and bound"))
    highs._ewppt_watched = True


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) and abs(value) < 1e300 else None


def describe(key: object = None) -> str:
    """One line: stage, method, figures and elapsed time (for the status line); of the run, or
    of the thread tracked under `key` (track)."""
    with _lock:
        state = _tracks.get(key, _state) if key is not None else _state
        now = time.monotonic()
        parts = [state.stages[-1] if state.stages else "starting"]
        if state.method:
            detail = f"HiGHS {state.method}"
            if state.method == "branch and bound":
                detail += f", {state.nodes:,} nodes"
            elif state.iterations > 0:  # HiGHS reports -1 before its first iteration
                detail += f", iteration {state.iterations:,}"
            parts.append(detail)
        if parts[0].startswith("MIP") and (state.best is not None or state.bound is not None):
            figures = []
            if state.best is not None:
                figures.append(f"best plan {state.best:,.0f}" if abs(state.best) >= 100 else
                               f"best plan {state.best:.4g}")
            if state.bound is not None:
                figures.append(f"bound {state.bound:,.0f}" if abs(state.bound) >= 100 else
                               f"bound {state.bound:.4g}")
            if state.best is not None and state.bound is not None:
                figures.append(f"gap {max(state.bound - state.best, 0) / max(abs(state.best), 1e-9):.2%}")
            parts.append(", ".join(figures))
        parts.append(f"{now - state.stage_started:,.0f} s (run {now - state.started:,.0f} s)")
        if state.method and now - state.stage_started > HINT_AFTER:
            parts.append(HINT)
        return " · ".join(parts)
