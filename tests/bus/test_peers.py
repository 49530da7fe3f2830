"""PeerBus beyond the shared contract: other processes, dead peers, the kernel's queue limit, bad input."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from smsdesk.bus.messages import EventsAdvanced, Resync
from smsdesk.bus.peers import HELLO_TOPIC, MAX_BACKLOG_BYTES, PeerBus
from tests.bus.test_contract import Recorder

pytestmark = pytest.mark.timeout(20)

TOPIC = "smsdesk.events"
RESYNC = Resync().to_wire()


@pytest.fixture
async def buses() -> AsyncIterator[list[PeerBus]]:
    made: list[PeerBus] = []
    yield made
    for bus in made:
        await bus.close()


@pytest.fixture
def raw() -> Iterator[list[socket.socket]]:
    """Plain datagram sockets standing in for other processes; closed after the test."""
    made: list[socket.socket] = []
    yield made
    for sock in made:
        sock.close()


def bind_raw(raw: list[socket.socket], path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    raw.append(sock)
    sock.bind(str(path))
    sock.setblocking(False)
    return sock


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def received(sock: socket.socket, *, greetings: bool = False) -> list[Any]:
    """What ``sock`` was sent, without the greetings of buses that started (unless ``greetings``)."""
    out: list[Any] = []
    while True:
        try:
            message = orjson.loads(sock.recv(1 << 18))
        except BlockingIOError:
            return out
        if greetings or message[0] != HELLO_TOPIC:
            out.append(message)


async def started(buses: list[PeerBus], directory: Path, name: str, **kwargs: Any) -> PeerBus:
    bus = PeerBus(directory, name, **kwargs)
    buses.append(bus)
    await bus.start()
    return bus


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from smsdesk.bus.peers import PeerBus

    async def main() -> None:
        bus = PeerBus(sys.argv[1], "child", refresh_s=0)
        pinged = asyncio.Event()

        async def on_message(message: dict) -> None:
            if message.get("type") == "ping":
                pinged.set()

        bus.subscribe("t", on_message)
        await bus.start()
        print("ready", flush=True)
        await asyncio.wait_for(pinged.wait(), 10)
        await bus.publish("t", {"type": "pong", "pid": __import__("os").getpid()})
        await bus.close()

    asyncio.run(main())
    """
)


async def test_a_peer_in_another_process_receives_hints_and_answers(
    buses: list[PeerBus], tmp_path: Path
) -> None:
    parent = PeerBus(tmp_path, "parent", refresh_s=0)
    buses.append(parent)
    got = Recorder()
    parent.subscribe("t", got)
    await parent.start()
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(tmp_path), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), 10) == b"ready\n"
        await parent.publish("t", {"type": "ping"})  # refresh_s=0: lists again and finds the child
        assert parent.peers() == [str(tmp_path / "child.bus")]
        assert await got.wait_for(2) == [{"type": "ping"}, {"type": "pong", "pid": child.pid}]
        assert await asyncio.wait_for(child.wait(), 10) == 0
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert not (tmp_path / "child.bus").exists()  # its close unlinked it


async def test_start_hands_the_handlers_a_resync_and_again_once_peers_listed_again(
    buses: list[PeerBus], tmp_path: Path
) -> None:
    bus = PeerBus(tmp_path, "w1", refresh_s=0.05)
    buses.append(bus)
    got, other = Recorder(), Recorder()
    bus.subscribe("t", got)
    bus.subscribe("u", other)
    await bus.start()
    await asyncio.sleep(0)
    assert got.messages == [RESYNC]
    assert other.messages == [RESYNC]
    await asyncio.sleep(0.3)
    assert got.messages == [RESYNC, RESYNC]


async def test_a_process_that_starts_greets_its_peers_so_their_next_hint_reaches_it(
    buses: list[PeerBus], tmp_path: Path
) -> None:
    # A worker that listed the directory just before another one started sends to it from its next publish
    # on, without waiting for its next listing (refresh_s): a logout's hint reached one worker of two.
    first = await started(buses, tmp_path, "w1", refresh_s=3600)
    assert first.peers() == []
    second = await started(buses, tmp_path, "w2", refresh_s=3600)
    got = Recorder()
    second.subscribe("t", got)
    for _ in range(100):
        if first.peers():
            break
        await asyncio.sleep(0.01)
    assert first.peers() == [second.path]
    await first.publish("t", {"type": "x"})
    assert await got.wait_for(1) == [{"type": "x"}]


