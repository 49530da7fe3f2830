"""Which external services the test run may use.

PostgreSQL and Redis runs switch on when the service answers (or ``SMSDESK_TEST_POSTGRES_URL`` /
``SMSDESK_TEST_REDIS_URL`` name one) and skip with a clear message otherwise. When ``CI=true`` they are
required: a service that does not answer fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlparse

import pytest

POSTGRES_URL = os.environ.get("SMSDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SMSDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"


def answers(url: str, default_port: int) -> bool:
    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or default_port), timeout=1.0):
            return True
    except OSError:
        return False


def require(service: str, url: str, default_port: int) -> None:
    """Skip (locally) or fail (in CI) when ``service`` at ``url`` does not answer."""
    if answers(url, default_port):
        return
    message = f"{service} does not answer at {url}"
    if IN_CI:
        pytest.fail(f"{message}, and CI=true requires it")
    pytest.skip(f"{message}; set SMSDESK_TEST_{service.upper()}_URL or start it to run these tests")


def missing(message: str) -> NoReturn:
    """What a test needs is not on this machine: a skip, or under ``CI=true`` a failure."""
    if IN_CI:
        pytest.fail(f"CI=true: {message}")
    pytest.skip(message)


def npm_ci(directory: Path, why: str, needs: Path | None = None) -> None:
    """``npm ci`` in ``directory`` (once: not while its ``node_modules`` are as new as its lock file and hold
    ``needs``); ``why`` says what needs npm when it is missing."""
    installed = directory / "node_modules" / ".package-lock.json"
    lock = directory / "package-lock.json"
    fresh = installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime
    if fresh and (needs is None or needs.exists()):
        return
    npm = shutil.which("npm")
    if npm is None:
        missing(f"npm is needed {why} (apt-get install npm)")
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0 or (needs is not None and not needs.exists()):
        pytest.fail(f"npm ci failed in {directory.name}: {done.stderr[-2000:]}")
