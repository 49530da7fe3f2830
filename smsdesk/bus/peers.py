"""Hint bus between the worker processes of one node: AF_UNIX datagram sockets in a shared directory, no Redis.

Each process binds ``<directory>/<name>.bus``. ``publish`` serialises ``[topic, message]`` with orjson once,
hands the message to this process's own handlers (later, on the dispatcher task, like ``LocalBus``) and sends
the datagram to every other ``*.bus`` socket of the directory. Peers are listed at start and again at most every
``refresh_s``, at the next publish; a process that starts also greets the peers it lists (a ``HELLO_TOPIC``
datagram naming its socket), so that they send to it from their next publish on, not only after their next
listing (a hint published in between would reach every process but the new one: a logout that closed the
user's websockets on one worker only, seen under load). Delivery is at most once, like the other buses:
receivers catch up from the store. On start the bus hands its handlers a ``Resync`` (``smsdesk/bus/messages.py``), as ``RedisBus`` does
after a connect, and a second one once every peer has listed the directory again (``refresh_s`` later), so
that nothing published while the peers did not know this process yet stays unread.
Contract: ``smsdesk/bus/base.py``, tested by ``tests/bus/test_contract.py`` and ``tests/bus/test_peers.py``.

Why it is built this way (measured on Linux 6.x, ``net.unix.max_dgram_qlen`` = 10):

- A datagram socket queues at most ``max_dgram_qlen + 1`` = 11 datagrams from other sockets, whatever its
  ``SO_RCVBUF`` says (4 MB requested: still 11); the buffer sizes do not count for AF_UNIX receivers. A burst
  of 12 hints while a worker is busy would lose hints, and a lost hint waits for the hub's 5 s poll. So this bus
  connects one socket per peer: when a send says EAGAIN the hint waits in that peer's backlog, and the kernel
  wakes the writer when the peer has read (a connected datagram socket polls writable only while the peer has
  room). A backlog over ``MAX_BACKLOG_BYTES`` (a peer that stopped reading) collapses into one ``Resync`` per
  topic: hints are lost then, and the peer is told so. Sending on a connected socket also skips the path lookup
  of ``sendto``: 2.9 against 5.3 us per send and receive.
- The largest datagram is the sender's ``SO_SNDBUF`` less 32 bytes (212,960 at the default 212,992). Payloads
  are capped at ``MAX_DATAGRAM`` (64 KiB, about 2,500 user ids in an ``EventsAdvanced``); a larger one goes to
  the peers as a ``Resync`` on the same topic, and to this process's handlers whole. Each peer socket asks for
  a 1 MiB ``SO_SNDBUF`` (the kernel grants twice the request capped at ``net.core.wmem_max``: 2 MiB here,
  416 KiB on a stock kernel) so that several large datagrams can be in flight.
- The process's own handlers get the message without a socket: the same JSON round trip as ``LocalBus`` and
  the same cost (2.9 us per hint against 2.8), where a datagram to itself would cost about 12 us.

A peer whose socket refuses (its process is gone) is dropped; if a new process holds its path already, the hint
goes there instead. A leftover socket file nobody listens on is unlinked, unless it changed in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import math
import os
import socket
import stat
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import orjson

from smsdesk.bus.base import Handler
from smsdesk.bus.messages import Resync

__all__ = ["HELLO_TOPIC", "MAX_BACKLOG_BYTES", "MAX_DATAGRAM", "SUFFIX", "PeerBus"]

log = logging.getLogger(__name__)

SUFFIX = ".bus"
HELLO_TOPIC = "peerbus.hello"  # [topic, {"path": the new socket}], never handed to handlers
MAX_DATAGRAM = 64 * 1024  # payload cap; a larger message reaches peers as a Resync
MAX_BACKLOG_BYTES = 1 << 20  # per peer, while it does not read; beyond it the backlog collapses into Resyncs
SEND_BUFFER = 1 << 20  # SO_SNDBUF asked for each peer socket
RECEIVE_SIZE = 256 * 1024  # above any datagram a default-configured sender can send (212,960 bytes)
READ_BATCH = 256  # datagrams read per readiness callback before the loop gets a turn
LOG_EVERY_S = 5.0
_MAX_PATH = 107  # sun_path holds 108 bytes with the terminating NUL


class _Trouble:
    """Counts one kind of trouble and logs it at most once per ``LOG_EVERY_S``, with the count since."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.count = 0
        self._unlogged = 0
        self._logged_at = -math.inf

    def note(self, now: float, detail: str, count: int = 1) -> None:
        self.count += count
        self._unlogged += count
        if now - self._logged_at >= LOG_EVERY_S:
            log.warning("PeerBus: %s (%d since the last report): %s", self.what, self._unlogged, detail)
            self._logged_at = now
            self._unlogged = 0


