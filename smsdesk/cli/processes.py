"""``smsdesk serve --workers N``: N worker processes of one node on one port.

The serve process has a short-lived child prepare the database once (migrations, demo data: the supervisor
itself never imports the app, and stays small), makes a private directory for the workers' Unix sockets, then
hands over to uvicorn's process supervisor, which binds the port, spawns N workers,
replaces a worker that dies and stops them all on SIGINT or SIGTERM. Each worker imports ``worker_app`` and
builds its own app as a ``Worker`` named after its pid: a ``PeerBus`` carries the hints between the workers
(unless Redis is configured, which carries them between nodes and so between workers too), and long-polling
requests that land on a worker other than the one holding their client are relayed to it
(``smsdesk/notify/relay.py``). Everything else the workers share is the database. docs/deployment.md.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import sys
import tempfile
from pathlib import Path

from starlette.types import ASGIApp

from smsdesk.config import Settings
from smsdesk.logs import log_options

__all__ = ["serve_workers", "worker_app"]

ENV_SETTINGS = "SMSDESK_WORKER_SETTINGS"  # the serve process's Settings, as JSON
ENV_DIRECTORY = "SMSDESK_WORKER_DIRECTORY"  # where the workers' Unix sockets live
ENV_CONFIG = "SMSDESK_WORKER_CONFIG"  # the --config file, for the SMS providers' settings ("" for none)
ENV_DEMO = "SMSDESK_WORKER_DEMO"  # "1" for `smsdesk demo`: the simulator on and open, /metrics open


async def _prepare(settings: Settings, *, demo: bool) -> None:
    """What one process must do before the workers start: N workers migrating at once would race."""
    from smsdesk.app import build_runtime
    from smsdesk.store.migrate import migrate

    rt = build_runtime(settings)
    try:
        await migrate(rt.store)
        if demo:
            from smsdesk.demo import seed_demo_data

            await seed_demo_data(rt)
    finally:
        await rt.store.close()


def _prepare_in_child(settings_json: str, demo: bool) -> None:
    from smsdesk.cli.main import announce

    settings = Settings.model_validate_json(settings_json)
    asyncio.run(_prepare(settings, demo=demo))
    announce(settings, demo=demo)


def serve_workers(settings: Settings, *, demo: bool, config_file: str | None) -> int:
    import uvicorn

    from smsdesk.cli.http_protocol import OneWriteHttpProtocol
    from smsdesk.cli.main import WS_MAX_FRAME

    child = multiprocessing.get_context("spawn").Process(
        target=_prepare_in_child, args=(settings.model_dump_json(), demo), name="smsdesk-prepare"
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        print(f"smsdesk: preparing the database failed (exit code {child.exitcode})", file=sys.stderr)
        return 1
    directory = tempfile.mkdtemp(prefix="smsdesk-workers-")  # 0700: only this user reaches the sockets
    os.environ[ENV_SETTINGS] = settings.model_dump_json()
    os.environ[ENV_DIRECTORY] = directory
    os.environ[ENV_CONFIG] = config_file or ""
    os.environ[ENV_DEMO] = "1" if demo else ""
    # every worker writes its metrics to files here; a scrape on any worker adds them up (smsdesk/metrics.py)
    metrics = Path(directory) / "metrics"
    metrics.mkdir(mode=0o700)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    try:
        uvicorn.run(
            f"{__name__}:worker_app",
            factory=True,
            workers=settings.workers,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            ws="websockets-sansio",  # as in the one-process server (smsdesk/cli/main.py)
            ws_per_message_deflate=False,
            ws_max_size=WS_MAX_FRAME,
            http=OneWriteHttpProtocol,
            **log_options(settings),
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


def worker_app() -> ASGIApp:
    """The app of one worker process (uvicorn calls this in each worker)."""
    from smsdesk.app import Worker, build_app
    from smsdesk.cli.heap import settle_heap
    from smsdesk.config import sms_environ
    from smsdesk.sms.config import SmsSettings

    settings = Settings.model_validate_json(os.environ[ENV_SETTINGS])
    demo = os.environ.get(ENV_DEMO) == "1"
    sms = SmsSettings.from_env(sms_environ(os.environ.get(ENV_CONFIG) or None), demo=demo)
    worker = Worker(Path(os.environ[ENV_DIRECTORY]), f"w{os.getpid()}")
    app = build_app(settings, sms=sms, worker=worker, demo=os.environ.get(ENV_DEMO) == "1")
    settle_heap()  # as in the one-process server (cli/heap.py)
    return app
