"""Run the workbench with uvicorn: `serve(instance, host, port)` (what `ewppt serve` calls)."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

from optimizer.data.io import Instance
from optimizer.web.app import IDLE_SECONDS, MAX_UPLOAD, create_app

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def url_of(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class CannotListen(Exception):
    """The address or port cannot be listened on (in use, not this machine's, not allowed)."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (0: a free port) and listening, so that the address the
    workbench prints is already open when a browser or a script reads it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        why = "is in use (choose another with --port, or 0 for a free one)" if exc.errno == errno.EADDRINUSE \
            else f"cannot be listened on: {exc.strerror or exc}"
        raise CannotListen(f"{host} port {port} {why}") from None
    return sock


def serve(instance: Instance, host: str = "127.0.0.1", port: int = 8000, say: Callable[[str], None] = print,
          max_upload: int = MAX_UPLOAD, idle_seconds: float = IDLE_SECONDS) -> None:
    """Serve the workbench for `instance` until Ctrl-C; says its address once it listens (and a
    warning when it listens beyond this machine). Raises CannotListen for an address or port it
    cannot have."""
    import uvicorn

    sock = listening_socket(host, port)
    port = sock.getsockname()[1]
    app = create_app(instance, host=host, port=port, max_upload=max_upload, idle_seconds=idle_seconds)
    if host not in LOOPBACK:
        say(f"warning: serving on {host}, not only this machine: anyone who can reach port {port} can use the "
            "workbench and read its plans (it has no login)")
    say(f"the workbench for {instance.path.name} is at {url_of(host, port)} (Ctrl-C stops it)")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])