async def test_a_greeting_for_a_socket_outside_the_directory_is_refused(
    buses: list[PeerBus], tmp_path: Path, raw: list[socket.socket]
) -> None:
    bus = await started(buses, tmp_path / "bus", "w1", refresh_s=3600)
    elsewhere = bind_raw(raw, tmp_path / "other.bus")
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    raw.append(sender)
    for path in (str(tmp_path / "other.bus"), bus.path, 7, str(tmp_path / "bus" / "x.txt")):
        sender.sendto(orjson.dumps([HELLO_TOPIC, {"path": path}]), bus.path)
    for _ in range(100):
        if bus.bad_datagrams == 4:
            break
        await asyncio.sleep(0.01)
    assert bus.bad_datagrams == 4
    assert bus.peers() == []
    await bus.publish("t", {"type": "x"})
    assert received(elsewhere, greetings=True) == []


async def test_handlers_run_later_never_inside_publish(buses: list[PeerBus], tmp_path: Path) -> None:
    bus = await started(buses, tmp_path, "w1")
    got = Recorder()
    bus.subscribe("t", got)
    await bus.publish("t", {"type": "x"})
    assert got.messages == []
    assert await got.wait_for(1) == [{"type": "x"}]


async def test_a_burst_beyond_the_kernel_queue_reaches_a_busy_peer_in_order(
    buses: list[PeerBus], tmp_path: Path
) -> None:
    """The kernel queues 11 datagrams per receiver; the rest wait in the sender's backlog, none is lost."""
    receiver = PeerBus(tmp_path, "receiver")
    buses.append(receiver)
    got = Recorder()
    receiver.subscribe("t", got)
    await receiver.start()
    sender = await started(buses, tmp_path, "sender")
    for i in range(500):  # no await that yields: the receiver cannot read meanwhile
        await sender.publish("t", {"type": "n", "i": i})
    assert [m["i"] for m in await got.wait_for(500)] == list(range(500))
    assert sender.lost == 0


async def test_a_peer_that_stops_reading_gets_a_resync_instead_of_unbounded_memory(
    buses: list[PeerBus], tmp_path: Path, raw: list[socket.socket]
) -> None:
    stuck = bind_raw(raw, tmp_path / "stuck.bus")
    bus = await started(buses, tmp_path, "w1")
    hint = {"type": "n", "pad": "x" * 1000}
    count = MAX_BACKLOG_BYTES // 1000 + 20
    for i in range(count):
        await bus.publish("t", {**hint, "i": i})
    lost = bus.lost
    assert 0 < lost < count
    first = received(stuck)  # what the kernel queue took before the backlog filled
    assert [m[1]["i"] for m in first] == list(range(len(first)))
    rest: list[Any] = []
    for _ in range(20):  # the peer reads now: the writer wakes and sends what waits, 11 at a time
        await asyncio.sleep(0.01)
        rest += received(stuck)
    assert rest[0] == ["t", RESYNC]  # in place of the hints that overflowed the backlog
    after = [m[1]["i"] for m in rest[1:]]  # published after the collapse
    assert after == list(range(count - len(after), count))
    assert len(first) + lost + len(after) == count
    assert bus.lost == lost


