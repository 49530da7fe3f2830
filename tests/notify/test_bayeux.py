"""The sans-I/O Bayeux state object, driven by hand: no event loop, no sockets, time passed in."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest

from smsdesk.domain.events import SUPERVISORS, StoredEvent
from smsdesk.domain.users import Principal, Role
from smsdesk.notify.bayeux import Bayeux, ClientSession, IllegalTransition, SessionState, Transport
from smsdesk.notify.queue import ClientQueue
from smsdesk.notify.settings import NotifySettings

AGENT = Principal("u1", "agent1", frozenset({Role.AGENT}))
OTHER = Principal("u3", "agent2", frozenset({Role.AGENT}))
SUPERVISOR = Principal("u2", "supervisor1", frozenset({Role.SUPERVISOR}))
LP = Transport.LONG_POLLING
SETTINGS = NotifySettings(timeout_ms=30_000, max_interval_ms=15_000, heartbeat_ms=45_000, max_queue=3)


def make() -> Bayeux:
    ids = itertools.count(1)
    return Bayeux(SETTINGS, make_client_id=lambda: f"c{next(ids)}")


def handshake(b: Bayeux, who: Principal = AGENT, **extra: Any) -> str:
    out = b.handle(
        [
            {
                "channel": "/meta/handshake",
                "version": "1.0",
                "supportedConnectionTypes": ["long-polling"],
                **extra,
            }
        ],
        principal=who,
        now=0.0,
        transport=LP,
    )
    assert out.replies[0]["successful"], out.replies
    assert out.handshake is not None
    return out.handshake


def owner(b: Bayeux, cid: str) -> Principal | None:
    """The principal ``cid`` was handshaken with: every later message carries its user's credentials."""
    session = b.session(cid)
    return session.principal if session is not None else AGENT


def connect(b: Bayeux, cid: str, now: float = 0.0, **extra: Any) -> Any:
    return b.handle(
        [{"channel": "/meta/connect", "clientId": cid, "connectionType": "long-polling", **extra}],
        principal=owner(b, cid),
        now=now,
        transport=LP,
    )


def subscribe(b: Bayeux, cid: str, sub: object, who: Principal | None = None) -> dict[str, Any]:
    out = b.handle(
        [{"channel": "/meta/subscribe", "clientId": cid, "subscription": sub, "id": "7"}],
        principal=who or owner(b, cid),
        now=0.0,
        transport=LP,
    )
    reply: dict[str, Any] = out.replies[0]
    return reply


def ready_client(b: Bayeux, who: Principal = AGENT, sub: str = "/v2/me/**", **extra: Any) -> str:
    cid = handshake(b, who, **extra)
    connect(b, cid)
    assert subscribe(b, cid, sub)["successful"]
    return cid


def test_handshake_reply_fields() -> None:
    b = make()
    out = b.handle(
        [
            {
                "channel": "/meta/handshake",
                "version": "1.0",
                "id": "1",
                "supportedConnectionTypes": ["websocket", "long-polling"],
            }
        ],
        principal=AGENT,
        now=0.0,
        transport=LP,
    )
    assert out.replies == [
        {
            "channel": "/meta/handshake",
            "successful": True,
            "id": "1",
            "version": "1.0",
            "minimumVersion": "1.0",
            "clientId": "c1",
            "supportedConnectionTypes": ["long-polling", "websocket"],
            "advice": {"reconnect": "retry", "interval": 0, "timeout": 30_000},
        }
    ]
    assert out.handshake == "c1" and out.hold is None


def test_default_client_ids_are_long_and_random() -> None:
    b = Bayeux(SETTINGS)
    a, c = handshake(b), handshake(b)
    assert a != c and len(a) >= 32 and a.isalnum()


def test_unauthenticated_handshake_is_denied_without_retry() -> None:
    out = make().handle([{"channel": "/meta/handshake", "id": "1"}], principal=None, now=0.0, transport=LP)
    assert out.replies == [
        {
            "channel": "/meta/handshake",
            "successful": False,
            "id": "1",
            "error": "403::Handshake denied",
            "advice": {"reconnect": "none", "interval": 0},
        }
    ]
    assert out.handshake is None


