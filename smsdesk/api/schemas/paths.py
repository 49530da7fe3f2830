"""What each URL does, as the API description tells it: one ``Spec`` per canonical path and method.

``smsdesk/api/openapi.py`` walks the routes the app serves and looks each one up here (an alias spelling of
the SMS session segment under its canonical ``smssessions``); a served route without a ``Spec`` is an error,
so a new endpoint cannot be left out of the description. Bodies and answers name the component schemas of
``bodies.py``, ``envelopes.py`` and ``bayeux.py`` (and the operation unions the builder makes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from smsdesk.actions.history import MAX_LIMIT
from smsdesk.api.schemas.bodies import CHANNEL_NAME, PHONE, SPACE

__all__ = ["PATH_PARAMETERS", "SPECS", "Access", "Query", "Spec"]

Access = Literal["user", "public", "cometd", "twilio"]


@dataclass(frozen=True)
class Query:
    name: str
    schema: Mapping[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class Spec:
    summary: str
    tag: str
    answers: Mapping[int, str | tuple[str, ...]]  # HTTP status -> component(s); "" for the failure envelope
    body: str | None = None  # the component schema of the request body
    body_media: str = "application/json"
    access: Access = "user"
    query: tuple[Query, ...] = ()
    description: str = ""
    path_parameters: Mapping[str, tuple[Mapping[str, Any], str]] = field(default_factory=dict)  # overrides


# Failure statuses answered with the GWS envelope; which statusCodes they carry comes from ``HTTP_STATUS``.
F = ""

_DAY_OR_TIME: dict[str, Any] = {
    "type": "string",
    "anyOf": [{"format": "date"}, {"format": "date-time"}, {"maxLength": 0}],  # empty: not given
}


def _report(kind: str, by: tuple[str, ...]) -> Spec:
    return Spec(
        f"A report of the {kind} over closed days (supervisors); CSV with `Accept: text/csv`",
        "Statistics",
        {200: "ReportAnswer", 400: F, 401: F, 403: F},
        query=(
            Query("from", {"type": "string", "format": "date"}, "An ISO date (the first day)", required=True),
            Query("to", {"type": "string", "format": "date"}, "An ISO date (the last day)", required=True),
            Query("by", {"type": "string", "enum": list(by)}, f"The grouping (default `{by[0]}`)"),
        ),
    )


_FIELDS = Query(
    "fields", {"type": "string"}, "`*` (or a field list, for users): full objects instead of `uris`"
)
_ITEM = rf"{SPACE}*(\*|channels|smssessions)?{SPACE}*"
_SUB = rf"^{_ITEM}(,{_ITEM})*$"
_SUBRESOURCES = Query(
    "subresources",
    {"type": "string", "pattern": _SUB},
    "`*`, or a comma-separated list of `channels`, `smssessions` (GetAgentInteractions, spec §7.10)",
)
_COUNT = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}

PATH_PARAMETERS: Mapping[str, tuple[Mapping[str, Any], str]] = {
    "session_id": ({"type": "string"}, "An SMS session id, e.g. `0000Na9B26EF002X`"),
    "user_id": ({"type": "string"}, "A user id"),
    "feature_id": ({"type": "string", "examples": ["api-multimedia"]}, "A feature name"),
    "channel": ({"type": "string"}, "A channel name"),
    "name": ({"type": "string"}, "A skill's name (its id)"),
    "response_id": ({"type": "string"}, "A standard response's id"),
    "media_id": (
        {"type": "string", "maxLength": 64},
        "A media item's id (`media[].id` of a transcript message)",
    ),
    "number": (
        {"type": "string", "pattern": r"^\+[1-9][0-9]{1,14}$"},
        "A customer's number in E.164 (URL-encode the `+` as `%2B`)",
    ),
    "tail": ({"type": "string"}, "Any tail (the CometD JS client appends the message type): not read"),
}

_CHANNEL = {
    "channel": (
        {"type": "string", "pattern": CHANNEL_NAME},
        "`sms` (also `smssession`, `smsession`, `smssessions`, `smsessions`; any case)",
    )
}

_SESSION_OP = Spec(
    "An operation on an SMS session",
    "SMS sessions",
    {200: "Ok", 400: F, 401: F, 403: F, 404: F, 409: F},
    body="SessionOperation",
    description="`operationName` selects the operation (any case; spaces around it ignored), and the "
    "parameters are those of that operation (docs/sessions.md). The result arrives as CometD notifications. "
    "A session the caller has no part in is not found (supervisors may operate on any).",
)
_SESSION_GET = Spec(
    "One SMS session, as the caller sees it", "SMS sessions", {200: "SessionAnswer", 401: F, 404: F}
)
_MESSAGES = Spec(
    "The transcript the caller may see",
    "SMS sessions",
    {200: "MessagesAnswer", 400: F, 401: F, 404: F},
    query=(
        Query("startIndex", _COUNT, "The first message index (default 0)"),
        Query("count", _COUNT, "At most this many messages (default all)"),
    ),
)

_COMETD = Spec(
    "CometD (Bayeux 1.0) long-polling; the websocket transport on the same URL",
    "Notifications",
    {200: "BayeuxAnswer", 204: "", 400: "BayeuxRefusal"},
    body="BayeuxRequest",
    access="cometd",
    description="Handshake, connect, subscribe, unsubscribe, disconnect (docs/notifications.md). The "
    "handshake authenticates with HTTP Basic or the `JSESSIONID` cookie; an unauthenticated one is "
    "answered `403::Handshake denied` in band. Refusals of single messages are replies with "
    "`successful: false` in an HTTP 200 answer (Bayeux); HTTP 400 is for a body that is not a batch of "
    "JSON objects. HTTP 204: the client went away while its connect was held. A websocket upgrade on "
    "this URL carries the same messages, one JSON array per frame.",
)


SPECS: Mapping[tuple[str, str], Spec] = {
    ("/api/v2/me", "GET"): Spec(
        "The caller's user resource", "Me", {200: "UserAnswer", 400: F, 401: F}, query=(_SUBRESOURCES,)
    ),
    ("/api/v2/me", "POST"): Spec(
        "Start or end the caller's contact-center session (log in, log out)",
        "Me",
        {200: ("Ok", "PartialSuccess"), 400: F, 401: F},
        body="MeOperation",
    ),
    ("/api/v2/me/channels", "GET"): Spec(
        "The caller's channel states", "Me", {200: "ChannelsAnswer", 401: F}
    ),
    ("/api/v2/me/channels/{channel}", "GET"): Spec(
        "One of the caller's channels", "Me", {200: "ChannelAnswer", 400: F, 401: F}, path_parameters=_CHANNEL
    ),
    ("/api/v2/me/channels/{channel}", "POST"): Spec(
        "Ready / NotReady on the caller's channel",
        "Me",
        {200: "Ok", 400: F, 401: F, 404: F, 409: F},
        body="ChannelOperation",
        path_parameters=_CHANNEL,
    ),
    ("/api/v2/me/smssessions", "GET"): Spec(
        "The caller's SMS sessions",
        "SMS sessions",
        {200: ("Uris", "SessionsAnswer"), 401: F, 404: F},
        query=(_FIELDS,),
    ),
    ("/api/v2/me/smssessions", "POST"): Spec(
        "Start a conversation with a customer (agents; smsdesk's extension)",
        "SMS sessions",
        {200: "SessionAnswer", 400: F, 401: F, 403: F, 404: F, 409: F},
        body="CreateSession",
        description="The agent is Chatting at once (it counts against their capacity) and `text` goes out "
        "as the first SMS from `businessNumber`. Refusals: an impossible number (10), not an agent (5), a "
        "business number not ours (6), an opted-out customer (3), no SMS channel session (2), at capacity "
        "(19), a conversation with that customer open on that number (18). docs/api.md.",
    ),
    ("/api/v2/me/smssessions/{session_id}", "GET"): _SESSION_GET,
    ("/api/v2/smssessions/{session_id}", "GET"): _SESSION_GET,
    ("/api/v2/me/smssessions/{session_id}", "POST"): _SESSION_OP,
    ("/api/v2/smssessions/{session_id}", "POST"): _SESSION_OP,
    ("/api/v2/me/smssessions/{session_id}/messages", "GET"): _MESSAGES,
    ("/api/v2/smssessions/{session_id}/messages", "GET"): _MESSAGES,
    ("/api/v2/users", "GET"): Spec(
        "Users", "Users", {200: ("Uris", "UsersAnswer"), 401: F}, query=(_FIELDS,)
    ),
    ("/api/v2/users", "POST"): Spec(
        "Create a user (admins)",
        "Users",
        {200: "CreatedUser", 400: F, 401: F, 403: F, 409: F},
        body="CreateUser",
    ),
    ("/api/v2/users/{user_id}", "GET"): Spec(
        "One user; `subresources=smssessions` is GetAgentInteractions (supervisors)",
        "Users",
        {200: "UserAnswer", 400: F, 401: F, 403: F, 404: F},
        query=(_FIELDS, _SUBRESOURCES),
    ),
    ("/api/v2/users/{user_id}", "PUT"): Spec(
        "Update a user (admins): the fields given change, `roles` replaces the set",
        "Users",
        {200: "UserAnswer", 400: F, 401: F, 403: F, 404: F},
        body="UpdateUser",
    ),
    ("/api/v2/users/{user_id}", "DELETE"): Spec(
        "Delete a user (admins); their sessions go on without them",
        "Users",
        {200: "Ok", 400: F, 401: F, 403: F, 404: F, 409: F},
    ),
    ("/api/v2/users/{user_id}/channels/{channel}", "POST"): Spec(
        "Supervision of an agent (Monitor, Coach, BargeIn, CancelSupervisorMonitoring) or its Ready / NotReady",
        "Supervision",
        {200: "Ok", 400: F, 401: F, 403: F, 404: F, 409: F},
        body="UserChannelOperation",
        path_parameters=_CHANNEL,
        description="Supervisors only. An unknown channel is not found for the supervision operations, "
        "and invalid (statusCode 10) for Ready and NotReady; the supervision operations take no spaces "
        "around the channel name.",
    ),
    ("/api/v2/users/{user_id}/smssessions/{session_id}", "POST"): Spec(
        "Intrude: join the agent's current session (supervisors)",
        "Supervision",
        {200: "Ok", 400: F, 401: F, 403: F, 404: F, 409: F},
        body="SupervisorOperation.Intrude",
    ),
    ("/api/v2/skills", "GET"): Spec(
        "The contact center's skills (supervisors, admins): URIs, or objects with `fields=*`",
        "Skills",
        {200: ("Uris", "SkillsAnswer"), 401: F, 403: F},
        query=(_FIELDS,),
    ),
    ("/api/v2/skills/{name}", "GET"): Spec(
        "One skill (supervisors, admins)", "Skills", {200: "SkillAnswer", 401: F, 403: F, 404: F}
    ),
    ("/api/v2/users/{user_id}/skills", "GET"): Spec(
        "A user's skills (their own; anyone's for supervisors and admins)",
        "Skills",
        {200: "SkillsAnswer", 401: F, 403: F, 404: F},
    ),
    ("/api/v2/users/{user_id}/skills", "POST"): Spec(
        "Give a user a skill or change its level (admins)",
        "Skills",
        {200: "Ok", 400: F, 401: F, 403: F, 404: F},
        body="AddSkill",
    ),
    ("/api/v2/users/{user_id}/skills/{name}", "DELETE"): Spec(
        "Take a skill from a user (admins)", "Skills", {200: "Ok", 401: F, 403: F, 404: F}
    ),
    ("/api/v2/statistics", "GET"): Spec(
        "Real-time statistics: queues and agents (an agent gets only their own figures)",
        "Statistics",
        {200: "StatisticsAnswer", 401: F},
    ),
    ("/api/v2/smssessions", "GET"): Spec(
        "Customer history and transcript search (supervisors see all; agents what they took part in)",
        "Statistics",
        {200: "HistoryAnswer", 400: F, 401: F, 403: F},
        query=(
            Query("customerNumber", PHONE, "The customer's number, E.164"),
            Query("from", _DAY_OR_TIME, "An ISO date or date-time: sessions since"),
            Query("to", _DAY_OR_TIME, "An ISO date or date-time: sessions until"),
            Query("queue", {"type": "string"}, "A queue's name"),
            Query("agent", {"type": "string"}, "A user name or id"),
            Query("q", {"type": "string"}, "Words in the transcript (full-text)"),
            _FIELDS,
            Query("offset", {"type": "integer", "minimum": 0, "maximum": 1_000_000}, "Sessions skipped"),
            Query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "Sessions at most"),
        ),
    ),
    ("/api/v2/reports/queues", "GET"): _report("queues", ("queue", "hour", "day")),
    ("/api/v2/reports/agents", "GET"): _report("agents", ("agent", "hour", "day")),
    ("/metrics", "GET"): Spec(
        "Prometheus metrics (open in `smsdesk demo`; `serve`: `Authorization: Bearer <metrics_token>`, or on "
        "`metrics_port`, else 404)",
        "Operations",
        {200: "PromText", 401: "PromText", 404: "PromText"},
        access="public",
    ),
    ("/api/v2/responses", "GET"): Spec(
        "Search the standard responses (any user; smsdesk's extension)",
        "Agent tools",
        {200: "ResponsesAnswer", 400: F, 401: F},
        query=(
            Query("q", {"type": "string", "maxLength": 200}, "Words, each in the name, category or text"),
            Query("category", {"type": "string", "maxLength": 200}, "Only this category (any case)"),
        ),
    ),
    ("/api/v2/responses", "POST"): Spec(
        "Add a standard response (supervisors, admins)",
        "Agent tools",
        {200: "ResponseAnswer", 400: F, 401: F, 403: F},
        body="StandardResponseBody",
    ),
    ("/api/v2/responses/{response_id}", "GET"): Spec(
        "One standard response; `session` fills its placeholders",
        "Agent tools",
        {200: "ResponseAnswer", 401: F, 404: F},
        query=(Query("session", {"type": "string"}, "An SMS session of the caller's: adds `filledText`"),),
    ),
    ("/api/v2/responses/{response_id}", "PUT"): Spec(
        "Replace a standard response (supervisors, admins)",
        "Agent tools",
        {200: "ResponseAnswer", 400: F, 401: F, 403: F, 404: F},
        body="StandardResponseBody",
    ),
    ("/api/v2/responses/{response_id}", "DELETE"): Spec(
        "Delete a standard response (supervisors, admins)",
        "Agent tools",
        {200: "Ok", 401: F, 403: F, 404: F},
    ),
    ("/api/v2/contacts/{number}/notes", "GET"): Spec(
        "The notes about a customer (supervisors; agents for customers of their sessions)",
        "Agent tools",
        {200: "NotesAnswer", 400: F, 401: F, 404: F},
    ),
    ("/api/v2/contacts/{number}/notes", "POST"): Spec(
        "Add a note about a customer, never sent to them",
        "Agent tools",
        {200: "NoteAnswer", 400: F, 401: F, 404: F},
        body="ContactNoteBody",
    ),
    ("/api/v2/media/{media_id}", "GET"): Spec(
        "The bytes of an inbound MMS's picture (or other media), to the users who may read its message",
        "Media",
        {200: "MediaBytes", 401: F, 404: F},
        description="The `uri` of an item of a transcript message's `media` list (smsdesk's addition, docs/api.md"
        ' "Media"). Served with its stored content type (pictures, audio, video, PDF: never HTML),'
        " `X-Content-Type-Options: nosniff` and `Content-Disposition` (`inline` for pictures, else"
        " `attachment`). Not found (statusCode 6) for an unknown id and for a user who may not read the message.",
    ),
    ("/api/v2/queues", "GET"): Spec(
        "The configured queues (smsdesk's addition): transfer targets",
        "Queues",
        {200: "QueuesAnswer", 401: F},
    ),
    ("/api/v2/me/supervision", "GET"): Spec(
        "The caller's monitoring subscriptions (supervisors)",
        "Supervision",
        {200: "SubscriptionsAnswer", 401: F, 403: F},
    ),
    ("/api/v2/audit", "GET"): Spec(
        "The supervision audit log, newest first (admins)",
        "Supervision",
        {200: "AuditAnswer", 400: F, 401: F, 403: F},
        query=(
            Query(
                "limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "At most this many (default 100)"
            ),
            Query(
                "before",
                {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
                "Entries with a lower id",
            ),
        ),
    ),
    ("/api/v2/features", "GET"): Spec(
        "The features enabled on this server",
        "Features",
        {200: ("Uris", "FeaturesAnswer"), 401: F},
        query=(_FIELDS,),
    ),
    ("/api/v2/features/{feature_id}", "GET"): Spec(
        "One enabled feature", "Features", {200: "FeatureAnswer", 401: F, 404: F}
    ),
    ("/api/v2/notifications", "POST"): _COMETD,
    ("/api/v2/notifications/{tail}", "POST"): _COMETD,
    ("/sms/simulator/inbound", "POST"): Spec(
        "The SMS simulator: a customer texts the contact center",
        "SMS providers",
        {200: "SimulatorAccepted", 400: F},
        body="SimulatorInbound",
        access="public",
        description="Served when the simulator is enabled (`SMSDESK_SIMULATOR_ENABLED`).",
    ),
    ("/sms/simulator/outbound", "GET"): Spec(
        "The SMS simulator: what the simulated phone received",
        "SMS providers",
        {200: "SimulatorOutbound", 400: F},
        access="public",
        query=(Query("to", PHONE, "The customer's number", required=True),),
    ),
    ("/sms/twilio/inbound", "POST"): Spec(
        "Twilio's inbound-message webhook",
        "SMS providers",
        {200: "TwiML", 400: F, 403: F, 413: F, 415: F},
        body="TwilioInbound",
        body_media="application/x-www-form-urlencoded",
        access="twilio",
        description="Served when Twilio is configured. A request without a valid `X-Twilio-Signature` is "
        "refused (HTTP 403, statusCode 3). The answer, after the message is stored, is empty TwiML.",
    ),
    ("/sms/twilio/status", "POST"): Spec(
        "Twilio's status callback for a message sent",
        "SMS providers",
        {200: "TwiML", 400: F, 403: F, 413: F, 415: F},
        body="TwilioStatus",
        body_media="application/x-www-form-urlencoded",
        access="twilio",
        query=(
            Query("outbox", {"type": "string"}, "Set by this server when sending (part of the signed URL)"),
        ),
    ),
    ("/health", "GET"): Spec("Liveness and version", "Health", {200: "Health"}, access="public"),
}
