"""The wheel alone serves everything: built from the source tree (sdist, then the wheel from the sdist, as
`make dist` does), installed in a fresh virtualenv, run with no Node.js on the PATH and outside the source tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import smsdesk
from tests.services import IN_CI
from tests.serving import free_port, wait_serving

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(600)  # a build, a venv and an install: a minute or two on a busy machine

UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")


def _need(tool: str, found: object) -> None:
    if found:
        return
    if IN_CI:
        pytest.fail(f"{tool} is required to build and install the wheel in CI")
    pytest.skip(f"{tool} not found: cannot build and install the wheel")


def _run(*cmd: str | Path, **kw: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=400, **kw)  # type: ignore[call-overload]
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A fresh venv with only the built wheel installed, and an environment whose PATH has no node."""
    _need("uv", UV)
    _need("npm", shutil.which("npm"))
    assert UV is not None
    tmp = tmp_path_factory.mktemp("wheel")
    _run(UV, "build", "--out-dir", tmp / "dist", ROOT, cwd=ROOT)
    wheels = sorted((tmp / "dist").glob("smsdesk-*.whl"))
    assert [w.name for w in wheels] == [f"smsdesk-{smsdesk.__version__}-py3-none-any.whl"]
    assert list((tmp / "dist").glob(f"smsdesk-{smsdesk.__version__}.tar.gz"))
    venv = tmp / "venv"
    _run(UV, "venv", "--quiet", "--python", sys.executable, venv)
    _run(UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python", wheels[0])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSDESK_", "VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = str(venv / "bin")  # no node, no npm: the wheel must not need them
    env["HOME"] = str(tmp)
    assert shutil.which("node", path=env["PATH"]) is None
    yield venv, env


def test_installed_wheel_is_the_one_imported_and_knows_its_version(
    installed: tuple[Path, dict[str, str]],
) -> None:
    venv, env = installed
    where = _run(
        venv / "bin" / "python", "-c", "import smsdesk.web.routes as r; print(r.__file__)", env=env, cwd=venv
    )
    assert Path(where.stdout.strip()).is_relative_to(venv)
    version = _run(venv / "bin" / "smsdesk", "--version", env=env, cwd=venv)
    assert version.stdout.strip() == f"smsdesk {smsdesk.__version__}"


def test_installed_wheel_serves_the_api_the_pages_and_the_cometd_client(
    installed: tuple[Path, dict[str, str]],
) -> None:
    venv, env = installed
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (venv / "demo.log").open("w")
    proc = subprocess.Popen(
        [
            str(venv / "bin" / "smsdesk"),
            "demo",
            "--port",
            str(port),
            "--database",
            f"sqlite:///{venv}/demo.db",
        ],
        env={**env, "SMSDESK_LOG_LEVEL": "warning"},
        cwd=venv,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_serving(base, proc, venv / "demo.log")
        with httpx.Client(base_url=base, timeout=10) as http:
            me = http.get("/api/v2/me", auth=("agent1", "password"))
            assert me.status_code == 200 and me.json()["statusCode"] == 0
            assert httpx.get(f"{base}/api/v2/me", timeout=10).status_code == 401  # no cookie, no credentials
            for page in ("/", "/supervisor", "/simulator"):
                r = http.get(page)
                assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), page
            own = http.get("/static/js/notifications.js")
            assert own.status_code == 200 and "/static/vendor/cometd/cometd.js" in own.text
            client = http.get("/static/vendor/cometd/cometd.js")
            assert client.status_code == 200, client.text[:300]
            assert "javascript" in client.headers["content-type"]
            assert 'from "./Client.js"' in client.text  # the package's entry point re-exports its modules
            module = http.get("/static/vendor/cometd/Client.js")
            assert module.status_code == 200 and "export class CometD" in module.text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