def test_handshake_with_no_common_connection_type_fails() -> None:
    out = make().handle(
        [{"channel": "/meta/handshake", "supportedConnectionTypes": ["callback-polling"]}],
        principal=AGENT,
        now=0.0,
        transport=LP,
    )
    assert not out.replies[0]["successful"]
    assert out.replies[0]["error"].startswith("406::")


def test_other_messages_in_a_handshake_batch_get_an_error_each() -> None:
    out = make().handle(
        [{"channel": "/meta/handshake"}, {"channel": "/meta/subscribe", "id": "2"}],
        principal=AGENT,
        now=0.0,
        transport=LP,
    )
    assert [r["successful"] for r in out.replies] == [True, False]
    assert out.replies[1]["id"] == "2"


def test_first_connect_is_answered_at_once_with_advice() -> None:
    b = make()
    cid = handshake(b)
    out = connect(b, cid, id="2")
    assert out.hold is None
    assert out.replies == [
        {
            "channel": "/meta/connect",
            "successful": True,
            "id": "2",
            "advice": {"reconnect": "retry", "interval": 0, "timeout": 30_000},
        }
    ]
    assert b.session(cid) is not None and b.session(cid).state is SessionState.CONNECTED  # type: ignore[union-attr]


def test_later_connect_is_held_for_the_timeout_then_answered() -> None:
    b = make()
    cid = ready_client(b)
    out = connect(b, cid, now=1.0, id="3")
    assert out.replies == [] and out.hold is not None
    assert out.hold.deadline == pytest.approx(31.0)
    assert not b.ready(out.hold, 30.9)
    assert b.ready(out.hold, 31.0)
    assert b.complete(out.hold, 31.0) == [{"channel": "/meta/connect", "successful": True, "id": "3"}]


def test_client_advice_timeout_is_honoured_and_capped_by_heartbeat() -> None:
    b = make()
    cid = ready_client(b)
    assert connect(b, cid, advice={"timeout": 0}).hold is None
    out = connect(b, cid, now=0.0, advice={"timeout": 5000})
    assert out.hold is not None and out.hold.deadline == pytest.approx(5.0)
    out = connect(b, cid, now=0.0, advice={"timeout": 600_000})
    assert out.hold is not None and out.hold.deadline == pytest.approx(45.0)


def test_connect_batched_with_other_messages_is_not_held() -> None:
    b = make()
    cid = ready_client(b)
    out = b.handle(
        [
            {"channel": "/meta/connect", "clientId": cid},
            {"channel": "/meta/subscribe", "clientId": cid, "subscription": "/v2/me"},
        ],
        principal=owner(b, cid),
        now=0.0,
        transport=LP,
    )
    assert out.hold is None
    assert [r["channel"] for r in out.replies] == ["/meta/connect", "/meta/subscribe"]


def test_event_wakes_a_held_connect_and_is_delivered_before_the_reply() -> None:
    b = make()
    cid = ready_client(b)
    hold = connect(b, cid, now=1.0).hold
    assert b.push([StoredEvent(1, "u1", "/v2/me/channels", {"messageType": "X"})]) == [cid]
    assert b.ready(hold, 1.0)
    assert b.complete(hold, 1.0) == [
        {"channel": "/v2/me/channels", "data": {"messageType": "X"}, "id": "1"},
        {"channel": "/meta/connect", "successful": True},
    ]


def test_queued_event_makes_the_next_connect_return_at_once() -> None:
    b = make()
    cid = ready_client(b)
    b.push([StoredEvent(1, "u1", "/v2/me/channels", {})])
    out = connect(b, cid)
    assert out.hold is None and [m["channel"] for m in out.replies] == ["/v2/me/channels", "/meta/connect"]


