"""The planner's workbench: `create_app(instance)` returns the FastAPI application `ewppt serve` runs.

Thin routes: each parses the request, calls the library (through the session's LivePlan, or
explain, compare, the report and the workbook writers) and renders a template. Safe by default:
a request whose Host header is not the served address is refused (DNS rebinding), no path
sent by the browser is ever opened (uploads are written to the session's private temporary
folder under a name the server chooses), uploads have a size limit, and bad input is a clear
message with a 4xx, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import math
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import Depends, FastAPI, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from optimizer.analysis.compare import compare_results
from optimizer.analysis.explain import explain
from optimizer.data.errors import InvalidInstance, Problem
from optimizer.data.io import Instance
from optimizer.data.schema import LEVELS, PRIORITY_KEYS, TABLES
from optimizer.studies.live import settings_for_changes
from optimizer.web import views
from optimizer.web.session import Session, Sessions, SolveQueue, UnknownSession, status_line

HERE = Path(__file__).parent
MAX_UPLOAD = 20 * 1024 * 1024  # bytes
IDLE_SECONDS = 30 * 60
SCENARIO_NUMBERS = ([f"proportion.{level}" for level in LEVELS] + [f"priorities.{k}" for k in PRIORITY_KEYS]
                    + ["priorities.quota_growth_min", "priorities.coverage_min", "solver.time_limit",
                       "solver.mip_rel_gap"])
MORE_HEADS = ("scenario", "proportion", "priorities", "solver", "capacity", "pairs")  # what a key=value line sets
SCENARIO_CHOICES = {"scenario.objective", "priorities.scope", "scenario.model", "scenario.year_profile"}


def plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def allowed_hosts(host: str, port: int) -> set[str]:
    """The Host headers this server answers: its address and port (and the loopback names when it
    serves loopback; the machine's names when it serves every interface)."""
    names = {host}
    if host in ("127.0.0.1", "localhost", "::1"):
        names |= {"127.0.0.1", "localhost", "[::1]"}
    elif host in ("0.0.0.0", "::"):
        names |= {"127.0.0.1", "localhost", socket.gethostname(), socket.getfqdn()}
        try:
            names |= set(socket.gethostbyname_ex(socket.gethostname())[2])
        except OSError:
            pass
    if ":" in host and not host.startswith("["):
        names.add(f"[{host}]")
    return {f"{name}:{port}".lower() for name in names} | ({n.lower() for n in names} if port == 80 else set())


class HostCheck:
    """Refuse (421) a request whose Host header is not one this server serves: a page on another
    site that a DNS rebinding points at 127.0.0.1 must not reach the workbench."""

    def __init__(self, app, hosts: set[str]):
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            if host not in self.hosts:
                response = Response("refused: this workbench serves only its own address (Host header "
                                    f"{host or 'missing'!r})\n", status_code=421, media_type="text/plain")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class UploadLimit:
    """Refuse (413) a request body larger than the upload limit, before it is read."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_bytes + 65536:
                response = Response(too_large(self.max_bytes), status_code=413, media_type="text/plain")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def too_large(max_bytes: int) -> str:
    return f"refused: the upload is larger than the limit of {max_bytes / 1024 / 1024:,.1f} MB\n"


# Solves at once. One: solves in one process take turns anyway (Pyomo's output capture
# redirects the whole process's output, so the library holds one lock around it:
# optimizer/solving/quiet.py), and a queue says where a tab waits, where a second slot would
# only block. HiGHS itself may use the machine's cores inside one solve.
SOLVE_SLOTS = 1


def create_app(instance: Instance, host: str = "127.0.0.1", port: int = 8000, max_upload: int = MAX_UPLOAD,
               idle_seconds: float = IDLE_SECONDS) -> FastAPI:
    """The workbench for `instance`, served at host:port (the Host headers it accepts)."""
    queue = SolveQueue(SOLVE_SLOTS, explain=lambda inst: explain(inst))
    sessions = Sessions(instance, queue, idle_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        sessions.close()

    app = FastAPI(title="EWPPT workbench", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.sessions = sessions
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.add_middleware(UploadLimit, max_bytes=max_upload)
    app.add_middleware(HostCheck, hosts=allowed_hosts(host, port))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        """A fault of the workbench itself: one line for the page, the traceback only on the
        server's terminal (uvicorn logs it)."""
        return PlainError(f"internal error: {type(exc).__name__}: {exc} (the server's terminal has the details)\n",
                          500)

    def page(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def problem_response(request: Request, problems: list[str], status_code: int = 400) -> HTMLResponse:
        return page(request, "_problems.html", status_code, problems=problems)

    def known_session(sid: str) -> Iterator[Session]:
        """The route's session (a FastAPI dependency), held for the request: an unknown one ends
        the request with a 404 page."""
        with sessions.using(sid) as session:
            yield session

    @app.exception_handler(UnknownSession)
    async def unknown(request: Request, _exc: UnknownSession) -> HTMLResponse:
        return problem_response(request, ["this session is unknown (the server was restarted?): open the workbench "
                                          "again at /"], 404)

    @app.get("/static/plotly.min.js")
    def plotly_file() -> FileResponse:
        return FileResponse(plotly_js(), media_type="text/javascript")

    @app.get("/")
    def home() -> RedirectResponse:
        session = sessions.new()
        queue.submit(session, {})  # the page opens on a plan: solve now, while the browser loads the page
        return RedirectResponse(f"/s/{session.id}/", status_code=303)

    @app.get("/s/{sid}/", response_class=HTMLResponse)
    def workbench(request: Request, sid: str):
        session = sessions.get(sid)
        if session is None:
            return RedirectResponse("/", status_code=303)
        return page(request, "page.html", session=session, knobs=views.knobs(session.instance, session.settings),
                    instance=str(session.instance.path.name), max_upload=f"{max_upload / 1024 / 1024:,.0f}")

    @app.post("/s/{sid}/settings", response_class=HTMLResponse)
    async def settings(request: Request, session: Session = Depends(known_session)):
        form = await request.form()
        try:
            parsed = settings_from_form({k: str(v) for k, v in form.items()}, session.instance)
        except InvalidInstance as exc:
            return problem_response(request, [str(p) for p in exc.problems])
        if any(k == "locks" or k.split(".")[0] in ("pairs", "capacity") for k in parsed):
            try:  # table edits: checked against the instance now, so that a bad one is a 400 with its message
                await asyncio.to_thread(session.live.prepare, parsed)
            except (InvalidInstance, ValueError) as exc:
                problems = getattr(exc, "problems", None) or [exc]
                return problem_response(request, [str(p) for p in problems])
        queue.submit(session, parsed)
        # clears an earlier message, and shows the solve's state now (the events follow it from here)
        return page(request, "_submitted.html", **status_of(session))

    def status_fragment(request: Request, session: Session) -> HTMLResponse:
        return page(request, "_status.html", **status_of(session))

    def status_of(session: Session) -> dict[str, Any]:
        place = queue.place(session)
        if session.state == "solving":
            line = session.line or status_line(session)
        elif place is not None:
            line = f"waiting for a free solver: number {place} in the queue"
        else:
            line = ""
        return {"state": session.state, "line": line, "place": place, "revision": session.revision,
                "sid": session.id}

    @app.get("/s/{sid}/held")
    def held(sid: str) -> dict[str, bool]:
        """Whether the server holds this session's model now, or freed it when it was idle
        (without touching it: asking does not keep it)."""
        return {"held": sid in sessions.open, "freed": sid in sessions.freed}

    @app.get("/s/{sid}/events")
    async def events(request: Request, sid: str):
        if sessions.get(sid) is None:
            raise UnknownSession(sid)

        async def stream():
            last = None
            beat = 0
            while True:
                if await request.is_disconnected():
                    return
                session = sessions.get(sid)
                if session is None:
                    return
                now = json.dumps(status_of(session))
                beat += 1
                if now != last or beat >= 300:  # the state again every 15 s keeps proxies from closing it
                    yield f"data: {now}\n\n"
                    last, beat = now, 0
                await asyncio.sleep(0.05)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @app.get("/s/{sid}/plan", response_class=HTMLResponse)
    def plan(request: Request, session: Session = Depends(known_session)):
        outcome = session.outcome
        note, session.note = session.note, ""
        context: dict[str, Any] = {"session": session, "note": note, "problems": outcome.problems,
                                   "revision": session.revision, "stopped": outcome.stopped}
        if outcome.solve is not None:
            context["plan"] = views.plan_view(outcome.solve)
            if outcome.explanation is not None:
                context["explanation"] = views.explanation_view(outcome.explanation)
            if session.baseline is not None and outcome.solve.result.has_plan:
                context["differences"] = differences(session)
        return page(request, "_plan.html", **context)

    @app.post("/s/{sid}/stop", response_class=HTMLResponse)
    def stop(request: Request, session: Session = Depends(known_session)):
        if session.state == "solving":
            session.stop.request()
        return status_fragment(request, session)

    @app.post("/s/{sid}/apply-change", response_class=HTMLResponse)
    def apply_change(request: Request, session: Session = Depends(known_session)):
        outcome = session.outcome
        if outcome.explanation is None or outcome.solve is None:
            return problem_response(request, ["no infeasible plan with a proposed change to apply"], 409)
        try:
            changed = settings_for_changes(outcome.explanation.changes, session.settings, session.instance)
        except InvalidInstance as exc:
            return problem_response(request, [str(p) for p in exc.problems])
        queue.submit(session, changed)
        return Response(status_code=204, headers={"HX-Refresh": "true"})

    @app.post("/s/{sid}/pin", response_class=HTMLResponse)
    def pin(request: Request, session: Session = Depends(known_session)):
        solved = session.outcome.solve
        if solved is None or not solved.result.has_plan:
            return problem_response(request, ["there is no plan to pin yet"], 409)
        folder = session.workdir / "baseline"
        solved.result.write(folder)
        session.baseline = folder
        session.baseline_settings = dict(session.settings)
        session.revision += 1  # the plan is shown again, with its differences
        return Response(status_code=204)

    @app.post("/s/{sid}/unpin", response_class=HTMLResponse)
    def unpin(request: Request, session: Session = Depends(known_session)):
        session.baseline = None
        session.revision += 1
        return Response(status_code=204)

    def differences(session: Session) -> dict[str, Any]:
        current = session.workdir / "current"
        session.outcome.solve.result.write(current)
        tables = compare_results(session.baseline, current)
        return views.differences_view(tables)

    @app.post("/s/{sid}/upload", response_class=HTMLResponse)
    async def upload(request: Request, file: UploadFile, session: Session = Depends(known_session)):
        data = await file.read(max_upload + 1)
        if len(data) > max_upload:
            return PlainError(too_large(max_upload), 413)
        from optimizer.data.upload import load_upload

        folder = session.workdir / "uploads"  # private: inside the session's 0700 temporary folder
        folder.mkdir(exist_ok=True)
        try:
            loaded = await asyncio.to_thread(load_upload, data, os.path.basename(file.filename or "upload"), folder,
                                             max_upload)
        except InvalidInstance as exc:
            return problem_response(request, [str(p) for p in exc.problems])
        sessions.replace_instance(session, loaded)
        queue.submit(session, {})
        return Response(status_code=204, headers={"HX-Refresh": "true"})

    @app.get("/s/{sid}/download/{what}")
    def download(request: Request, what: str, session: Session = Depends(known_session)):
        if what not in DOWNLOADS:
            return problem_response(request, [f"no download named {what!r}: {', '.join(DOWNLOADS)}"], 404)
        solved = session.outcome.solve
        name = session.instance.path.stem or "plan"
        if what == "instance.xlsx":
            from optimizer.data.workbook import instance_workbook_bytes

            instance = solved.instance if solved is not None else session.instance
            return attachment(instance_workbook_bytes(instance), f"{name}-instance.xlsx", XLSX)
        if solved is None or not solved.result.has_plan:
            return problem_response(request, ["there is no plan to download yet"], 409)
        if what == "plan.xlsx":
            from optimizer.data.workbook import result_workbook_bytes

            return attachment(result_workbook_bytes(solved.result), f"{name}-plan.xlsx", XLSX)
        if what == "plan.zip":
            from optimizer.data.workbook import result_csv_zip_bytes

            return attachment(result_csv_zip_bytes(solved.result), f"{name}-plan.zip", "application/zip")
        from optimizer.reports.report import write_report  # report.html

        folder = session.workdir / "report"
        solved.result.write(folder)
        written = write_report(folder, folder / "report.html")
        html = next(p for p in written if p.suffix == ".html")
        session.touch()  # the seconds the report took were not idle
        return attachment(html.read_bytes(), f"{name}-report.html", "text/html")

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    # after /static/plotly.min.js, which the package serves from plotly's own folder
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    return app


DOWNLOADS = ("plan.xlsx", "plan.zip", "instance.xlsx", "report.html")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def PlainError(text: str, status_code: int) -> Response:  # noqa: N802 - reads as a response class
    return Response(text, status_code=status_code, media_type="text/plain")


def attachment(data: bytes, filename: str, media_type: str) -> Response:
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# ------------------------------------------------------------------------------ parsing


def settings_from_form(form: dict[str, str], instance: Instance) -> dict[str, Any]:
    """The settings a knobs form describes: the values that differ from the instance's own.
    InvalidInstance names each field that is not a number (or not a choice) the files accept."""
    scenario = instance.scenario
    settings: dict[str, Any] = {}
    problems: list[Problem] = []
    for key in SCENARIO_NUMBERS:
        if key not in form:
            continue
        text = form[key].strip().replace(",", "")
        section, name = key.split(".")
        current = getattr(getattr(scenario, section), name)
        value = None
        if text:
            try:
                value = float(text)
            except ValueError:
                problems.append(Problem("settings", "expected a number" + ("" if section == "proportion" else
                                                                          " (or empty for none)"), key=key, value=text))
                continue
            if not math.isfinite(value):
                problems.append(Problem("settings", "expected a finite number", key=key, value=text))
                continue
        elif section == "proportion":
            value = 0.0
        if value != current:
            settings[key] = value
    for key in SCENARIO_CHOICES:
        if key in form:
            section, name = key.split(".")
            current = getattr(getattr(scenario, section), name)
            value = form[key] or None
            if value != current:
                settings[key] = value
    # the tables' current values by form key, read once (a form holds every capacity cell: 10,000 at 200 counties)
    capacity = instance.capacity
    current_cells = {f"capacity.{w}.{k}.{t}": float(a) for w, k, t, a in zip(
        capacity["recipient"], capacity["instrument"], capacity["year"], capacity["max_aid"])}
    pairs = instance.pairs
    current_cells.update({f"pairs.{d}.{w}.base_quota": float(q) for d, w, q in zip(
        pairs["donor"], pairs["recipient"], pairs["base_quota"])})
    for key, text in form.items():
        if not ((key.startswith("capacity.") and key.count(".") == 3)
                or (key.startswith("pairs.") and key.endswith(".base_quota"))):
            continue
        try:
            value = float(text.replace(",", ""))
        except ValueError:
            problems.append(Problem("settings", "expected million yuan", key=key, value=text))
            continue
        if key in current_cells and current_cells[key] != value:
            settings[key] = value
    for number, line in enumerate(form.get("more", "").splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, text = line.partition("=")
        if not sep:
            problems.append(Problem("settings", "expected key=value", key=f"more settings, line {number}", value=line))
            continue
        if key.strip().split(".")[0] not in MORE_HEADS:
            problems.append(Problem("settings", "expected a scenario key (scenario., proportion., priorities., "
                                    "solver.) or a table cell (capacity., pairs.)", key=f"more settings, line {number}",
                                    value=key.strip()))
            continue
        try:
            settings[key.strip()] = float(text)
        except ValueError:
            settings[key.strip()] = text.strip()
    locks_text = form.get("locks", "").strip()
    if locks_text and locks_text != instance.locks.to_csv(index=False).strip():
        try:
            locks = pd.read_csv(io.StringIO(locks_text), dtype={"donor": str, "recipient": str, "instrument": str})
        except (ValueError, pd.errors.ParserError) as exc:
            problems.append(Problem("settings", f"the locks are not CSV: {exc}", key="locks"))
        else:
            expected = list(TABLES["locks"].columns) if hasattr(TABLES["locks"], "columns") else list(instance.locks.columns)
            missing = [c for c in ("donor", "recipient", "instrument", "year") if c not in locks.columns]
            if missing:
                problems.append(Problem("settings", f"the locks need the columns {', '.join(expected)}",
                                        key="locks", value=", ".join(locks.columns)))
            else:
                settings["locks"] = locks.reindex(columns=instance.locks.columns)
    if problems:
        raise InvalidInstance(problems)
    try:
        scenario.override(**{k: v for k, v in settings.items() if k != "locks" and k.split(".")[0] not in
                             ("pairs", "capacity")})
    except ValueError as exc:
        raise InvalidInstance(list(getattr(exc, "problems", [Problem("settings", str(exc))]))) from None
    return settings