@dataclass(eq=False)
class _Peer:
    path: str
    sock: socket.socket
    backlog: deque[tuple[str, bytes]] = field(default_factory=deque)  # (topic, payload) the kernel refused
    backlog_bytes: int = 0


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino, a.st_ctime_ns) == (b.st_dev, b.st_ino, b.st_ctime_ns)


def _unlink_if_unchanged(path: str, seen: os.stat_result) -> None:
    """Unlink ``path`` unless another process replaced it since ``seen`` (a worker restarting under its name)."""
    with contextlib.suppress(FileNotFoundError):
        if _same_file(os.lstat(path), seen):
            os.unlink(path)


def _connect(path: str) -> socket.socket | None:
    """A non-blocking socket connected to the peer at ``path``, or None when no process listens there.

    A socket file that refuses is a dead process's leftover: it is unlinked. Files that are not sockets are
    left alone. Other errors (permissions) are raised.
    """
    try:
        seen = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISSOCK(seen.st_mode):
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        sock.connect(path)  # immediate for a datagram socket
        sock.setblocking(False)
    except ConnectionRefusedError:
        sock.close()
        _unlink_if_unchanged(path, seen)
        return None
    except FileNotFoundError:
        sock.close()
        return None
    except BaseException:
        sock.close()
        raise
    return sock