def test_only_the_recipient_and_subscribed_clients_get_an_event() -> None:
    b = make()
    mine = ready_client(b, AGENT, "/v2/me/channels")
    narrow = ready_client(b, AGENT, "/v2/me/smssessions")
    other = ready_client(b, OTHER, "/**")
    assert b.push([StoredEvent(1, "u1", "/v2/me/channels", {})]) == [mine]
    assert narrow and other


def test_supervisors_recipient_reaches_supervisors_only() -> None:
    b = make()
    ready_client(b, AGENT, "/**")
    sup = ready_client(b, SUPERVISOR, "/v2/users")
    assert b.audience() == {"u1", "u2", SUPERVISORS}
    assert b.push([StoredEvent(1, SUPERVISORS, "/v2/users", {"x": 1})]) == [sup]


def test_agent_cannot_see_supervisor_channel_even_if_addressed() -> None:
    b = make()
    ready_client(b, AGENT, "/**")
    assert b.push([StoredEvent(1, "u1", "/v2/users", {})]) == []


def test_subscribe_errors() -> None:
    b = make()
    cid = handshake(b)
    assert subscribe(b, cid, None)["error"] == "403::subscription_missing"
    assert subscribe(b, cid, [1])["error"] == "400::subscription_invalid"
    assert subscribe(b, cid, "/v2/users")["error"] == "403:/v2/users:subscribe_denied"
    assert subscribe(b, cid, "/meta/*")["error"] == "403:/meta/*:subscribe_denied"
    assert subscribe(b, cid, "nope")["error"] == "400:nope:channel_invalid"
    ok = subscribe(b, cid, ["/v2/me", "/v2/me/*"])
    assert ok == {
        "channel": "/meta/subscribe",
        "successful": True,
        "id": "7",
        "subscription": ["/v2/me", "/v2/me/*"],
    }


def test_too_many_subscriptions() -> None:
    b = Bayeux(NotifySettings(max_subscriptions=2))
    cid = handshake(b)
    assert subscribe(b, cid, ["/a", "/b"])["successful"]
    assert subscribe(b, cid, "/c")["error"] == "403::too many subscriptions"


def test_unsubscribe_stops_delivery() -> None:
    b = make()
    cid = ready_client(b, AGENT, "/v2/me/channels")
    out = b.handle(
        [{"channel": "/meta/unsubscribe", "clientId": cid, "subscription": "/v2/me/channels"}],
        principal=owner(b, cid),
        now=0.0,
        transport=LP,
    )
    assert out.replies[0]["successful"]
    assert b.push([StoredEvent(1, "u1", "/v2/me/channels", {})]) == []


@pytest.mark.parametrize(
    "channel", ["/meta/connect", "/meta/subscribe", "/meta/unsubscribe", "/meta/disconnect"]
)
def test_unknown_client_gets_402_with_handshake_advice(channel: str) -> None:
    out = make().handle(
        [{"channel": channel, "clientId": "nope", "id": "9", "subscription": "/a"}],
        principal=None,
        now=0.0,
        transport=LP,
    )
    assert out.replies[0]["error"] == "402::Unknown client"
    assert out.replies[0]["advice"] == {"reconnect": "handshake", "interval": 0}
    assert out.replies[0]["id"] == "9"


def test_client_id_of_another_user_is_unknown() -> None:
    b = make()
    cid = ready_client(b)
    out = b.handle([{"channel": "/meta/connect", "clientId": cid}], principal=OTHER, now=0.0, transport=LP)
    assert out.replies[0]["error"] == "402::Unknown client"


@pytest.mark.parametrize(
    "channel", ["/meta/connect", "/meta/subscribe", "/meta/unsubscribe", "/meta/disconnect"]
)
def test_a_client_id_without_its_users_credentials_is_unknown(channel: str) -> None:
    b = make()
    cid = ready_client(b)
    message = {"channel": channel, "clientId": cid, "subscription": "/v2/me/**"}
    out = b.handle([message], principal=None, now=0.0, transport=LP)
    assert out.replies[0]["error"] == "402::Unknown client"
    assert b.session(cid) is not None  # and the client itself is untouched


