"""``build_web_routes`` without a browser: pages, our static files, the vendored CometD modules, and the 503
page when npm has not installed them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from smsdesk.web.routes import build_web_routes


def client_for(node_modules: Path) -> httpx.AsyncClient:
    app = Starlette(routes=build_web_routes(node_modules))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ui.test")


@pytest.fixture
def fake_node_modules(tmp_path: Path) -> Path:
    pkg = tmp_path / "node_modules" / "cometd"
    pkg.mkdir(parents=True)
    (pkg / "package.json").write_text('{"name": "cometd", "type": "module"}')
    (pkg / "cometd.js").write_text('export * from "./Client.js";\n')
    return tmp_path / "node_modules"


@pytest.fixture
async def client(fake_node_modules: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(fake_node_modules) as c:
        yield c


@pytest.mark.parametrize(
    ("path", "marker"),
    [("/", "agent desktop"), ("/supervisor", "supervisor console")],
)
async def test_pages_are_html_and_load_their_module(
    client: httpx.AsyncClient, path: str, marker: str
) -> None:
    r = await client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert marker in r.text
    assert 'type="module"' in r.text
    assert r.headers["cache-control"] == "no-cache"


async def test_head_of_a_page(client: httpx.AsyncClient) -> None:
    r = await client.head("/")
    assert r.status_code == 200
    assert r.content == b""


async def test_own_modules_are_served_as_javascript(client: httpx.AsyncClient) -> None:
    for name in (
        "agent.js",
        "agent_controls.js",
        "supervisor.js",
        "gws.js",
        "notifications.js",
        "pane.js",
        "board.js",
    ):
        r = await client.get(f"/static/js/{name}")
        assert r.status_code == 200, name
        assert "javascript" in r.headers["content-type"], name
    css = await client.get("/static/css/ui.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


async def test_notifications_module_imports_the_vendored_client(client: httpx.AsyncClient) -> None:
    r = await client.get("/static/js/notifications.js")
    assert 'from "/static/vendor/cometd/cometd.js"' in r.text


async def test_vendor_files_come_from_node_modules(client: httpx.AsyncClient) -> None:
    r = await client.get("/static/vendor/cometd/cometd.js")
    assert r.status_code == 200
    assert "javascript" in r.headers["content-type"]
    assert r.text == 'export * from "./Client.js";\n'


async def test_vendor_file_that_does_not_exist_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/static/vendor/cometd/Nope.js")).status_code == 404


async def test_paths_cannot_escape_the_static_folders(client: httpx.AsyncClient) -> None:
    for path in (
        "/static/../routes.py",
        "/static/%2e%2e/routes.py",
        "/static/vendor/cometd/%2e%2e/cometd/../../x",
        "/static/js/..%2f..%2froutes.py",
    ):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert "build_web_routes" not in r.text


async def test_missing_npm_package_gives_a_clear_503(tmp_path: Path) -> None:
    async with client_for(tmp_path / "no_node_modules") as c:
        r = await c.get("/static/vendor/cometd/cometd.js")
        assert r.status_code == 503
        assert r.headers["content-type"].startswith("text/html")
        assert "make web-deps" in r.text
        assert "npm ci" in r.text
        assert str(tmp_path) not in r.text  # no server paths leak
        # the pages themselves still load
        assert (await c.get("/")).status_code == 200


async def test_installing_while_running_takes_effect(tmp_path: Path, fake_node_modules: Path) -> None:
    target = tmp_path / "later"
    async with client_for(target) as c:
        assert (await c.get("/static/vendor/cometd/cometd.js")).status_code == 503
        await asyncio.to_thread(fake_node_modules.rename, target)
        assert (await c.get("/static/vendor/cometd/cometd.js")).status_code == 200


async def test_favicon_is_served(client: httpx.AsyncClient) -> None:
    r = await client.get("/favicon.ico")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert r.text.startswith("<svg")


async def test_unknown_static_file_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/static/js/missing.js")).status_code == 404


def test_committed_lock_pins_only_cometd_9() -> None:
    import json

    web = Path(__file__).resolve().parents[2] / "smsdesk" / "web"
    package = json.loads((web / "package.json").read_text())
    lock = json.loads((web / "package-lock.json").read_text())
    assert package["dependencies"] == {"cometd": package["dependencies"]["cometd"]}
    assert package["dependencies"]["cometd"].startswith("9.")
    installed = {k for k in lock["packages"] if k}
    assert installed == {"node_modules/cometd"}
    assert lock["packages"]["node_modules/cometd"]["version"].startswith("9.")
