"""HTTP routes of the browser UI, as plain Starlette routes the app mounts (see ``docs/ui.md``).

* ``GET /``                      the agent desktop (``static/agent.html``)
* ``GET /supervisor``            the supervisor console (``static/supervisor.html``)
* ``GET /static/vendor/cometd/*`` the npm ``cometd`` package's ES modules, served from ``node_modules`` (in a
  source tree after ``make web-deps``; an installed wheel carries it); a plain 503 page saying how to
  install them when npm has not run
* ``GET /static/*``              our own HTML/CSS/JS
* ``GET /favicon.ico``           our icon (an SVG), so no page of the server logs a 404 for it

Nothing here authenticates: the pages hold no data. They log in through the public API (``GET /api/v2/me``
with HTTP Basic, then the ``JSESSIONID`` cookie), exactly as a third-party desktop would.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

__all__ = ["DEFAULT_NODE_MODULES", "STATIC_DIR", "build_web_routes"]

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
DEFAULT_NODE_MODULES = WEB_DIR / "node_modules"
VENDOR_PREFIX = "/static/vendor/cometd"
_NO_CACHE = {"Cache-Control": "no-cache"}


def missing_vendor_page(package_dir: Path) -> HTMLResponse:
    """The 503 answer for vendor files when the npm package is not installed."""
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Web UI not installed</title></head>"
        "<body><h1>503: the CometD client is not installed</h1>"
        "<p>The agent desktop and supervisor console load the npm <code>cometd</code> package as static "
        f"ES modules from <code>{escape(package_dir.name)}/</code>, which does not exist yet.</p>"
        "<p>Install it with <code>make web-deps</code> (it runs <code>npm ci</code> in "
        "<code>smsdesk/web</code>), then reload this page.</p></body></html>"
    )
    return HTMLResponse(body, status_code=503, headers={"Retry-After": "60", **_NO_CACHE})


class VendorFiles:
    """Static files of one npm package; 503 with instructions while the package is not installed.

    The directory is checked on every request (a stat call), so ``make web-deps`` run while the server is up
    takes effect without a restart.
    """

    def __init__(self, package_dir: Path) -> None:
        self.package_dir = package_dir
        self._files: StaticFiles | None = None

    def installed(self) -> bool:
        return (self.package_dir / "package.json").is_file()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.installed():
            await missing_vendor_page(self.package_dir)(scope, receive, send)
            return
        if self._files is None:
            self._files = StaticFiles(directory=self.package_dir)
        await self._files(scope, receive, send)


def _page(name: str) -> Route:
    path = STATIC_DIR / name

    async def endpoint(_: Request) -> Response:
        return FileResponse(path, media_type="text/html; charset=utf-8", headers=_NO_CACHE)

    return Route("/" if name == "agent.html" else "/supervisor", endpoint, methods=["GET", "HEAD"])


async def favicon(_: Request) -> Response:
    return FileResponse(
        STATIC_DIR / "favicon.svg", media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"}
    )


def build_web_routes(node_modules_dir: Path = DEFAULT_NODE_MODULES) -> list[BaseRoute]:
    """The UI routes; mount them before any catch-all. ``node_modules_dir`` holds the npm ``cometd`` package."""
    return [
        _page("agent.html"),
        _page("supervisor.html"),
        Route("/favicon.ico", favicon, methods=["GET", "HEAD"]),
        Mount(VENDOR_PREFIX, app=VendorFiles(Path(node_modules_dir) / "cometd"), name="web_vendor_cometd"),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="web_static"),
    ]
