"""schemathesis against a real `smsdesk demo` process and its own `/openapi.json`, every check on, as an agent
and as an admin: every answer must be one the description promises (status, envelope, headers), valid
requests must be accepted and invalid ones refused, no 5xx, no operation reachable without credentials.

The number of examples is bounded (about a minute per run on a 2-core machine); the seed is fixed so that a
run is repeatable, and `SMSDESK_SCHEMATHESIS_SEED` / `SMSDESK_SCHEMATHESIS_EXAMPLES` explore further. The
other spellings of the session URL run the same handlers as the canonical one (`tests/api/test_dispatch.py`,
`tests/api/test_openapi.py`); they get a short fuzzing run of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import free_port, wait_serving

HERE = Path(__file__).parent
CONFIG = HERE / "schemathesis.toml"
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# schemathesis's wrong-credential probes all come from 127.0.0.1: the failed-login throttle (docs/security.md)
# would answer its later requests 429, which the description allows but which explores nothing
NO_THROTTLE = {
    "SMSDESK_LOGIN_MAX_FAILURES_PER_USER": "1000000",
    "SMSDESK_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000",
}
SEED = os.environ.get("SMSDESK_SCHEMATHESIS_SEED", "20261204")
EXAMPLES = os.environ.get("SMSDESK_SCHEMATHESIS_EXAMPLES", "8")
ALIASES = r"/(smsessions|smsssession|smssession|smsession|smsssessions)/"

# Twilio configured, so that its webhooks are served (and described, and tested: no request here is signed);
# nothing is sent to it (no session exists for a reply to leave from), and its API base is a closed port.
TWILIO = {
    "SMSDESK_TWILIO_ACCOUNT_SID": "ACschemathesis",
    "SMSDESK_TWILIO_AUTH_TOKEN": "schemathesis-token",
    "SMSDESK_TWILIO_API_BASE": "http://127.0.0.1:9",
    "SMSDESK_TWILIO_NUMBERS": "+15550009999",
}

pytestmark = pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis is not installed")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """schemathesis keeps a cache in its working directory: not the repository's."""
    return tmp_path_factory.mktemp("schemathesis")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[str]:
    tmp = workdir
    port = free_port()
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smsdesk",
            "demo",
            "--port",
            str(port),
            "--database",
            f"sqlite:///{tmp / 'st.db'}",
        ],
        env={**os.environ, **TWILIO, **NO_THROTTLE, "SMSDESK_LOG_LEVEL": "warning"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_serving(url, proc, tmp / "server.log")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
        print((tmp / "server.log").read_text(errors="replace")[-5000:])


def _schemathesis(url: str, workdir: Path, user: str, *args: str) -> None:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        "--auth",
        f"{user}:password",
        "--workers",
        "1",  # hypothesis describes its lambdas with `ast`, which is not thread-safe on Python 3.11
        "--seed",
        SEED,
        "--no-color",
        "--request-timeout",
        "30",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, cwd=workdir)
    print(done.stdout[-20000:], done.stderr[-5000:])
    assert done.returncode == 0, "schemathesis found failures (see the output above)"
    assert " passed" in done.stdout


@pytest.mark.timeout(900)
@pytest.mark.parametrize("user", ["agent1", "admin"])
def test_the_description_holds_for(server: str, workdir: Path, user: str) -> None:
    _schemathesis(server, workdir, user, "--max-examples", EXAMPLES, "--exclude-path-regex", ALIASES)


@pytest.mark.timeout(900)
def test_the_other_spellings_of_the_session_url_hold(server: str, workdir: Path) -> None:
    _schemathesis(
        server,
        workdir,
        "agent1",
        "--max-examples",
        "3",
        "--phases",
        "fuzzing",
        "--include-path-regex",
        ALIASES,
    )
