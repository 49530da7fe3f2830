"""The server under test: seed users, run ``smsdesk serve`` as a child process, watch it, stop it.

Users are created before the server starts with the same use case as ``smsdesk users add``
(``actions.users.do_create_user``), in one process, with the low-cost Argon2 parameters the test suite uses
(``Passwords(fast=True)``). Argon2 stores its parameters in each hash, so the real server verifies these
hashes at their own (low) cost; with the production parameters, creating and logging in 1,100 users would
take about 15 minutes on 2 cores and measure nothing of interest. Authentication is a one-off per client
(the load generator then uses the ``JSESSIONID`` cookie), so this does not change the measured hot path.

The server process is exactly ``python -m smsdesk serve --database URL --port P [--redis URL] [--workers N]``
with ``SMSDESK_LOG_LEVEL=warning`` (no per-request access log, as in a tuned deployment) and the simulator
switched on (``SMSDESK_SIMULATOR_ENABLED=1``: the load generator, logged in as an admin, plays the customers). ``--workers`` is
passed only when N > 1, and ``SMSDESK_WORKERS`` is taken out of the child's environment, so the server runs
exactly the number of workers the results record. With N > 1 the process is uvicorn's supervisor and the
workers are its children: the server is ready when ``/health`` answers and N processes of its tree serve the
port (``listeners.py``); ``stop`` ends whatever of the tree is left once the supervisor is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from smsdesk.bench.http import HttpConnection, HttpError
from smsdesk.bench.listeners import serving_pids
from smsdesk.bench.procstat import ProcInfo, ProcUnavailable, read_process, read_tree, tree_pids

__all__ = ["BenchUser", "Population", "ServerError", "ServerProcess", "free_port", "seed_users"]

PASSWORD = "bench-password"


class ServerError(Exception):
    """The server under test did not start, or died."""


@dataclass(frozen=True, slots=True)
class BenchUser:
    name: str
    id: str


@dataclass(frozen=True, slots=True)
class Population:
    agents: list[BenchUser] = field(default_factory=list)
    supervisors: list[BenchUser] = field(default_factory=list)
    password: str = PASSWORD
    admin: BenchUser | None = None  # drives the SMS simulator, which `smsdesk serve` opens to admins only


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def seed_users(
    database_url: str,
    *,
    agents: int,
    supervisors: int,
    capacity: int = 0,
    skills: Callable[[int], dict[str, int]] | None = None,
) -> Population:
    """Create ``agents`` agents and ``supervisors`` supervisors with fresh names (``b<tag>a<i>``); agent i
    holds ``skills(i)`` (the queues variant, ``bench/queues.py``)."""
    from smsdesk.actions.users import do_create_user
    from smsdesk.app import build_runtime
    from smsdesk.config import Settings
    from smsdesk.domain.users import Role
    from smsdesk.store.migrate import migrate

    if agents < 0 or supervisors < 0:
        raise ValueError("user counts must be >= 0")
    rt = build_runtime(Settings(database_url=database_url), fast_hash=True)
    tag = secrets.token_hex(3)
    try:
        await migrate(rt.store)
        made: dict[str, list[BenchUser]] = {"a": [], "s": []}
        for kind, count, role in (("a", agents, Role.AGENT), ("s", supervisors, Role.SUPERVISOR)):
            for i in range(count):
                user = await do_create_user(rt, f"b{tag}{kind}{i}", PASSWORD, [role], capacity=capacity)
                made[kind].append(BenchUser(user.user_name, user.id))
                if kind == "a" and skills is not None:
                    for name, level in skills(i).items():
                        await rt.store.set_skill(user.id, name, level)
        admin = await do_create_user(rt, f"b{tag}admin", PASSWORD, [Role.ADMIN])
    finally:
        await rt.store.close()
    return Population(made["a"], made["s"], admin=BenchUser(admin.user_name, admin.id))


class ServerProcess:
    """``smsdesk serve`` on 127.0.0.1:<port> with its log in ``workdir/server.log``."""

    def __init__(
        self,
        workdir: Path,
        *,
        database_url: str | None = None,
        redis_url: str | None = None,
        port: int | None = None,
        wrapper: list[str] | None = None,
        workers: int = 1,
        env: dict[str, str] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.extra_env = env or {}  # more settings for the server (e.g. the queues variant's)
        self.workdir = workdir
        self.database_url = database_url or f"sqlite:///{workdir / 'bench.db'}"
        self.redis_url = redis_url
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.wrapper = wrapper or []  # e.g. a profiler command that runs the server
        self.log_path = workdir / "server.log"
        self._proc: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise ServerError("server not started")
        return self._proc.pid

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "smsdesk", "serve", "--database", self.database_url]
        cmd += ["--host", self.host, "--port", str(self.port)]
        if self.redis_url:
            cmd += ["--redis", self.redis_url]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        return [*self.wrapper, *cmd]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "SMSDESK_WORKERS"}
        # the customers' side is the simulator, off in `smsdesk serve` unless switched on (docs/security.md)
        return env | {"SMSDESK_LOG_LEVEL": "warning", "SMSDESK_SIMULATOR_ENABLED": "1"} | self.extra_env

    def log_tail(self, chars: int = 2000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    async def start(self, timeout_s: float = 60.0) -> None:
        self._log = self.log_path.open("wb")
        self._proc = await asyncio.create_subprocess_exec(
            *self.command(), stdout=self._log, stderr=asyncio.subprocess.STDOUT, env=self.environment()
        )
        deadline = time.monotonic() + timeout_s
        healthy, serving = False, 0
        while True:
            if self._proc.returncode is not None:
                raise ServerError(f"server exited with {self._proc.returncode}:\n{self.log_tail()}")
            healthy = healthy or await self._healthy()
            if healthy:
                serving = self._serving()
                if serving >= self.workers:
                    return
            if time.monotonic() > deadline:
                state = f"{serving} of {self.workers} workers serving" if healthy else "/health not answered"
                raise ServerError(f"server not ready after {timeout_s:.0f} s ({state}):\n{self.log_tail()}")
            await asyncio.sleep(0.1)

    async def _healthy(self, timeout_s: float = 2.0) -> bool:
        """One ``GET /health`` on a fresh connection. A supervisor's socket accepts connections before a
        worker takes them: an answer that does not come in time counts as not ready yet."""
        conn = HttpConnection(self.host, self.port)
        try:
            return (await asyncio.wait_for(conn.request("GET", "/health"), timeout_s)).status == 200
        except (HttpError, OSError, TimeoutError):
            return False
        finally:
            await conn.close()

    def _serving(self) -> int:
        """How many processes of the server's tree serve the port (1 without workers: it answered)."""
        if self.workers == 1:
            return 1
        with contextlib.suppress(ProcUnavailable):
            return len(serving_pids(tree_pids(self.pid), self.port) or ())
        return 0

    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            descendants: tuple[ProcInfo, ...] = ()
            with contextlib.suppress(ProcUnavailable):
                descendants = read_tree(proc.pid)[1:]
            proc.send_signal(signal.SIGINT)  # the supervisor passes it on to its workers and waits for them
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
            _kill_leftovers(descendants)
        if self._log is not None:
            self._log.close()
            self._log = None


def _kill_leftovers(processes: tuple[ProcInfo, ...]) -> None:
    """SIGKILL those of ``processes`` still alive (same pid and start time): workers orphaned when their
    supervisor had to be killed would hold the port and a core."""
    for p in processes:
        now = read_process(p.pid)
        if now is not None and now.start == p.start:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)
