from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import pytest

from smsdesk.clock import FakeClock
from smsdesk.config import Settings
from smsdesk.store.migrate import migrate
from smsdesk.store.sql import SqlStore, create_store
from tests.services import POSTGRES_URL, require

# Most tests drive agents through REST without a notification client: the presence rule (docs/routing.md) would
# set them NotReady once a (fake) clock passes its grace. In tests it is off unless a test sets
# ``presence_grace_s``; in production its default stays 30 s. The environment variable does the same for the
# server processes tests start.
Settings.model_fields["presence_grace_s"].default = 0.0
Settings.model_rebuild(force=True)
os.environ.setdefault("SMSDESK_PRESENCE_GRACE_S", "0")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def _admin(sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    u = urlparse(POSTGRES_URL)
    conn = await asyncpg.connect(
        host=u.hostname,
        port=u.port or 5432,
        user=u.username or "postgres",
        database=u.path.lstrip("/") or "test",
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` to completion on a fresh loop in a thread (callable from inside a running loop too)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated once; dropped at the end."""
    require("postgres", POSTGRES_URL, 5432)
    name = f"smsdesk_test_{uuid.uuid4().hex[:10]}"
    _run(_admin(f'CREATE DATABASE "{name}"'))
    url = urlunparse(urlparse(POSTGRES_URL)._replace(path="/" + name))

    async def setup() -> None:
        store = create_store(url)
        await migrate(store)
        await store.close()

    _run(setup())
    yield url
    _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(store: SqlStore) -> None:
    from sqlalchemy import text

    from smsdesk.store.tables import metadata

    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    await store.run_write(lambda conn: conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY")))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStore]:
    """The store, once per engine: every test using it is a contract test run on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        s = create_store(f"sqlite:///{tmp_path / 'store.db'}")
        await migrate(s)
    else:
        url = request.getfixturevalue("postgres_database")
        s = create_store(url)
        await _truncate(s)
    yield s
    await s.close()
