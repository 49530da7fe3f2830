"""Customer history and transcript search: ``GET /api/v2/smssessions?customerNumber=…`` (docs/operations.md).

Who sees what: supervisors and admins every session; an agent the sessions they took part in, and every
session of a customer they hold an open session with now (the history beside the current conversation),
with only the texts the customer saw of the ones they had no part in.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from smsdesk.domain.errors import Validation
from smsdesk.domain.sessions import Session
from smsdesk.domain.users import Principal
from smsdesk.domain.views import format_timestamp, session_path, session_uri, visible_messages
from smsdesk.periodic import Periodic
from smsdesk.runtime import Runtime
from smsdesk.sms.numbers import InvalidNumber, normalize_e164
from smsdesk.store.base import SessionRecord
from smsdesk.store.history import SessionSearch, index_messages, search_sessions, search_words

__all__ = ["MAX_LIMIT", "FullTextIndexer", "history_search", "parse_day_or_time"]

log = logging.getLogger("smsdesk.history")
MAX_LIMIT = 100


class FullTextIndexer:
    """SQLite: new messages enter the full-text index once a second, in one transaction per batch, off the
    write path of the session operations (a search indexes what is left first)."""

    def __init__(self, rt: Runtime, every_s: float = 1.0) -> None:
        self.rt = rt
        self.every_s = every_s
        self._loop = Periodic(
            self._index, every_s, name="smsdesk-fulltext", log=log, what="full-text indexing"
        )

    async def _index(self) -> None:
        while await index_messages(self.rt.store) >= 5000:  # a backlog: batch after batch
            pass

    async def start(self) -> None:
        if self.rt.store.dialect == "sqlite":
            self._loop.start()

    async def close(self) -> None:
        await self._loop.close()


def parse_day_or_time(raw: str, name: str, zone: ZoneInfo, *, end: bool) -> int:
    """``2026-12-01`` (a day in ``zone``: its start, or with ``end`` the start of the next day, so that
    ``to`` includes the day) or an ISO date-time (with an offset, else in ``zone``): epoch ms."""
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end:
                day += timedelta(days=1)
            return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Validation(f"'{name}' must be an ISO date (2026-12-01) or date-time; got {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return int(moment.timestamp() * 1000)


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Validation(f"'{name}' must be an integer") from None
    if not low <= value <= high:
        raise Validation(f"'{name}' must be between {low} and {high}")
    return value


async def _search_of(rt: Runtime, principal: Principal, params: Mapping[str, str]) -> SessionSearch:
    zone = ZoneInfo(rt.settings.time_zone)
    customer = params.get("customerNumber")
    if customer is not None:
        customer = customer.strip()
        if customer[:1].isdigit():
            customer = "+" + customer  # an unencoded "+" in a query string arrives as a space
        try:
            customer = normalize_e164(customer)
        except InvalidNumber as exc:
            raise Validation(
                f"'customerNumber' must be a phone number in E.164 (+15551230001): {exc}"
            ) from None
    agent_id = None
    agent = params.get("agent")
    if agent:
        user = await rt.store.get_user(agent) or await rt.store.get_user_by_name(agent)
        if user is None:
            raise Validation(f"'agent': no user '{agent}'")
        agent_id = user.id
    from_ms = parse_day_or_time(params["from"], "from", zone, end=False) if params.get("from") else None
    to_ms = parse_day_or_time(params["to"], "to", zone, end=True) if params.get("to") else None
    party: str | None = None
    customers: tuple[str, ...] = ()
    if not principal.is_supervisor:
        party = principal.user_id
        held = await rt.store.list_member_sessions(principal.user_id)
        customers = tuple(sorted({r.customer for r in held if r.is_open}))
    return SessionSearch(
        customer=customer,
        from_ms=from_ms,
        to_ms=to_ms,
        queue=params.get("queue") or None,
        agent_id=agent_id,
        words=tuple(search_words(params.get("q", ""))),
        party=party,
        customers=customers,
        offset=_int(params, "offset", 0, 0, 1_000_000),
        limit=_int(params, "limit", 20, 1, MAX_LIMIT),
    )


async def _entry(
    rt: Runtime, principal: Principal, rec: SessionRecord, names: Mapping[str, str]
) -> dict[str, Any]:
    s = Session.from_json(rec.data)
    m = rec.milestones
    messages = await rt.store.read_messages(rec.id)
    me = s.for_user(principal.user_id)
    if principal.is_supervisor:
        shown = [dict(x) for x in messages]
    elif me is not None:
        shown = visible_messages(messages, me)
    else:  # a customer's history seen from the current conversation: what the customer saw
        shown = [dict(x) for x in messages if x.get("visibility") == "All"]
    agent = None if m.agent_id is None else {"id": m.agent_id, "userName": names.get(m.agent_id, "")}
    return {
        "id": rec.id,
        "uri": session_uri(rt.settings.base_url, rec.id),
        "path": session_path(rec.id),
        "customerNumber": rec.customer,
        "businessNumber": rec.business,
        "queue": rec.queue,
        "phase": s.phase.value,
        "createdDate": format_timestamp(rec.created_ms),
        "endedDate": None if m.ended_ms is None else format_timestamp(m.ended_ms),
        "agent": agent,
        "disposition": s.user_data.get(rt.settings.disposition_key),
        "userData": dict(s.user_data),
        "messages": shown,
    }


async def history_search(
    rt: Runtime, principal: Principal, params: Mapping[str, str], *, whole: bool
) -> dict[str, Any]:
    """The response body: ``uris``, or (``whole``) ``smssessions`` with their transcripts; ``offset``,
    ``limit`` and ``more`` (another page follows)."""
    search = await _search_of(rt, principal, params)
    if search.words:
        await index_messages(rt.store)  # what the indexer has not reached yet (SQLite)
    found, more = await search_sessions(rt.store, search)
    page = {"offset": search.offset, "limit": search.limit, "more": more}
    if not whole:
        return {"statusCode": 0, "uris": [session_uri(rt.settings.base_url, r.id) for r in found], **page}
    names = {u.id: u.user_name for u in await rt.store.list_users()} if found else {}
    sessions = [await _entry(rt, principal, r, names) for r in found]
    return {"statusCode": 0, "smssessions": sessions, **page}