async def test_an_oversized_message_reaches_peers_as_a_resync_and_local_handlers_whole(
    buses: list[PeerBus], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    far = PeerBus(tmp_path, "far")
    buses.append(far)
    far_got = Recorder()
    far.subscribe(TOPIC, far_got)
    await far.start()
    near = PeerBus(tmp_path, "near")
    buses.append(near)
    near_got = Recorder()
    near.subscribe(TOPIC, near_got)
    await near.start()
    await asyncio.sleep(0)
    far_got.messages.clear()
    big = EventsAdvanced.of(9, [f"user-{i:05d}@example.com" for i in range(10_000)]).to_wire()
    await near.publish(TOPIC, big)
    assert await near_got.wait_for(1) == [big]
    await asyncio.sleep(0.05)
    assert far_got.messages == [RESYNC]
    assert near.oversized == 1
    assert "too large" in caplog.text


async def test_bad_datagrams_are_dropped_and_counted(
    buses: list[PeerBus], tmp_path: Path, raw: list[socket.socket]
) -> None:
    bus = PeerBus(tmp_path, "w1")
    buses.append(bus)
    got = Recorder()
    bus.subscribe("t", got)
    await bus.start()
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    raw.append(sender)
    bad = [b"not json", b'{"t": {}}', b"[1, {}]", b'["t", []]', b'["t"]', b'["t", {}, 3]', b"\xff"]
    for datagram in [*bad, b'["t", {"type": "good"}]']:
        sender.sendto(datagram, bus.path)
    assert await got.wait_for(1) == [{"type": "good"}]
    assert bus.bad_datagrams == len(bad)


async def test_a_dead_process_socket_file_is_dropped_and_unlinked(
    buses: list[PeerBus], tmp_path: Path, raw: list[socket.socket]
) -> None:
    """A closed socket whose file stays is what a killed process leaves behind."""
    bind_raw(raw, tmp_path / "dead.bus").close()
    (tmp_path / "notes.txt").write_text("not a peer")
    (tmp_path / "file.bus").write_text("not a socket: left alone")
    bus = await started(buses, tmp_path, "w1")
    assert bus.peers() == []
    assert listing(tmp_path) == ["file.bus", "notes.txt", "w1.bus"]


async def test_a_peer_that_dies_after_listing_is_dropped_at_the_next_send(
    buses: list[PeerBus], tmp_path: Path, raw: list[socket.socket]
) -> None:
    peer = bind_raw(raw, tmp_path / "w2.bus")
    bus = await started(buses, tmp_path, "w1", refresh_s=60)
    assert bus.peers() == [str(tmp_path / "w2.bus")]
    peer.close()  # killed: the file stays
    await bus.publish("t", {"type": "x"})
    assert bus.peers() == []
    assert not (tmp_path / "w2.bus").exists()


async def test_a_worker_restarted_under_its_name_gets_the_next_hint_without_a_new_listing(
    buses: list[PeerBus], tmp_path: Path, raw: list[socket.socket]
) -> None:
    path = tmp_path / "w2.bus"
    old = bind_raw(raw, path)
    bus = await started(buses, tmp_path, "w1", refresh_s=60)
    old.close()
    path.unlink()
    new = bind_raw(raw, path)
    await bus.publish("t", {"type": "x"})
    assert received(new) == [["t", {"type": "x"}]]
    assert bus.peers() == [str(path)]


async def test_a_peer_gone_cleanly_is_forgotten(
    buses: list[PeerBus], tmp_path: Path, raw: list[socket.socket]
) -> None:
    bus = await started(buses, tmp_path, "w1", refresh_s=0)
    other = await started(buses, tmp_path, "w2")
    await bus.publish("t", {"type": "x"})
    assert bus.peers() == [other.path]
    await other.close()
    await bus.publish("t", {"type": "y"})
    assert bus.peers() == []


async def test_start_replaces_its_own_leftover_but_not_a_live_process(
    buses: list[PeerBus], tmp_path: Path, raw: list[socket.socket]
) -> None:
    bind_raw(raw, tmp_path / "w1.bus").close()  # the previous w1 was killed
    bus = await started(buses, tmp_path, "w1")
    assert (tmp_path / "w1.bus").is_socket()
    twin = PeerBus(tmp_path, "w1")
    with pytest.raises(RuntimeError, match="live process"):
        await twin.start()
    await bus.publish("t", {"type": "still mine"})


async def test_close_unlinks_its_socket_and_publish_after_close_is_an_error(
    buses: list[PeerBus], tmp_path: Path
) -> None:
    bus = await started(buses, tmp_path, "w1")
    assert listing(tmp_path) == ["w1.bus"]
    await bus.close()
    assert listing(tmp_path) == []
    with pytest.raises(RuntimeError, match="after close"):
        await bus.publish("t", {"type": "x"})
    with pytest.raises(RuntimeError, match="closed"):
        await bus.start()


async def test_close_leaves_a_file_that_another_process_took_over(
    buses: list[PeerBus], tmp_path: Path, raw: list[socket.socket]
) -> None:
    bus = await started(buses, tmp_path, "w1")
    os.unlink(bus.path)
    bind_raw(raw, Path(bus.path))
    await bus.close()
    assert listing(tmp_path) == ["w1.bus"]


async def test_a_full_inbox_drops_and_counts(buses: list[PeerBus], tmp_path: Path) -> None:
    bus = PeerBus(tmp_path, "w1", max_pending=3)
    buses.append(bus)
    got = Recorder()
    bus.subscribe("t", got)
    await bus.start()  # the Resync takes one place
    for i in range(4):
        await bus.publish("t", {"type": "n", "i": i})
    assert [m["i"] for m in await got.wait_for(2)] == [0, 1]
    assert bus.lost == 2


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\0b"])
def test_a_name_that_is_no_file_name_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="socket name"):
        PeerBus(tmp_path, name)


def test_a_path_too_long_for_a_socket_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="longer than"):
        PeerBus(tmp_path / ("d" * 120), "w1")
