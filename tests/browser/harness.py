"""Browser-test harness: Debian's chromium through Playwright, a real smsdesk server on 127.0.0.1 in a thread,
and the npm ``cometd`` package installed from ``smsdesk/web/package-lock.json``.

chromium or npm absent: the browser tests skip with a clear message locally and fail when ``CI=true``.
Screenshots and console logs go under ``test-output/browser/<test name>/`` at the repository root (ignored by
git), so they survive the run.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from smsdesk.web.routes import DEFAULT_NODE_MODULES, build_web_routes
from tests.services import missing, npm_ci

ROOT = Path(__file__).resolve().parents[2]
WEB_DIR = ROOT / "smsdesk" / "web"
OUTPUT = ROOT / "test-output" / "browser"
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("SMSDESK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "password"  # the demo users' password (smsdesk/demo.py)


def require_chromium() -> str:
    if not Path(CHROMIUM).is_file():
        missing(f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium")
    return CHROMIUM


def require_web_deps() -> None:
    """``npm ci`` in smsdesk/web when the ``cometd`` package is absent or older than the lock file."""
    npm_ci(WEB_DIR, "to install the cometd client for the web UI")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def route_paths(app: Any) -> set[str]:
    """Plain Starlette routes plus every path of the OpenAPI schema (the public way to list API routes)."""
    paths = {p for r in app.routes if isinstance(p := getattr(r, "path", None), str)}
    openapi = getattr(app, "openapi", None)
    if callable(openapi):
        paths.update(openapi().get("paths", {}))
    return paths


def missing_server_pieces(app: Any) -> list[str]:
    """What the story needs from the server that this build of ``build_app`` does not serve yet."""
    paths = route_paths(app)
    missing = []
    if "/api/v2/notifications" not in paths:
        missing.append("CometD endpoint /api/v2/notifications (NotificationHub not mounted in build_app)")
    if not any(p.startswith("/api/v2/me/smssessions") for p in paths):
        missing.append("SMS sessions REST /api/v2/me/smssessions (GET list, GET messages, POST operations)")
    if "/simulator" not in paths:
        missing.append(
            "customer phone page /simulator and /sms/simulator/* (SMS provider routes not mounted)"
        )
    if "/api/v2/me/supervision" not in paths:
        missing.append("supervision: Monitor/Coach/BargeIn and GET /api/v2/me/supervision")
    if not any(p.startswith("/api/v2/users/{") and "smssessions" in p for p in paths):
        missing.append("supervision: Intrude on POST /api/v2/users/{id}/smssessions/{sessionId}")
    return missing


def build_server_app(database: Path, port: int, **settings: Any) -> Any:
    """``build_app`` with demo users; the web routes are added when the composition root does not mount them."""
    from smsdesk.app import build_app
    from smsdesk.config import Settings

    config = Settings(database_url=f"sqlite:///{database}", port=port, **settings)
    app = build_app(config, seed_demo=True, fast_hash=True)
    if "/supervisor" not in route_paths(app):
        app.router.routes.extend(build_web_routes(DEFAULT_NODE_MODULES))
    return app


@dataclass
class RunningServer:
    database: Path
    port: int
    url: str
    app: Any
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def start_server(database: Path, port: int | None = None, **settings: Any) -> RunningServer:
    port = port or free_port()
    app = build_server_app(database, port, **settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("the smsdesk server did not start")
        time.sleep(0.05)
    return RunningServer(database, port, f"http://127.0.0.1:{port}", app, server, thread)


@contextmanager
def running_server(database: Path, **settings: Any) -> Iterator[RunningServer]:
    srv = start_server(database, **settings)
    try:
        yield srv
    finally:
        srv.stop()


@dataclass
class ConsoleLog:
    """Console errors and uncaught page errors of every page of a browser context."""

    errors: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def watch(self, page: Any, name: str) -> None:
        def on_console(msg: Any) -> None:
            where = (msg.location or {}).get("url", "")
            self.lines.append(f"[{name}] {msg.type}: {msg.text} ({where})")
            if msg.type == "error":
                self.errors.append(f"[{name}] {msg.text} ({where})")

        def on_error(exc: Any) -> None:
            self.errors.append(f"[{name}] uncaught: {exc}")

        page.on("console", on_console)
        page.on("pageerror", on_error)


def output_dir(request: pytest.FixtureRequest) -> Path:
    name: str = request.node.name
    out = OUTPUT / name.replace("/", "_")
    out.mkdir(parents=True, exist_ok=True)
    return out


@contextmanager
def story_pages(out: Path) -> Iterator[dict[str, Any]]:
    """The pages a story opens, by name: on a failure each one's screenshot (``failed-<name>.png`` in ``out``:
    what it showed), at the end every one's browser context closed."""
    pages: dict[str, Any] = {}
    try:
        yield pages
    except Exception:
        for name, page in pages.items():
            page.screenshot(path=str(out / f"failed-{name}.png"), full_page=True)
        raise
    finally:
        for page in pages.values():
            page.context.close()