def test_new_connect_releases_the_held_one() -> None:
    b = make()
    cid = ready_client(b)
    first = connect(b, cid).hold
    second = connect(b, cid)
    assert second.woken == [cid] and second.hold is not None
    assert b.ready(first, 0.0)
    assert b.complete(first, 0.0) == [{"channel": "/meta/connect", "successful": True}]
    assert not b.ready(second.hold, 0.0)


def test_disconnect_removes_the_client_and_releases_its_hold() -> None:
    b = make()
    cid = ready_client(b)
    hold = connect(b, cid).hold
    out = b.handle(
        [{"channel": "/meta/disconnect", "clientId": cid, "id": "5"}], principal=AGENT, now=0.0, transport=LP
    )
    assert out.replies == [{"channel": "/meta/disconnect", "successful": True, "id": "5"}]
    assert out.woken == [cid] and b.session(cid) is None
    assert b.complete(hold, 0.0)[0]["advice"]["reconnect"] == "none"
    assert connect(b, cid).replies[0]["error"] == "402::Unknown client"


def test_idle_client_expires_after_max_interval_and_a_held_one_does_not() -> None:
    b = make()
    idle = ready_client(b)
    held = ready_client(b)
    connect(b, held, now=0.0)
    assert b.expire(15.0) == []
    assert b.expire(15.1) == [idle]
    assert b.session(held) is not None
    assert connect(b, idle, now=16.0).replies[0]["error"] == "402::Unknown client"


def test_overflow_drops_the_client_with_handshake_advice() -> None:
    b = make()  # max_queue=3
    cid = ready_client(b)
    hold = connect(b, cid).hold
    events = [StoredEvent(i, "u1", "/v2/me/channels", {}) for i in range(1, 5)]
    assert b.push(events) == [cid]
    assert b.session(cid) is None
    [reply] = b.complete(hold, 0.0)
    assert reply["successful"] is False and reply["error"].startswith("402::Queue overflow")
    assert reply["advice"] == {"reconnect": "handshake", "interval": 0}


def test_ack_extension_redelivers_a_lost_batch() -> None:
    b = make()
    cid = handshake(b, ext={"ack": True})
    assert b.session(cid).ack  # type: ignore[union-attr]
    connect(b, cid, ext={"ack": 0})
    subscribe(b, cid, "/v2/me/*")
    b.push([StoredEvent(4, "u1", "/v2/me/channels", {"n": 4})])
    first = connect(b, cid, ext={"ack": 0}).replies
    assert [m.get("id") for m in first] == ["4", None] and first[-1]["ext"] == {"ack": 4}
    # The reply above was lost: the client acknowledges the older batch and gets the event again.
    again = connect(b, cid, ext={"ack": 0}).replies
    assert again[0]["data"] == {"n": 4} and again[-1]["ext"] == {"ack": 4}
    # Acknowledged: nothing to resend, so the connect is held.
    assert connect(b, cid, ext={"ack": 4}).hold is not None
    assert len(b.session(cid).queue) == 0  # type: ignore[union-attr]


def test_handshake_ack_reply() -> None:
    b = make()
    out = b.handle(
        [{"channel": "/meta/handshake", "ext": {"ack": True}}], principal=AGENT, now=0.0, transport=LP
    )
    assert out.replies[0]["ext"] == {"ack": True}


def _delivery(event_id: int, *, as_json: bool) -> StoredEvent:
    data = {
        "messageType": "MessageLogUpdated",
        "notificationType": "MessagesUpdated",
        "messages": [{"index": 3, "type": "Text", "status": "delivered"}],
    }
    if as_json:
        return StoredEvent(event_id, "u1", "/v2/me/smssessions", json=orjson.dumps(data).decode())
    return StoredEvent(event_id, "u1", "/v2/me/smssessions", data)


