"""A real ``smsdesk serve`` / ``smsdesk demo`` process on a free loopback port, and raw HTTP helpers to attack
it with (chunked floods, requests whose body is never sent)."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.serving import free_port, wait_serving

PASSWORD = "password"


def basic(user: str, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


_SEED = """
import asyncio, sys
from smsdesk.actions.users import do_create_user
from smsdesk.app import build_runtime
from smsdesk.config import Settings
from smsdesk.domain.users import Role
from smsdesk.store.migrate import migrate

async def seed(url, pairs):
    rt = build_runtime(Settings(database_url=url), fast_hash=True)
    try:
        await migrate(rt.store)
        for pair in pairs:
            name, role = pair.split(":")
            await do_create_user(rt, name, sys.argv[1], [Role.parse(role)], capacity=3)
    finally:
        await rt.store.close()

asyncio.run(seed(sys.argv[2], sys.argv[3:]))
"""


def _seed(database_url: str, users: Sequence[tuple[str, str]], env: Mapping[str, str], cwd: Path) -> None:
    """Users created by the server's own code in a child process (cheap hashes), before it starts."""
    pairs = [f"{name}:{role}" for name, role in users]
    cmd = [sys.executable, "-c", _SEED, PASSWORD, database_url, *pairs]
    subprocess.run(cmd, env=dict(env), cwd=cwd, check=True, timeout=120, capture_output=True)


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v2/notifications"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def rss_kb(self) -> int:
        """Resident memory of the server process (one process: no ``--workers``)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


@contextmanager
def served(
    tmp_path: Path,
    command: str = "serve",
    *,
    users: Sequence[tuple[str, str]] = (),
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    port: int | None = None,
) -> Iterator[Served]:
    """``smsdesk <command>`` on a free port over a fresh SQLite file; ``users``: (name, role) created first
    (password ``password``, cheap hashes)."""
    database = f"sqlite:///{tmp_path / f'{command}.db'}"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("SMSDESK_")}
    child_env |= {"SMSDESK_LOG_LEVEL": "warning", **(env or {})}
    if users:
        _seed(database, users, child_env, tmp_path)
    port = port or free_port()
    log = tmp_path / f"{command}-{port}.log"
    cmd = [sys.executable, "-m", "smsdesk", command, "--port", str(port), "--database", database, *args]
    with log.open("wb") as out:  # run from tmp_path: the installed package, not the current directory's
        proc = subprocess.Popen(cmd, env=child_env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    server = Served(proc, port, log)
    try:
        wait_serving(server.url, proc, log)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _read_response(sock: socket.socket, timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body[:length]


def chunked_flood(
    port: int, path: str, headers: Mapping[str, str], total: int, chunk: int = 256 * 1024
) -> tuple[int, bytes, int]:
    """POST a chunked body of up to ``total`` bytes, stopping as soon as the server answers (or closes):
    (status, body, bytes sent)."""
    import select

    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode())
        piece = f"{chunk:x}\r\n".encode() + b"[" * chunk + b"\r\n"
        sent = 0
        try:
            while sent < total:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(piece)
                sent += chunk
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _, body = _read_response(sock)
        return status, body, sent
    finally:
        sock.close()


def unsent_body(
    port: int, path: str, headers: Mapping[str, str], declared: int
) -> tuple[int, dict[str, str], bytes]:
    """Send a request's head declaring ``declared`` bytes of body, send none of it, and read the answer: a
    server that reads bodies first would wait (and this would time out)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {declared}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode())
        return _read_response(sock, timeout=20)
    finally:
        sock.close()
