"""Structured logs (``log_format = "json"``): one JSON object per line with the request id and the id of
the session the line is about; the request id is echoed in ``X-Request-ID``."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from smsdesk.actions.engine import run_on_session
from smsdesk.clock import FakeClock
from smsdesk.domain.errors import InvalidState
from smsdesk.domain.sessions import Session
from smsdesk.logs import JsonFormatter, log_config, new_request_id
from tests.api.conftest import Api, basic, make_api

log = logging.getLogger("smsdesk.test")


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.INFO
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.level = level


@pytest.fixture
async def json_api(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Api]:
    async for a in make_api(tmp_path, clock, log_format="json"):
        yield a


def parsed(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


async def test_request_and_session_ids_on_every_line_about_them(json_api: Api, lines: io.StringIO) -> None:
    async def noisy() -> dict[str, int]:
        log.info("about to look at a session")
        await json_api.text("Hello")
        rec = await json_api.rt.store.find_open_session("+15551230001", "+15550000000")
        assert rec is not None

        async def decide(session: Session) -> object:
            log.warning("deciding on %s", session.id)
            raise InvalidState("nothing to do")

        with pytest.raises(InvalidState):
            await run_on_session(json_api.rt, rec.id, decide)  # type: ignore[arg-type]
        log.info("done")
        return {"statusCode": 0}

    json_api.app.add_api_route("/api/v2/test-logs", noisy, methods=["GET"])
    r = await json_api.client.get("/api/v2/test-logs", headers={**basic("agent1"), "X-Request-ID": "req-42"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "req-42"
    mine = [line for line in parsed(lines) if line["logger"] == "smsdesk.test"]
    assert mine[0]["message"] == "about to look at a session"
    assert all(line["requestId"] == "req-42" for line in mine)
    deciding = next(line for line in mine if str(line["message"]).startswith("deciding"))
    assert deciding["sessionId"] == str(deciding["message"]).split()[-1] and deciding["level"] == "warning"
    assert "sessionId" not in mine[-1]  # the operation is over
    other = await json_api.client.get(
        "/api/v2/me", headers={**basic("agent1"), "X-Request-ID": "bad id with spaces"}
    )
    assert other.headers["x-request-id"] != "bad id with spaces" and other.headers["x-request-id"]


async def test_text_logs_add_nothing(api: Api) -> None:
    r = await api.get("/api/v2/me")
    assert "x-request-id" not in r.headers


def test_uvicorn_gets_the_json_formatter_only_when_asked() -> None:
    assert log_config("text", "info") is None
    config = log_config("json", "info")
    assert config is not None and config["formatters"]["json"]["()"] == "smsdesk.logs.JsonFormatter"
    assert new_request_id("ok-1") == "ok-1" and new_request_id("x" * 65) != "x" * 65
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom %s", ("!",), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "boom !" and line["time"].endswith("Z") and "requestId" not in line
