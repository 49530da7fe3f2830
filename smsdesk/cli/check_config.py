"""``smsdesk check-config [--config FILE]``: what a start would find, checked before starting.

Loads the settings (file, environment, flags), connects to the database and to Redis, reads the migrations'
state (the database's revision against the code's head), checks the SMS providers' settings and credentials'
format and the public URL, and prints one line per check. Exit status: 0 when nothing is wrong (warnings
allowed), 1 when a check failed, so it fits a container's entrypoint: ``smsdesk check-config && smsdesk serve``.
It writes nothing: a SQLite file that does not exist yet is reported, not created.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from smsdesk import __version__
from smsdesk.config import ConfigError, Settings, load_settings, sms_environ

__all__ = ["Finding", "check_config", "check_public_url", "check_twilio_format", "redact"]

TIMEOUT_S = 10.0
_TWILIO_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_TWILIO_TOKEN = re.compile(r"[0-9a-fA-F]{32}")
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


@dataclass(frozen=True, slots=True)
class Finding:
    level: str  # "ok" | "warn" | "error"
    what: str
    detail: str

    def line(self) -> str:
        label = {"ok": "ok", "warn": "WARN", "error": "ERROR"}[self.level]
        return f"  {label:6} {self.what:12} {self.detail}"


def ok(what: str, detail: str) -> Finding:
    return Finding("ok", what, detail)


def warn(what: str, detail: str) -> Finding:
    return Finding("warn", what, detail)


def error(what: str, detail: str) -> Finding:
    return Finding("error", what, detail)


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***`` (database and Redis URLs may carry one)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ---- the public URL ----


def check_public_url(settings: Settings) -> Finding:
    if not settings.public_url:
        return warn(
            "public_url",
            f"not set: `uri` fields and webhook URLs use {settings.base_url}; behind a balancer set "
            "public_url (SMSDESK_PUBLIC_URL) to the address clients use, e.g. https://desk.example.com",
        )
    url = settings.public_url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return error("public_url", f"{url!r} is not an absolute http:// or https:// URL")
    if parts.query or parts.fragment:
        return error("public_url", f"{url!r} must not have a query or a fragment")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        return warn("public_url", f"{url} is plain http: terminate TLS at the balancer and use https://")
    return ok("public_url", url)


# ---- SMS providers ----


def check_twilio_format(account_sid: str, auth_token: str) -> list[str]:
    """What is wrong with the format of Twilio credentials (empty when nothing is)."""
    problems = []
    if not _TWILIO_SID.fullmatch(account_sid):
        shown = account_sid if len(account_sid) <= 40 else account_sid[:40] + "…"
        problems.append(
            f"SMSDESK_TWILIO_ACCOUNT_SID {shown!r} is not an Account SID: 'AC' followed by 32 hexadecimal digits"
        )
    if not _TWILIO_TOKEN.fullmatch(auth_token):
        problems.append(
            f"SMSDESK_TWILIO_AUTH_TOKEN is not 32 hexadecimal digits (it is {len(auth_token)} characters long)"
        )
    return problems


def check_providers(settings: Settings, env: Mapping[str, str]) -> list[Finding]:
    from smsdesk.sms.config import ConfigError as SmsConfigError
    from smsdesk.sms.config import SmsSettings

    try:
        sms = SmsSettings.from_env(env)
    except SmsConfigError as exc:
        return [error("sms", str(exc))]
    out: list[Finding] = []
    if sms.simulator.enabled:
        out.append(ok("simulator", "enabled (SMSDESK_SIMULATOR_ENABLED=0 switches it off)"))
    if sms.twilio is not None:
        tw = sms.twilio
        problems = check_twilio_format(tw.account_sid, tw.auth_token)
        out += [error("twilio", p) for p in problems]
        if not problems:
            numbers = ", ".join(tw.numbers) or "none bound (SMSDESK_TWILIO_NUMBERS)"
            out.append(ok("twilio", f"account {tw.account_sid[:6]}…, numbers: {numbers}"))
        if not tw.public_url:
            out.append(
                warn(
                    "twilio",
                    "SMSDESK_TWILIO_PUBLIC_URL is not set: no delivery-status callbacks, and webhook signatures "
                    "are checked against the URL the node sees, which behind a balancer is not the one Twilio "
                    "signed (every webhook would be refused)",
                )
            )
    if sms.smpp is not None:
        sm = sms.smpp
        numbers = ", ".join(sm.numbers) or "none bound (SMSDESK_SMPP_NUMBERS)"
        out.append(ok("smpp", f"{sm.host}:{sm.port} as {sm.system_id!r}, numbers: {numbers}"))
    if not out:
        out.append(warn("sms", "no SMS provider is active: no SMS can come in or go out"))
    return out


# ---- database, migrations, Redis ----


def _sqlite_file(url: str) -> Path | None:
    from smsdesk.store.engines.sqlite import is_memory

    if is_memory(url):
        return None
    return Path(url.split(":///", 1)[-1])


async def check_database(settings: Settings) -> list[Finding]:
    from smsdesk.store.sql import create_store

    url = settings.database_url
    shown = redact(url)
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path is not None and not path.exists():
            if not path.parent.is_dir():
                return [error("database", f"{shown}: the directory {path.parent.resolve()} does not exist")]
            return [
                warn("database", f"{shown}: {path.resolve()} does not exist yet (the first start creates it)")
            ]
    try:
        store = create_store(url)
    except Exception as exc:
        return [error("database", f"{shown}: {_why(exc)}")]
    try:
        server, current = await asyncio.wait_for(store.run_write(_inspect), TIMEOUT_S)
    except TimeoutError:
        return [error("database", f"{shown}: no answer within {TIMEOUT_S:.0f} s")]
    except Exception as exc:
        return [error("database", f"cannot connect to {shown}: {_why(exc)}")]
    finally:
        with contextlib.suppress(Exception):  # closing a store that never connected
            await store.close()
    return [ok("database", f"{shown}: {server}"), _migrations(current)]


def _inspect(conn: Any) -> tuple[str, tuple[str, ...]]:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import text

    if conn.dialect.name == "postgresql":
        server = str(conn.execute(text("SHOW server_version")).scalar())
        server = f"PostgreSQL {server} answers"
    else:
        server = f"SQLite {conn.execute(text('SELECT sqlite_version()')).scalar()} opens it"
    current = tuple(MigrationContext.configure(conn).get_current_heads())
    return server, current


def _migrations(current: tuple[str, ...]) -> Finding:
    from alembic.script import ScriptDirectory

    from smsdesk.store.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    heads = tuple(script.get_heads())
    known = {rev.revision for rev in script.walk_revisions()}
    if set(current) == set(heads):
        return ok("migrations", f"at head {', '.join(heads)}")
    unknown = [rev for rev in current if rev not in known]
    if unknown:
        return error(
            "migrations",
            f"the database is at {', '.join(unknown)}, which this version ({__version__}) does not know: "
            "it was migrated by a newer smsdesk",
        )
    at = ", ".join(current) or "empty (no revision)"
    return warn(
        "migrations", f"{at}, head is {', '.join(heads)}: `smsdesk migrate` (or the next start) upgrades it"
    )


async def check_redis(settings: Settings) -> Finding:
    if not settings.redis_url:
        return ok("redis", "not set: the in-process bus (one node; set redis_url to run several nodes)")
    import redis.asyncio as aioredis

    shown = redact(settings.redis_url)
    try:
        client = aioredis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S
        )
    except Exception as exc:
        return error("redis", f"{shown}: {_why(exc)}")
    try:
        info = await asyncio.wait_for(client.info("server"), TIMEOUT_S)
    except Exception as exc:
        return error("redis", f"cannot connect to {shown}: {_why(exc)}")
    finally:
        await client.aclose()
    return ok("redis", f"{shown}: Redis {info.get('redis_version', '?')} answers")


# ---- all of it ----


async def run_checks(settings: Settings, sms_env: Mapping[str, str]) -> list[Finding]:
    database, redis_finding = await asyncio.gather(check_database(settings), check_redis(settings))
    return [*database, redis_finding, check_public_url(settings), *check_providers(settings, sms_env)]


def check_config(config_file: str | None, overrides: Mapping[str, Any], environ: Mapping[str, str]) -> int:
    """Print what the checks found; 1 when one failed, else 0."""
    print(f"smsdesk {__version__} check-config", flush=True)
    source = config_file or environ.get("SMSDESK_CONFIG")
    try:
        settings = load_settings(config_file, environ, **overrides)
        sms_env = sms_environ(config_file, environ)
    except ConfigError as exc:
        print(error("settings", str(exc)).line())
        print("1 problem: fix the settings first")
        return 1
    findings = [ok("settings", f"from {source or 'defaults'}, environment (SMSDESK_*) and flags")]
    findings += asyncio.run(run_checks(settings, sms_env))
    for finding in findings:
        print(finding.line())
    errors = sum(f.level == "error" for f in findings)
    warnings = sum(f.level == "warn" for f in findings)
    print(f"{errors} problem{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
    return 1 if errors else 0
