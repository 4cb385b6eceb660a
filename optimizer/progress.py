"""What a run is doing now: its stage, how long it has run, and HiGHS's own figures.

The library names its stages (`with stage("building the model"): ...`); HiGHS's callbacks add
the method running inside a solve (simplex, interior point, branch and bound) with its
iteration count, and in branch and bound the best plan, the bound and the gap. The command
line shows `describe()` as a live status line on a terminal; with `EWPPT_PROGRESS=lines` every
change of stage or HiGHS method is also a line on standard error (for logs, and for tests that
interrupt a run at a named stage).

Standard library only, like `optimizer.interrupt`.
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

from optimizer import interrupt

HINT_AFTER = 30.0  # seconds of one solve after which the status line names --time-limit and --mip-gap


@dataclass
class State:
    stages: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    stage_started: float = field(default_factory=time.monotonic)
    method: str = ""  # HiGHS's method in the current solve
    iterations: int = 0
    best: float | None = None  # branch and bound
    bound: float | None = None
    gap: float | None = None
    nodes: int = 0


_state = State()
_lock = threading.Lock()
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
        stage = _state.stages[-1] if _state.stages else ""
        return f"{stage} (HiGHS {_state.method})" if stage and _state.method else stage


interrupt.describe_stage(current)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Mark a stage of the run (nested stages show the innermost)."""
    with _lock:
        _state.stages.append(name)
        _state.stage_started = time.monotonic()
        _state.method, _state.iterations, _state.best, _state.bound, _state.gap = "", 0, None, None, None
    _emit(name)
    try:
        yield
    finally:
        with _lock:
            _state.stages.pop()
            _state.method = ""


def _note(method: str, out) -> None:
    """HiGHS reports from inside a solve (highspy's callback output `out`): the method and its
    figures."""
    with _lock:
        changed = method != _state.method
        _state.method = method
        if method == "simplex":
            _state.iterations = int(out.simplex_iteration_count)
        elif method == "interior point":
            _state.iterations = int(out.ipm_iteration_count)
        else:
            _state.nodes = int(out.mip_node_count)
            _state.best = _finite(out.mip_primal_bound)
            _state.bound = _finite(out.mip_dual_bound)
            _state.gap = _finite(out.mip_gap) if _state.best is not None else None
    if changed:
        _emit(current())


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


def describe() -> str:
    """One line: stage, method, figures and elapsed time (for the status line)."""
    with _lock:
        now = time.monotonic()
        parts = [_state.stages[-1] if _state.stages else "starting"]
        if _state.method:
            detail = f"HiGHS {_state.method}"
            if _state.method == "branch and bound":
                if _state.best is not None:
                    detail += f": best plan {_state.best:,.6g}"
                if _state.bound is not None:
                    detail += f", bound {_state.bound:,.6g}"
                if _state.gap is not None:
                    detail += f", gap {_state.gap:.2%}"
                detail += f", {_state.nodes:,} nodes"
            elif _state.iterations:
                detail += f", iteration {_state.iterations:,}"
            parts.append(detail)
        parts.append(f"{now - _state.stage_started:,.0f} s (run {now - _state.started:,.0f} s)")
        if _state.method and now - _state.stage_started > HINT_AFTER:
            parts.append("Ctrl-C stops; --time-limit SECONDS or --mip-gap 0.01 bound how long a solve takes")
        return " · ".join(parts)