def _bind(path: str) -> socket.socket:
    """Bind a non-blocking datagram socket at ``path``, replacing a dead process's leftover."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        try:
            sock.bind(path)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            live = _connect(path)
            if live is not None:
                live.close()
                raise RuntimeError(
                    f"PeerBus: {path} belongs to a live process; name each worker apart"
                ) from exc
            sock.bind(path)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class PeerBus:
    def __init__(
        self,
        directory: str | os.PathLike[str],
        name: str,
        *,
        refresh_s: float = 0.5,
        max_datagram: int = MAX_DATAGRAM,
        max_pending: int = 10_000,
    ) -> None:
        if not name or name in (".", "..") or "/" in name or "\0" in name:
            raise ValueError(f"PeerBus: {name!r} is not a usable socket name")
        self._directory = os.fspath(directory)
        self._path = os.path.join(self._directory, name + SUFFIX)
        if len(os.fsencode(self._path)) > _MAX_PATH:
            raise ValueError(
                f"PeerBus: {self._path} is longer than the {_MAX_PATH} bytes a socket path holds"
            )
        self._refresh_s = refresh_s
        self._max_datagram = max_datagram
        self._max_pending = max_pending
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._inbox: deque[tuple[str, dict[str, Any]]] = deque()
        self._wake = asyncio.Event()
        self._peers: dict[str, _Peer] = {}
        self._resyncs: dict[str, bytes] = {}  # topic -> its Resync datagram
        self._listed_at = -math.inf
        self._buffer = bytearray(RECEIVE_SIZE)
        self._view = memoryview(self._buffer)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sock: socket.socket | None = None
        self._bound: os.stat_result | None = None
        self._task: asyncio.Task[None] | None = None
        self._later: asyncio.TimerHandle | None = None
        self._closed = False
        self._lost = _Trouble("hints lost")
        self._oversized = _Trouble("messages too large for a datagram, sent to the peers as a resync")
        self._bad = _Trouble("bad datagrams dropped")
        self._unreachable = _Trouble("peers that cannot be reached")

    @property
    def path(self) -> str:
        """This process's socket: ``<directory>/<name>.bus``."""
        return self._path

    @property
    def lost(self) -> int:
        """Hints lost: for one peer (collapsed backlog, kernel out of buffers) or here (inbox full)."""
        return self._lost.count

    @property
    def oversized(self) -> int:
        return self._oversized.count

    @property
    def bad_datagrams(self) -> int:
        return self._bad.count

    def peers(self) -> list[str]:
        """The socket paths of the other processes this bus sends to, as last listed."""
        return sorted(self._peers)

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic].append(handler)

    async def start(self) -> None:
        if self._closed:
            raise RuntimeError("PeerBus: cannot start a closed bus")
        if self._task is not None:
            return
        loop = self._loop = asyncio.get_running_loop()
        os.makedirs(self._directory, mode=0o700, exist_ok=True)
        self._sock = _bind(self._path)
        self._bound = os.lstat(self._path)
        loop.add_reader(self._sock.fileno(), self._on_readable)
        self._task = loop.create_task(self._dispatch(), name="PeerBus.dispatch")
        self._refresh(loop.time())
        hello = orjson.dumps([HELLO_TOPIC, {"path": self._path}])
        for peer in list(self._peers.values()):
            self._send(peer, HELLO_TOPIC, hello)
        self._resync()
        # Peers list the directory at most refresh_s apart: after that, every hint reaches this process.
        self._later = loop.call_later(self._refresh_s + 0.1, self._resync)

    async def close(self) -> None:
        self._closed = True
        if self._later is not None:
            self._later.cancel()
        for peer in list(self._peers.values()):
            self._forget(peer)
        sock, self._sock = self._sock, None
        if sock is not None and self._loop is not None:
            self._loop.remove_reader(sock.fileno())
            sock.close()
            if self._bound is not None:
                _unlink_if_unchanged(self._path, self._bound)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        if self._task is None or self._closed or self._loop is None:
            raise RuntimeError("PeerBus: publish before start() or after close()")
        payload = orjson.dumps([topic, message])  # raises TypeError for non-JSON values, like the others
        if self._handlers.get(topic):
            self._deliver(topic, orjson.loads(payload)[1])
        now = self._loop.time()
        if now - self._listed_at >= self._refresh_s:
            self._refresh(now)
        if len(payload) > self._max_datagram:
            self._oversized.note(now, f"{len(payload)} bytes on {topic}, the limit is {self._max_datagram}")
            payload = self._resync_payload(topic)
        for peer in list(self._peers.values()):
            self._send(peer, topic, payload)

    # --- sending ------------------------------------------------------------------------------------------

    def _send(self, peer: _Peer, topic: str, payload: bytes) -> None:
        if peer.backlog:
            self._enqueue(peer, topic, payload)
            return
        try:
            peer.sock.send(payload)
        except BlockingIOError:  # the peer's queue is full (11 datagrams): wait until it reads
            self._enqueue(peer, topic, payload)
            assert self._loop is not None
            self._loop.add_writer(peer.sock.fileno(), self._flush, peer)
        except ConnectionRefusedError:  # its process is gone; a new one may hold the path already
            fresh = self._replace(peer)
            if fresh is not None:
                self._send(fresh, topic, payload)
        except OSError as exc:  # ENOBUFS: the kernel is short of memory
            self._lost.note(self._now(), f"sending to {peer.path}: {exc}")

    def _enqueue(self, peer: _Peer, topic: str, payload: bytes) -> None:
        if peer.backlog_bytes + len(payload) <= MAX_BACKLOG_BYTES:
            peer.backlog.append((topic, payload))
            peer.backlog_bytes += len(payload)
            return
        topics = dict.fromkeys([*(t for t, _ in peer.backlog), topic])
        dropped = len(peer.backlog) + 1
        self._lost.note(self._now(), f"{peer.path} does not read; {dropped} hints became a resync", dropped)
        peer.backlog.clear()
        peer.backlog_bytes = 0
        for t in topics:
            resync = self._resync_payload(t)
            peer.backlog.append((t, resync))
            peer.backlog_bytes += len(resync)

    def _flush(self, peer: _Peer) -> None:
        """Writer callback: the peer has room again; send what waits, in order."""
        while peer.backlog:
            _, payload = peer.backlog[0]
            try:
                peer.sock.send(payload)
            except BlockingIOError:
                return  # still full: the writer stays registered
            except ConnectionRefusedError:
                self._replace(peer)  # the new process, if any, resynced at its start: drop the backlog
                return
            except OSError as exc:
                self._lost.note(self._now(), f"sending to {peer.path}: {exc}")
            peer.backlog.popleft()
            peer.backlog_bytes -= len(payload)
        assert self._loop is not None
        self._loop.remove_writer(peer.sock.fileno())

    # --- peers --------------------------------------------------------------------------------------------

    def _refresh(self, now: float) -> None:
        self._listed_at = now
        try:
            with os.scandir(self._directory) as entries:
                paths = {e.path for e in entries if e.name.endswith(SUFFIX) and e.path != self._path}
        except OSError as exc:
            log.warning("PeerBus: cannot list %s: %s", self._directory, exc)
            return
        for path, peer in list(self._peers.items()):
            if path not in paths:
                self._forget(peer)
        for path in paths - self._peers.keys():
            self._add(path)

    def _add(self, path: str) -> _Peer | None:
        try:
            sock = _connect(path)
        except OSError as exc:
            self._unreachable.note(self._now(), f"{path}: {exc}")
            return None
        if sock is None:
            return None
        peer = self._peers[path] = _Peer(path, sock)
        return peer

    def _replace(self, peer: _Peer) -> _Peer | None:
        self._forget(peer)
        return self._add(peer.path)

    def _forget(self, peer: _Peer) -> None:
        if self._peers.get(peer.path) is peer:
            del self._peers[peer.path]
        if peer.backlog and self._loop is not None:
            self._loop.remove_writer(peer.sock.fileno())
        peer.sock.close()

    # --- receiving ----------------------------------------------------------------------------------------

    def _on_readable(self) -> None:
        assert self._sock is not None
        for _ in range(READ_BATCH):
            try:
                size = self._sock.recv_into(self._buffer)
            except BlockingIOError:
                return
            except OSError as exc:
                log.warning("PeerBus: reading %s failed: %s", self._path, exc)
                return
            self._accept(self._view[:size])

    def _accept(self, data: memoryview) -> None:
        try:
            decoded = orjson.loads(data)
        except orjson.JSONDecodeError:
            decoded = None
        if not (
            isinstance(decoded, list)
            and len(decoded) == 2
            and isinstance(decoded[0], str)
            and isinstance(decoded[1], dict)
        ):
            self._bad.note(self._now(), f"a {len(data)}-byte datagram that is not JSON [topic, object]")
            return
        topic, message = decoded
        if topic == HELLO_TOPIC:
            self._greeted(message.get("path"))
        elif self._handlers.get(topic):
            self._deliver(topic, message)

    def _greeted(self, path: Any) -> None:
        """A peer started at ``path``: send to it from now on (a worker restarted under a known name gets a
        fresh socket). Only sockets of this directory are taken."""
        if (
            not isinstance(path, str)
            or path == self._path
            or not path.endswith(SUFFIX)
            or os.path.dirname(path) != os.path.dirname(self._path)
        ):
            self._bad.note(self._now(), f"a greeting naming {path!r}")
            return
        known = self._peers.get(path)
        if known is not None:
            self._replace(known)
        else:
            self._add(path)

    def _deliver(self, topic: str, message: dict[str, Any]) -> None:
        if len(self._inbox) >= self._max_pending:
            self._lost.note(self._now(), f"{self._max_pending} messages wait for the handlers; dropped one")
            return
        self._inbox.append((topic, message))
        self._wake.set()

    def _resync(self) -> None:
        for topic in self._handlers:
            self._deliver(topic, Resync().to_wire())

    def _resync_payload(self, topic: str) -> bytes:
        payload = self._resyncs.get(topic)
        if payload is None:
            payload = self._resyncs[topic] = orjson.dumps([topic, Resync().to_wire()])
        return payload

    async def _dispatch(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._inbox:
                topic, message = self._inbox.popleft()
                for handler in list(self._handlers.get(topic, ())):
                    try:
                        await handler(message)
                    except Exception:
                        log.exception("PeerBus: handler for %s failed", topic)

    def _now(self) -> float:
        return self._loop.time() if self._loop is not None else 0.0
