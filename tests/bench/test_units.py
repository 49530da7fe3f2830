"""Pure parts of the benchmark harness: statistics, the sans-I/O Bayeux client, HTTP heads, /proc parsing."""

from __future__ import annotations

import os

import pytest

from smsdesk.bench.bayeux import BayeuxError, BayeuxSession
from smsdesk.bench.http import HttpError, parse_head
from smsdesk.bench.procstat import ProcSampler, ProcUnavailable, cpu_percent, parse_stat_cpu, parse_status_kb
from smsdesk.bench.stats import Summary, highest_passing_rate, percentile, summarize


def test_percentile_is_nearest_rank() -> None:
    data = [float(x) for x in range(1, 101)]
    assert percentile(data, 50) == 50.0
    assert percentile(data, 99) == 99.0
    assert percentile(data, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile(data, 101)


def test_summarize_and_empty_sample() -> None:
    s = summarize([3.0, 1.0, 2.0, 10.0])
    assert (s.count, s.p50, s.max, s.mean) == (4, 2.0, 10.0, 4.0)
    assert summarize([]) == Summary(0, None, None, None, None, None)
    assert summarize([]).brief() == "n=0"
    assert Summary(**s.to_json()) == s


def _s(p99: float, count: int = 10) -> Summary:
    return Summary(count, 1.0, 1.0, p99, p99, 1.0)


def test_highest_passing_rate_stops_at_the_first_failure() -> None:
    steps = [(400.0, [_s(30)]), (50.0, [_s(10)]), (100.0, [_s(20), _s(40)]), (200.0, [_s(150)])]
    assert highest_passing_rate(steps, 100) == 100.0  # 400 passed after a failure: noise, not capacity
    assert highest_passing_rate([(50.0, [_s(120)])], 100) is None
    assert highest_passing_rate([(50.0, [_s(10, count=0)])], 100) is None  # no samples is no pass


def test_bayeux_session_by_hand() -> None:
    s = BayeuxSession("websocket")
    with pytest.raises(BayeuxError):
        s.connect()  # not handshaken
    hs = s.handshake()[0]
    assert hs["supportedConnectionTypes"] == ["websocket"]
    got = s.receive([{"channel": "/meta/handshake", "successful": True, "clientId": "abc", "id": hs["id"]}])
    assert got.handshaken and s.client_id == "abc"
    first, second = s.connect()[0], s.connect()[0]
    assert first["advice"] == {"timeout": 0} and "advice" not in second
    got = s.receive(
        [
            {"channel": "/v2/me/channels", "data": {"x": 1}, "id": "7"},
            {"channel": "/meta/connect", "successful": True},
        ]
    )
    assert got.connected and [e["data"] for e in got.events] == [{"x": 1}]
    assert s.receive({"channel": "/bench", "successful": True}).events == []  # a publish ack
    with pytest.raises(BayeuxError, match="402::Unknown client"):
        s.receive([{"channel": "/meta/connect", "successful": False, "error": "402::Unknown client"}])
    for bad in ("nope", [1], [{"data": 1}]):
        with pytest.raises(BayeuxError):
            s.receive(bad)
    with pytest.raises(ValueError):
        BayeuxSession("carrier-pigeon")


def test_parse_head() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nSet-Cookie: JSESSIONID=xyz; Path=/; HttpOnly"
    assert parse_head(head) == (200, 12, {"JSESSIONID": "xyz"}, True)
    assert parse_head(b"HTTP/1.1 204 No Content\r\nConnection: close")[3] is False
    for bad in (b"garbage", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", b"SPDY/3 200 OK"):
        with pytest.raises(HttpError):
            parse_head(bad)


def test_proc_parsing_and_sampling() -> None:
    stat = "123 (python -m x) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0"
    assert parse_stat_cpu(stat) == pytest.approx(400 / os.sysconf("SC_CLK_TCK"))
    assert parse_status_kb("Name:\tx\nVmRSS:\t  2048 kB\n", "VmRSS") == 2048
    with pytest.raises(ProcUnavailable):
        parse_status_kb("Name: x", "VmHWM")
    me = ProcSampler(os.getpid())
    a = me.sample()
    sum(i * i for i in range(200_000))  # burn a little CPU
    b = me.sample()
    assert b.cpu_s >= a.cpu_s and b.peak_rss_kb >= b.rss_kb > 0
    assert cpu_percent(a, b) >= 0
    with pytest.raises(ProcUnavailable):
        ProcSampler(2**22 + 12345).sample()


def test_hottest_frames_from_collapsed_stacks() -> None:
    from smsdesk.bench.profiler import hottest

    lines = ["main;serve;sql 6", "main;serve;json 3", "main;idle 1", "garbage", ""]
    total, own, incl = hottest(lines, 2)
    assert total == 10
    assert own == [(60.0, "sql"), (30.0, "json")]
    assert incl[0] == (100.0, "main") and incl[1] == (90.0, "serve")
    assert hottest([]) == (0, [], [])
