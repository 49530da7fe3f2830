"""`smsdesk check-config`: problems reported clearly with a non-zero exit; a good configuration passes."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from smsdesk.cli.check_config import check_twilio_format, redact
from smsdesk.cli.main import main
from smsdesk.store.migrate import migrate
from smsdesk.store.sql import create_store
from tests.services import REDIS_URL, require

GOOD_SID = "AC" + "0123456789abcdef" * 2
GOOD_TOKEN = "fedcba9876543210" * 2


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("SMSDESK_"):
            monkeypatch.delenv(key)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens on it once the socket is closed


def _migrated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'desk.db'}"

    async def run() -> None:
        store = create_store(url)
        await migrate(store)
        await store.close()

    asyncio.run(run())
    return url


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["check-config", *args])
    return code, capsys.readouterr().out


def _lines(out: str, label: str, what: str) -> list[str]:
    return [line for line in out.splitlines() if line.split()[:2] == [label, what]]


def test_unreachable_postgresql_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql://smsdesk:secret@127.0.0.1:{_closed_port()}/smsdesk"
    code, out = _check(capsys, "--database", url, "--public-url", "https://desk.example.com")
    assert code == 1
    [line] = _lines(out, "ERROR", "database")
    assert "cannot connect to postgresql://smsdesk:***@127.0.0.1" in line
    assert "secret" not in out
    # `serve` runs no SMS provider unless one is configured (the simulator is the demo's, docs/security.md)
    assert _lines(out, "WARN", "sms") and out.rstrip().endswith("1 problem, 1 warning")


def test_unsupported_database_url_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _check(capsys, "--database", "mysql://root@localhost/desk")
    assert code == 1
    [line] = _lines(out, "ERROR", "database")
    assert "unsupported database URL" in line


def test_sqlite_file_in_a_missing_directory_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = _check(capsys, "--database", f"sqlite:///{tmp_path}/nowhere/desk.db")
    assert code == 1
    assert "does not exist" in _lines(out, "ERROR", "database")[0]
    assert not (tmp_path / "nowhere").exists()


def test_wrong_twilio_sid_format_is_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "smsdesk.toml"
    config.write_text(
        f'database_url = "{_migrated_sqlite(tmp_path)}"\npublic_url = "https://desk.example.com"\n'
        f'[sms]\ntwilio_account_sid = "SK{GOOD_SID[2:]}"\ntwilio_auth_token = "{GOOD_TOKEN}"\n'
        'twilio_numbers = ["+15550100"]\n',
        encoding="utf-8",
    )
    code, out = _check(capsys, "--config", str(config))
    assert code == 1
    [line] = _lines(out, "ERROR", "twilio")
    assert "SMSDESK_TWILIO_ACCOUNT_SID 'SK0123" in line and "'AC' followed by 32 hexadecimal digits" in line
    assert GOOD_TOKEN not in out


def test_twilio_format_rules() -> None:
    assert check_twilio_format(GOOD_SID, GOOD_TOKEN) == []
    assert len(check_twilio_format(GOOD_SID + "0", GOOD_TOKEN)) == 1
    assert len(check_twilio_format("AC" + "g" * 32, GOOD_TOKEN)) == 1
    assert "AUTH_TOKEN" in check_twilio_format(GOOD_SID, "short")[0]


def test_bad_settings_and_bad_public_url_are_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = _check(capsys, "--config", str(tmp_path / "missing.toml"))
    assert code == 1 and "cannot read config file" in _lines(out, "ERROR", "settings")[0]
    db = _migrated_sqlite(tmp_path)
    code, out = _check(capsys, "--database", db, "--public-url", "desk.example.com")
    assert code == 1 and "not an absolute http:// or https:// URL" in _lines(out, "ERROR", "public_url")[0]


def test_unreachable_redis_is_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = _migrated_sqlite(tmp_path)
    code, out = _check(capsys, "--database", db, "--redis", f"redis://127.0.0.1:{_closed_port()}/0")
    assert code == 1
    assert "cannot connect to redis://127.0.0.1" in _lines(out, "ERROR", "redis")[0]


def test_migrations_behind_warn_and_unknown_revision_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import sqlite3

    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    code, out = _check(capsys, "--database", f"sqlite:///{path}", "--public-url", "https://d.example.com")
    assert code == 0
    from alembic.script import ScriptDirectory

    from smsdesk.store.migrate import alembic_config

    (head,) = ScriptDirectory.from_config(alembic_config()).get_heads()  # one line of revisions
    assert f"head is {head}" in _lines(out, "WARN", "migrations")[0]
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
    code, out = _check(capsys, "--database", f"sqlite:///{path}", "--public-url", "https://d.example.com")
    assert code == 1
    assert "migrated by a newer smsdesk" in _lines(out, "ERROR", "migrations")[0]


def test_good_sqlite_config_passes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "smsdesk.toml"
    config.write_text(
        f'[smsdesk]\ndatabase_url = "{_migrated_sqlite(tmp_path)}"\npublic_url = "https://desk.example.com"\n'
        f'[sms]\ntwilio_account_sid = "{GOOD_SID}"\ntwilio_auth_token = "{GOOD_TOKEN}"\n'
        'twilio_numbers = ["+15550100"]\ntwilio_public_url = "https://desk.example.com"\n',
        encoding="utf-8",
    )
    code, out = _check(capsys, "--config", str(config))
    assert code == 0, out
    assert out.rstrip().endswith("0 problems, 0 warnings")
    for what in ("settings", "database", "migrations", "redis", "public_url", "twilio"):
        assert _lines(out, "ok", what), (what, out)


def test_good_postgresql_and_redis_config_passes(
    capsys: pytest.CaptureFixture[str], postgres_database: str
) -> None:
    require("redis", REDIS_URL, 6379)
    code, out = _check(
        capsys,
        "--database",
        postgres_database,
        "--redis",
        REDIS_URL,
        "--public-url",
        "https://desk.example.com",
    )
    assert code == 0, out
    assert "PostgreSQL" in _lines(out, "ok", "database")[0]
    assert "at head" in _lines(out, "ok", "migrations")[0]
    assert "Redis" in _lines(out, "ok", "redis")[0]


def test_redact_hides_only_the_password() -> None:
    assert redact("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("redis://h:6379/0") == "redis://h:6379/0"


def test_twilio_without_its_public_url_warns(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "smsdesk.toml"
    config.write_text(
        f'database_url = "{_migrated_sqlite(tmp_path)}"\npublic_url = "https://desk.example.com"\n'
        f'[sms]\ntwilio_account_sid = "{GOOD_SID}"\ntwilio_auth_token = "{GOOD_TOKEN}"\n',
        encoding="utf-8",
    )
    code, out = _check(capsys, "--config", str(config))
    assert code == 0
    assert "SMSDESK_TWILIO_PUBLIC_URL is not set" in _lines(out, "WARN", "twilio")[0]