@pytest.mark.parametrize("as_json", [False, True])
def test_delivery_status_only_for_clients_that_asked_in_their_handshake(as_json: bool) -> None:
    """Issue 23: ``MessagesUpdated`` repeats a message index, so a GWS desktop that appends every
    MessageLogUpdated would show the message twice: a client gets it only with ``ext.messagesUpdated``."""
    b = make()
    plain = handshake(b)
    asked = handshake(b, ext={"messagesUpdated": True})
    odd = handshake(b, ext={"messagesUpdated": "yes"})  # only ``true`` asks
    for cid in (plain, asked, odd):
        subscribe(b, cid, "/v2/me/smssessions")
    assert not b.session(plain).messages_updated and b.session(asked).messages_updated  # type: ignore[union-attr]
    new = {"messageType": "MessageLogUpdated", "notificationType": "NewMessages", "messages": []}
    json_text = orjson.dumps({**new, "text": "MessagesUpdated"}).decode()  # the word in a text
    events = [
        StoredEvent(1, "u1", "/v2/me/smssessions", new),
        _delivery(2, as_json=as_json),
        StoredEvent(3, "u1", "/v2/me/smssessions", json=json_text),
    ]
    assert sorted(b.push(events)) == sorted([plain, asked, odd])
    got = {cid: [m["id"] for m in connect(b, cid).replies[:-1]] for cid in (plain, asked, odd)}
    assert got == {plain: ["1", "3"], asked: ["1", "2", "3"], odd: ["1", "3"]}


def test_handshake_messages_updated_reply() -> None:
    b = make()
    ext = {"ack": True, "messagesUpdated": True}
    out = b.handle([{"channel": "/meta/handshake", "ext": ext}], principal=AGENT, now=0.0, transport=LP)
    assert out.replies[0]["ext"] == {"ack": True, "messagesUpdated": True}
    out = b.handle([{"channel": "/meta/handshake"}], principal=AGENT, now=0.0, transport=LP)
    assert "ext" not in out.replies[0]


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"channel": "/v2/me/channels", "data": {}}, "403:/v2/me/channels:publish_denied"),
        ({"channel": "/meta/bogus"}, "400:/meta/bogus:unknown meta channel"),
        ({"channel": "bad name", "data": {}}, "400:bad name:channel_invalid"),
        ({"data": {}}, "400::channel_missing"),
    ],
)
def test_publish_and_garbage_get_an_error_reply(message: dict[str, Any], error: str) -> None:
    out = make().handle([{**message, "id": "1"}], principal=AGENT, now=0.0, transport=LP)
    assert out.replies[0]["error"] == error and out.replies[0]["id"] == "1"


def test_too_many_clients_per_user() -> None:
    b = Bayeux(NotifySettings(max_clients_per_user=1))
    handshake(b)
    out = b.handle([{"channel": "/meta/handshake"}], principal=AGENT, now=0.0, transport=LP)
    assert out.replies[0]["error"] == "403::too many clients for this user"


def test_shutdown_drops_everyone() -> None:
    b = make()
    cid = ready_client(b)
    hold = connect(b, cid).hold
    assert b.shutdown() == [cid]
    assert b.complete(hold, 0.0)[0]["advice"]["reconnect"] == "handshake"
    assert len(b) == 0 and b.audience() == set()


def test_illegal_session_transitions_raise() -> None:
    s = ClientSession("c", AGENT, ClientQueue(1), False, 0.0)
    s.leave("x")
    with pytest.raises(IllegalTransition):
        s.leave("again")
    with pytest.raises(IllegalTransition):
        s.connected()


def ws_connect(b: Bayeux, cid: str, now: float = 0.0, **extra: Any) -> Any:
    return b.handle(
        [{"channel": "/meta/connect", "clientId": cid, "connectionType": "websocket", **extra}],
        principal=owner(b, cid),
        now=now,
        transport=Transport.WEBSOCKET,
    )


