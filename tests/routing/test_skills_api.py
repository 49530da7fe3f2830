"""Skills the GWS way (docs/routing.md): ``GET /api/v2/skills``, ``POST /api/v2/users/{id}/skills``,
``DELETE /api/v2/users/{id}/skills/{name}``, ``subresources=*`` on users and me, ``smsdesk users add --skill``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smsdesk.cli.main import main
from smsdesk.clock import FakeClock
from smsdesk.config import Settings
from smsdesk.store.migrate import migrate
from smsdesk.store.sql import create_store
from tests.api.conftest import Api, make_api

QUEUES = {"billing": {"skills": {"billing": 3}}, "spanish": {"skills": {"spanish": 1, "billing": 0}}}
BASE = "http://127.0.0.1:8080"


@pytest.fixture
async def api(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Api]:
    async for a in make_api(tmp_path, clock, queues=QUEUES):
        yield a


async def test_admins_add_change_and_remove_skills_and_users_see_them(api: Api) -> None:
    a1 = await api.user_id("agent1")
    r = await api.post(f"/api/v2/users/{a1}/skills", {"name": "billing", "level": 5}, user="admin")
    assert r.json() == {"statusCode": 0}
    r = await api.post(f"/api/v2/users/{a1}/skills", {"name": "french", "level": 2}, user="admin")
    assert r.json() == {"statusCode": 0}
    r = await api.post(f"/api/v2/users/{a1}/skills", {"name": "billing", "level": 4}, user="admin")
    assert r.json() == {"statusCode": 0}  # a new level replaces the old one
    billing = {"id": "billing", "name": "billing", "level": 4, "uri": f"{BASE}/api/v2/skills/billing"}
    french = {"id": "french", "name": "french", "level": 2, "uri": f"{BASE}/api/v2/skills/french"}
    me = (await api.get("/api/v2/me?subresources=*", user="agent1")).json()["user"]
    assert me["skills"] == [billing, french]
    user = (await api.get(f"/api/v2/users/{a1}?subresources=*", user="supervisor1")).json()["user"]
    assert user["skills"] == [billing, french]
    assert (await api.get(f"/api/v2/users/{a1}/skills", user="supervisor1")).json() == {
        "statusCode": 0,
        "skills": [billing, french],
    }
    # another agent does not see them (left out of "*", refused by name)
    other = (await api.get(f"/api/v2/users/{a1}?subresources=*", user="agent2")).json()["user"]
    assert "skills" not in other
    assert (await api.get(f"/api/v2/users/{a1}?subresources=skills", user="agent2")).json()["statusCode"] == 5
    # the contact center's skills: those the queues ask for and those agents hold
    r = await api.get("/api/v2/skills?fields=*", user="supervisor1")
    assert [s["name"] for s in r.json()["skills"]] == ["billing", "french", "spanish"]
    r = await api.get("/api/v2/skills", user="admin")
    assert r.json()["uris"][0] == f"{BASE}/api/v2/skills/billing"
    r = await api.get("/api/v2/skills/spanish", user="supervisor1")  # a skill's uri answers
    assert r.json() == {
        "statusCode": 0,
        "skill": {"id": "spanish", "name": "spanish", "uri": f"{BASE}/api/v2/skills/spanish"},
    }
    assert (await api.get("/api/v2/skills/unheard-of", user="admin")).json()["statusCode"] == 6
    assert (await api.delete(f"/api/v2/users/{a1}/skills/french")).json() == {"statusCode": 0}
    me = (await api.get("/api/v2/me?subresources=skills", user="agent1")).json()["user"]
    assert me["skills"] == [billing]


async def test_bad_skill_requests_get_clear_errors(api: Api) -> None:
    a1 = await api.user_id("agent1")
    r = await api.post(f"/api/v2/users/{a1}/skills", {"name": "billing", "level": 5}, user="supervisor1")
    assert r.json()["statusCode"] == 5  # admins only
    r = await api.post(f"/api/v2/users/{a1}/skills", {"level": 5}, user="admin")
    assert r.json()["statusCode"] == 1 and "name" in r.json()["statusMessage"]
    for body in ({"name": "", "level": 1}, {"name": "x", "level": -1}, {"name": "x", "level": "5"}):
        r = await api.post(f"/api/v2/users/{a1}/skills", body, user="admin")
        assert r.json()["statusCode"] == 10, body
    r = await api.post("/api/v2/users/nobody/skills", {"name": "billing", "level": 1}, user="admin")
    assert r.json()["statusCode"] == 6
    r = await api.delete(f"/api/v2/users/{a1}/skills/never")
    assert r.json()["statusCode"] == 6 and "has no skill 'never'" in r.json()["statusMessage"]
    assert (await api.get("/api/v2/skills", user="agent1")).json()["statusCode"] == 5
    assert (await api.get(f"/api/v2/users/{a1}/skills", user="agent2")).json()["statusCode"] == 5


async def test_a_deleted_users_skills_go_with_them(api: Api) -> None:
    a1 = await api.user_id("agent1")
    await api.post(f"/api/v2/users/{a1}/skills", {"name": "gone", "level": 1}, user="admin")
    assert (await api.delete(f"/api/v2/users/{a1}")).json() == {"statusCode": 0}
    assert await api.rt.store.list_skills(a1) == {}


def test_the_command_line_adds_a_user_with_skills(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    args = ["users", "add", "dora", "--password", "secret", "--role", "agent", "--database", db]
    assert main([*args, "--skill", "billing:5", "--skill", "spanish:2"]) == 0
    assert "skills=billing:5 spanish:2" in capsys.readouterr().out
    assert main(["users", "add", "eve", "--password", "secret", "--role", "agent", "--database", db,
                 "--skill", "billing:high"]) == 2  # fmt: skip
    assert "the level after ':' must be an integer" in capsys.readouterr().err
    asyncio.run(_check_cli_store(db))


async def _check_cli_store(db: str) -> None:
    store = create_store(Settings(database_url=db).database_url)
    try:
        await migrate(store)
        dora = await store.get_user_by_name("dora")
        assert dora is not None
        assert await store.list_skills(dora.id) == {dora.id: {"billing": 5, "spanish": 2}}
        assert await store.get_user_by_name("eve") is None  # a bad --skill creates nothing
    finally:
        await store.close()
