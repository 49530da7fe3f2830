"""``smsdesk serve | demo | migrate | check-config | users add | users list | bench``, ``smsdesk --version``.

Settings come from ``--config FILE`` (TOML), then ``SMSDESK_*`` environment variables, then flags.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from smsdesk import __version__
from smsdesk.cli.records import add_report_parser, run_erase, run_report
from smsdesk.config import ConfigError, Settings, load_settings
from smsdesk.domain.errors import GwsError
from smsdesk.logs import log_options

__all__ = ["WS_MAX_FRAME", "main"]

WS_MAX_FRAME = 512 * 1024  # above CometD's max_message_bytes (256 KB), which answers a large frame itself


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML config file (also SMSDESK_CONFIG)")
    p.add_argument(
        "--database", dest="database_url", help="sqlite:///FILE or postgresql://... (SMSDESK_DATABASE_URL)"
    )


def _server(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument("--host", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 8080)")
    p.add_argument(
        "--redis", dest="redis_url", help="redis://host:port/db for several nodes (SMSDESK_REDIS_URL)"
    )
    p.add_argument("--public-url", dest="public_url", help="external base URL used in `uri` fields")
    p.add_argument(
        "--workers", type=int, help="worker processes on the one port, e.g. one per core (SMSDESK_WORKERS)"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smsdesk", description="SMS contact-center server (GWS v2 SMS API)")
    parser.add_argument("--version", action="version", version=f"smsdesk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _server(sub.add_parser("serve", help="run the server"))
    _server(sub.add_parser("demo", help="run the server with demo users and the SMS simulator"))
    _common(sub.add_parser("migrate", help="apply database migrations"))
    check = sub.add_parser(
        "check-config", help="check the settings, database, Redis, SMS providers, public URL and migrations"
    )
    _server(check)
    users = sub.add_parser("users", help="manage users").add_subparsers(dest="users_command", required=True)
    add = users.add_parser("add", help="create a user")
    _common(add)
    add.add_argument("name")
    add.add_argument("--password", required=True)
    add.add_argument("--role", action="append", choices=["agent", "supervisor", "admin"], required=True)
    add.add_argument("--nickname", default="")
    add.add_argument("--capacity", type=int, default=0)
    add.add_argument("--email", default="", help="the user's emailAddress (GET /api/v2/me)")
    add.add_argument(
        "--skill",
        action="append",
        default=[],
        metavar="NAME:LEVEL",
        help="a skill of the user, e.g. billing:5 (repeatable; docs/routing.md)",
    )
    _common(users.add_parser("list", help="list users"))
    sub.add_parser("bench", help="benchmark harness (smsdesk bench --help)", add_help=False)
    erase = sub.add_parser("erase", help="erase a customer's sessions, transcripts and history")
    _common(erase)
    erase.add_argument("--number", required=True, help="the customer's number, E.164 (+15551230001)")
    erase.add_argument("--actor", default="cli", help="who asks, for the audit log (default: cli)")
    report = sub.add_parser("report", help="statistics over a period, as CSV or JSON")
    _common(report)
    add_report_parser(report)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        args.config,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        database_url=args.database_url,
        redis_url=getattr(args, "redis_url", None),
        public_url=getattr(args, "public_url", None),
        workers=getattr(args, "workers", None),
    )


def _describe_database(url: str) -> str:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        return f"SQLite file {Path(path).resolve()}"
    return "PostgreSQL " + url.split("@")[-1]


def announce(settings: Settings, *, demo: bool) -> None:
    """The banner: where the server is, and for the demo, its pages and logins."""
    from smsdesk.demo import DEMO_PASSWORD, DEMO_USERS

    base = settings.base_url
    print(f"smsdesk on {base}  (database: {_describe_database(settings.database_url)})", flush=True)
    if demo:
        print(f"  agent desktop      {base}/", flush=True)
        print(f"  supervisor console {base}/supervisor", flush=True)
        print(f"  customer phone     {base}/simulator", flush=True)
        print(f"  API docs           {base}/api/docs", flush=True)
        logins = ", ".join(name for name, _, _ in DEMO_USERS)
        print(f"  logins: {logins} (password '{DEMO_PASSWORD}')", flush=True)
    if settings.workers > 1:
        print(f"  {settings.workers} worker processes (docs/deployment.md)", flush=True)


def _serve(settings: Settings, *, demo: bool, config_file: str | None = None) -> int:
    if settings.workers > 1:  # before importing the app: the supervisor process stays small
        from smsdesk.cli.processes import serve_workers

        return serve_workers(settings, demo=demo, config_file=config_file)

    import uvicorn

    from smsdesk.app import build_app
    from smsdesk.cli.heap import settle_heap
    from smsdesk.cli.http_protocol import OneWriteHttpProtocol
    from smsdesk.config import sms_environ
    from smsdesk.sms.config import SmsSettings

    app = build_app(settings, seed_demo=demo, sms=SmsSettings.from_env(sms_environ(config_file), demo=demo))
    announce(settings, demo=demo)
    settle_heap()  # the startup heap out of the collector's reach, and its thresholds (cli/heap.py)
    # websockets-sansio: a third of wsproto's CPU per frame written. No permessage-deflate: browsers always
    # offer it, and its zlib state costs about 37 KB per connected client (docs/notifications.md).
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_max_size=WS_MAX_FRAME,  # a frame is refused when it passes CometD's limit, not buffered to 16 MB
        http=OneWriteHttpProtocol,  # a response in one write, not two (cli/http_protocol.py)
        **log_options(settings),
    )
    return 0


async def _migrate(settings: Settings) -> None:
    from smsdesk.store.migrate import migrate
    from smsdesk.store.sql import create_store

    store = create_store(settings.database_url)
    try:
        await migrate(store)
    finally:
        await store.close()


async def _users(args: argparse.Namespace, settings: Settings) -> int:
    from smsdesk.actions.skills import parse_skill
    from smsdesk.actions.users import do_create_user
    from smsdesk.app import build_runtime
    from smsdesk.domain.users import Role
    from smsdesk.store.migrate import migrate

    rt = build_runtime(settings)
    try:
        await migrate(rt.store)
        if args.users_command == "add":
            roles = [Role.parse(r) for r in args.role]
            skills = [parse_skill(s) for s in args.skill]  # all checked before the user is created
            user = await do_create_user(
                rt,
                args.name,
                args.password,
                roles,
                nickname=args.nickname,
                capacity=args.capacity,
                email_address=args.email,
            )
            for name, level in skills:
                await rt.store.set_skill(user.id, name, level)
            held = "".join(f" {n}:{lv}" for n, lv in skills)
            print(
                f"created {user.user_name} ({user.id}) roles={','.join(sorted(r.value for r in user.roles))}"
                + (f" skills={held.strip()}" if held else "")
            )
        else:
            for u in await rt.store.list_users():
                role_names = ",".join(sorted(r.value for r in u.roles))
                state = "enabled" if u.enabled else "disabled"
                print(f"{u.user_name:20} {u.id}  {role_names}  {state}  {u.email_address}".rstrip())
    finally:
        await rt.store.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # the harness has its own parser: smsdesk/bench/cli.py
        from smsdesk.bench.cli import main as bench_main

        return bench_main(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "check-config":  # reports bad settings itself, one line per check
        from smsdesk.cli.check_config import check_config

        overrides = {k: v for k, v in vars(args).items() if k not in ("command", "config")}
        return check_config(args.config, overrides, os.environ)
    try:
        settings = _settings(args)
        if args.command in ("serve", "demo"):
            return _serve(settings, demo=args.command == "demo", config_file=args.config)
        if args.command == "erase":
            return asyncio.run(run_erase(args, settings))
        if args.command == "report":
            return asyncio.run(run_report(args, settings))
        if args.command == "migrate":
            asyncio.run(_migrate(settings))
            print(f"migrated {_describe_database(settings.database_url)}")
            return 0
        return asyncio.run(_users(args, settings))
    except (ConfigError, GwsError, ValueError) as exc:
        print(f"smsdesk: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