def test_websocket_client_without_ack_takes_events_at_once_and_keeps_its_connect_held() -> None:
    b = make()
    cid = ready_client(b)
    assert b.take_immediate(cid) == []  # connected over long-polling: events wait for a connect
    out = ws_connect(b, cid, now=1.0)
    assert out.connected == [cid] and out.hold is not None
    b.push(
        [
            StoredEvent(1, "u1", "/v2/me/channels", {"n": 1}),
            StoredEvent(2, "u1", "/v2/me/smssessions", {"n": 2}),
        ]
    )
    encoded = b.take_immediate(cid)
    assert [orjson.loads(e)["data"] for e in encoded] == [{"n": 1}, {"n": 2}]
    assert not b.ready(out.hold, 1.0)  # nothing left queued: the connect stays held until its deadline
    assert b.take_immediate(cid) == []


def test_websocket_client_with_ack_gets_events_in_connect_replies_only() -> None:
    b = make()
    cid = ready_client(b, ext={"ack": True})
    hold = ws_connect(b, cid, now=1.0, ext={"ack": 0}).hold
    b.push([StoredEvent(1, "u1", "/v2/me/channels", {"n": 1})])
    assert b.take_immediate(cid) == []
    assert b.ready(hold, 1.0) and b.complete(hold, 1.0)[0]["data"] == {"n": 1}


def test_an_event_for_many_recipients_is_encoded_once_and_shared() -> None:
    b = make()
    sups = [ready_client(b, SUPERVISOR, "/v2/users") for _ in range(3)]
    for cid in sups:
        ws_connect(b, cid)
    b.push([StoredEvent(1, SUPERVISORS, "/v2/users", {"x": 1})])
    [first], *others = [b.take_immediate(cid) for cid in sups]
    assert orjson.loads(first) == {"channel": "/v2/users", "data": {"x": 1}, "id": "1"}
    assert all(o[0] is first for o in others)


def test_clients_with_the_same_subscriptions_share_one_set() -> None:
    b = make()
    one, two = ready_client(b), ready_client(b)
    s1, s2 = b.session(one), b.session(two)
    assert s1 is not None and s2 is not None
    assert s1.subscriptions is s2.subscriptions
    subscribe(b, two, "/v2/users/x")  # refused for an agent: nothing changes
    assert sorted(b.push([StoredEvent(1, "u1", "/v2/me/channels", {})])) == [one, two]


def test_the_audience_is_kept_as_clients_come_and_go() -> None:
    b = make()
    audience = b.audience()  # a live view: later handshakes and removals show in it
    one = ready_client(b, SUPERVISOR, "/v2/users")
    two = ready_client(b, SUPERVISOR, "/v2/users")
    agent = ready_client(b, AGENT, "/**")
    assert audience == {"u1", "u2", SUPERVISORS}
    b.handle([{"channel": "/meta/disconnect", "clientId": one}], principal=SUPERVISOR, now=0.0, transport=LP)
    assert audience == {"u1", "u2", SUPERVISORS}  # the other supervisor client is still here
    b.handle([{"channel": "/meta/disconnect", "clientId": two}], principal=SUPERVISOR, now=0.0, transport=LP)
    assert audience == {"u1"}
    assert b.push([StoredEvent(1, SUPERVISORS, "/v2/users", {})]) == []
    b.drop_user("u1")
    assert audience == set() and b.session(agent) is None


def test_an_event_given_as_stored_json_goes_to_the_wire_as_it_is() -> None:
    b = make()
    ws = ready_client(b)
    ws_connect(b, ws)
    ack = ready_client(b, ext={"ack": True})
    hold = connect(b, ack, now=1.0, ext={"ack": 0}).hold
    stored = '{"n": 1, "text": "caf\\u00e9"}'  # not as orjson would write it: proves it was not re-encoded
    b.push([StoredEvent(1, "u1", "/v2/me/channels", json=stored)])
    [encoded] = b.take_immediate(ws)
    assert encoded == b'{"channel":"/v2/me/channels","data":' + stored.encode() + b',"id":"1"}'
    assert hold is not None and b.ready(hold, 1.0)
    replies = b.complete(hold, 1.0)  # long-polling and ack: the same text in the connect reply, kept
    assert orjson.dumps(replies[0]) == encoded
    again = connect(b, ack, now=2.0, ext={"ack": 0})  # not acknowledged: sent again
    assert orjson.dumps(again.replies[0]) == encoded
