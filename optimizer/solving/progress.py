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
        _state.method, _state.iterations, _state.nodes = "", 0, 0
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
    better = False
    with _lock:
        changed = method != _state.method
        _state.method = method
        if method == "simplex":
            _state.iterations = int(out.simplex_iteration_count)
        elif method == "interior point":
            _state.iterations = int(out.ipm_iteration_count)
        else:  # HiGHS's figures where it has them (its incumbent may be worse than relax and fix's plan)
            _state.nodes = int(out.mip_node_count)
            better = _set_figures(_finite(out.mip_primal_bound), _finite(out.mip_dual_bound))
    if changed:
        _emit(current())
    if method == "branch and bound" and better:
        _emit_figures()


def _set_figures(best: float | None, bound: float | None) -> bool:
    """Keep the best plan and bound; True when the plan improved."""
    better = best is not None and (_state.best is None or best > _state.best)  # plans are maximised
    if better:
        _state.best = best
    if bound is not None and (_state.bound is None or bound < _state.bound):
        _state.bound = bound
    return better


def mip_figures(best: float | None = None, bound: float | None = None, reset: bool = False) -> None:
    """The MIP driver's own best plan and bound (relax and fix), for the status line."""
    with _lock:
        if reset:
            _state.best = _state.bound = None
        better = _set_figures(best, bound)
    if better:
        _emit_figures()


def _emit_figures() -> None:
    """With EWPPT_PROGRESS=lines, a line for each better MIP plan: its figures as the status
    line shows them (benchmarks/bench_mip.py times when a plan within 1% is first shown)."""
    if LINES:
        with _lock:
            text = _figures()
        _emit(f"MIP plan: {text}")


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


def _figures() -> str:
    """The MIP's best plan, bound and gap so far (the caller holds the lock)."""
    figures = []
    if _state.best is not None:
        figures.append(f"best plan {_state.best:,.0f}" if abs(_state.best) >= 100 else f"best plan {_state.best:.4g}")
    if _state.bound is not None:
        figures.append(f"bound {_state.bound:,.0f}" if abs(_state.bound) >= 100 else f"bound {_state.bound:.4g}")
    if _state.best is not None and _state.bound is not None:
        figures.append(f"gap {max(_state.bound - _state.best, 0) / max(abs(_state.best), 1e-9):.2%}")
    return ", ".join(figures)


def describe() -> str:
    """One line: stage, method, figures and elapsed time (for the status line)."""
    with _lock:
        now = time.monotonic()
        parts = [_state.stages[-1] if _state.stages else "starting"]
        if _state.method:
            detail = f"HiGHS {_state.method}"
            if _state.method == "branch and bound":
                detail += f", {_state.nodes:,} nodes"
            elif _state.iterations > 0:  # HiGHS reports -1 before its first iteration
                detail += f", iteration {_state.iterations:,}"
            parts.append(detail)
        if parts[0].startswith("MIP") and (_state.best is not None or _state.bound is not None):
            parts.append(_figures())
        parts.append(f"{now - _state.stage_started:,.0f} s (run {now - _state.started:,.0f} s)")
        if _state.method and now - _state.stage_started > HINT_AFTER:
            parts.append("Ctrl-C stops; --time-limit SECONDS or --mip-gap 0.01 bound how long a solve takes")
        return " · ".join(parts)
