"""A browser session's state (its live plan, settings, baseline) and the queue its solves wait in.

One `Session` per tab: its own `LivePlan` (a model built once), its settings, its last solve,
its pinned baseline and a private temporary folder. Solves run on worker threads, at most
`slots` at once (optimizer.web.app.SOLVE_SLOTS says why one); the others wait in a first-in first-out queue whose place each
page shows. A session idle for `idle_seconds` frees its model and folder; its settings are kept
so that the tab, when it comes back, says so and rebuilds.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterator
from typing import Any, Callable

from optimizer.data.errors import InvalidInstance, Problem, printable
from optimizer.data.io import Instance
from optimizer.solving import interrupt, progress
from optimizer.studies.live import LivePlan, LiveSolve


@dataclass
class Outcome:
    """What a session shows: the last solve, or the problems that kept a request from solving."""

    solve: LiveSolve | None = None
    problems: list[str] = field(default_factory=list)
    explanation: Any = None  # explain's Explanation when the plan is infeasible
    stopped: bool = False


class Session:
    def __init__(self, sid: str, instance: Instance, root: Path, settings: dict[str, Any] | None = None,
                 note: str = ""):
        self.id = sid
        self.instance = instance
        self.live = LivePlan(instance)
        self.settings: dict[str, Any] = dict(settings or {})
        self.outcome = Outcome()
        self.baseline: Path | None = None  # the pinned plan, written as a result folder
        self.workdir = Path(tempfile.mkdtemp(prefix=f"session-{sid[:8]}-", dir=root))
        self.touched = time.monotonic()
        self.requests = 0  # requests being served now (an idle session in use is not freed)
        self.revision = 0  # one more each time a solve finishes
        self.state = "idle"  # idle | queued | solving
        self.line = ""  # the status line while solving
        self.note = note  # said once on the page (for example: the model was freed and rebuilt)
        self.lock = threading.RLock()
        self.stop = interrupt.StopRequest()  # the running solve's (a new one for each solve)
        self.progress: progress.State | None = None  # the running solve's stages and HiGHS figures

    def touch(self) -> None:
        self.touched = time.monotonic()

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


class SolveQueue:
    """Worker threads that solve sessions' requests, `slots` at a time, first in first out."""

    def __init__(self, slots: int, explain: Callable):
        self.slots = max(1, slots)
        self.explain = explain
        self.waiting: list[tuple[Session, dict]] = []
        self.cond = threading.Condition()
        self.stopping = False
        self.threads = [threading.Thread(target=self._work, name=f"ewppt-solver-{n}", daemon=True)
                        for n in range(self.slots)]
        for thread in self.threads:
            thread.start()

    def submit(self, session: Session, settings: dict) -> None:
        """Queue a solve of `settings`; a request of the same session still waiting is replaced."""
        with self.cond:
            self.waiting = [(s, r) for s, r in self.waiting if s is not session]
            self.waiting.append((session, dict(settings)))
            session.state = "queued" if session.state != "solving" else "solving"
            if session.state == "queued":
                session.line = "waiting for a free solver"
            self.cond.notify()

    def place(self, session: Session) -> int | None:
        """1 for the next to solve; None when not waiting."""
        with self.cond:
            for number, (waiting, _) in enumerate(self.waiting, start=1):
                if waiting is session:
                    return number
        return None

    def close(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()

    def _next(self) -> tuple[Session, dict] | None:
        with self.cond:
            while True:
                if self.stopping:
                    return None
                for n, (session, settings) in enumerate(self.waiting):
                    if session.state != "solving":  # one solve per session at a time
                        del self.waiting[n]
                        session.stop = interrupt.StopRequest()  # before "solving": Stop reaches this solve
                        session.state = "solving"
                        session.line = ""
                        return session, settings
                self.cond.wait(timeout=0.5)

    def _work(self) -> None:
        while True:
            item = self._next()
            if item is None:
                return
            session, settings = item
            try:
                run(session, settings, self.explain)
            finally:
                with self.cond:
                    queued_again = any(s is session for s, _ in self.waiting)
                    session.state = "queued" if queued_again else "idle"
                    self.cond.notify_all()


def run(session: Session, settings: dict, explain: Callable) -> None:
    """Solve a session's settings on this thread and keep the outcome (never raises)."""
    stop = session.stop
    outcome = Outcome()
    try:
        with session.lock, progress.tracking() as state:
            session.progress = state
            solved = session.live.solve(settings, stop=stop)
            outcome.solve = solved
            if solved.result.status == "infeasible":
                session.line = "explaining why the settings are infeasible"
                outcome.explanation = explain(solved.instance)
            session.settings = dict(settings)
    except InvalidInstance as exc:
        outcome.problems = [printable(p) for p in exc.problems]
    except ValueError as exc:  # an override the scenario refuses (InvalidScenario)
        problems = getattr(exc, "problems", None)
        outcome.problems = [printable(p) for p in problems] if problems else [str(exc)]
    except (interrupt.Stopped, KeyboardInterrupt):
        outcome.problems = ["stopped before HiGHS had a plan for these settings: the plan shown is the previous one"]
        outcome.solve = session.outcome.solve
    except Exception as exc:  # noqa: BLE001 - the page says what went wrong; the server keeps serving
        outcome.problems = [f"internal error: {type(exc).__name__}: {exc}"]
        traceback.print_exc()
    outcome.stopped = outcome.stopped or (outcome.solve is not None and outcome.solve.result.status == "stopped")
    session.outcome = outcome
    session.progress = None
    session.line = ""
    session.revision += 1
    session.touch()


CLI_HINT = "Ctrl-C stops; --time-limit SECONDS or --mip-gap 0.01 bound how long a solve takes"
WEB_HINT = "Stop keeps the best plan found; a time limit or a MIP gap bounds how long a solve takes"


def status_line(session: Session) -> str:
    """The command line's status line for this session's solve (its stage, HiGHS's method and
    figures), with the page's words for how to stop it."""
    state = session.progress
    return progress.describe(state).replace(CLI_HINT, WEB_HINT) if state is not None else ""


class UnknownSession(Exception):
    """A request for a session the server does not hold (a restart, or an unknown id)."""


class Sessions:
    """Every open session, by id; idle ones freed after `idle_seconds`."""

    def __init__(self, instance: Instance, queue: SolveQueue, idle_seconds: float, root: Path | None = None):
        self.instance = instance
        self.queue = queue
        self.idle_seconds = idle_seconds
        self.root = Path(root or tempfile.mkdtemp(prefix="ewppt-serve-"))
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        self.open: dict[str, Session] = {}
        self.freed: dict[str, tuple[Instance, dict]] = {}  # settings of sessions freed when idle
        self.lock = threading.Lock()
        self._reaper = threading.Thread(target=self._reap, name="ewppt-idle", daemon=True)
        self._reaper.start()

    def new(self) -> Session:
        sid = secrets.token_urlsafe(16)
        session = Session(sid, self.instance, self.root)
        with self.lock:
            self.open[sid] = session
        return session

    def get(self, sid: str) -> Session | None:
        """The open session, or one rebuilt from a freed session's settings (None if unknown)."""
        with self.lock:
            session = self.open.get(sid)
            if session is None and sid in self.freed:
                instance, settings = self.freed.pop(sid)
                minutes = self.idle_seconds / 60
                session = Session(sid, instance, self.root, settings,
                                  note=f"This tab was idle for more than {minutes:,.0f} minute(s): its model was freed "
                                       "and has been rebuilt with its settings.")
                self.open[sid] = session
                self.queue.submit(session, settings)
        if session is not None:
            session.touch()
        return session

    @contextlib.contextmanager
    def using(self, sid: str) -> Iterator[Session]:
        """The session for the length of one request: never freed while a request uses it (a
        report download may take longer than the idle time), and touched when it ends. Raises
        UnknownSession for an id the server does not hold."""
        session = self.get(sid)
        if session is None:
            raise UnknownSession(sid)
        with self.lock:
            session.requests += 1
        try:
            yield session
        finally:
            with self.lock:
                session.requests -= 1
            session.touch()

    def replace_instance(self, session: Session, instance: Instance) -> None:
        with session.lock:
            session.instance = instance
            session.live = LivePlan(instance)
            session.settings = {}
            session.baseline = None
            session.outcome = Outcome()
            session.revision += 1  # the page shows no plan of the old instance

    def _reap(self) -> None:
        while True:
            time.sleep(min(5.0, max(self.idle_seconds / 4, 0.2)))
            self.free_idle(time.monotonic())

    def free_idle(self, now: float) -> list[str]:
        """Free the sessions idle at `now` (no solve, no request, untouched for idle_seconds);
        their settings are kept to rebuild them. Returns their ids."""
        with self.lock:
            idle = [s for s in self.open.values()
                    if now - s.touched > self.idle_seconds and s.state == "idle" and s.requests == 0]
            for session in idle:
                del self.open[session.id]
                self.freed[session.id] = (session.instance, session.settings)
        for session in idle:
            session.close()
        return [session.id for session in idle]

    def close(self) -> None:
        self.queue.close()
        with self.lock:
            for session in self.open.values():
                session.close()
        shutil.rmtree(self.root, ignore_errors=True)


def problem_text(problem: Problem) -> str:
    return printable(problem)
