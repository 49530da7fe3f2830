"""Driver and wire schema shared by the SMS session conformance tests (``tests/api/test_operations_*.py``).

``Desk`` runs a scenario through the public HTTP API only (REST + the SMS simulator) and reads what each
user's CometD clients receive: ``seen(user)`` returns the ``/v2/me/smssessions`` notifications that user got
since the previous call, each one validated against the wire schema below (spec §4.1, §4.2, §4.5, §5 and the
decisions in docs/sessions.md). ``brief`` turns a notification into one short line so a test can assert the
exact sequence each participant receives; tests then look into the bodies where the content matters.

This module holds no tests; pytest collects it because of its name, which the file ownership rules require.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from smsdesk.api.errors import HTTP_STATUS
from smsdesk.domain.operations import Operation
from tests.api.conftest import Api

__all__ = [
    "BASE",
    "BIZ",
    "CONFERENCE",
    "CUST",
    "LEFT_CHAT",
    "SOLO",
    "TO_AGENTS",
    "USERS",
    "Desk",
    "brief",
    "check_event",
    "check_message",
    "check_session",
    "people",
]

BASE = "http://127.0.0.1:8080"
BIZ = "+15550000000"
CUST = "+15551230001"
TOPIC = "/v2/me/smssessions"
USERS = ("agent1", "agent2", "agent3", "supervisor1", "supervisor2", "admin")

# Capability lists as the server prints them (docs/sessions.md; spec §4.4).
SOLO = [
    "Transfer", "Complete", "LeaveAndComplete", "Leave", "Invite", "Consult",
    "SetInFocus", "SetDisposition", "AttachUserData", "UpdateUserData", "DeleteUserData",
    "SendMessage", "SendUrl", "SendStartTypingNotification", "SendStopTypingNotification", "SendCustomNotice",
]  # fmt: skip
TO_AGENTS = [
    "SendToAgents", "SendStartTypingToAgentsNotification", "SendStopTypingToAgentsNotification",
    "SendCustomNoticeToAgents",
]  # fmt: skip
CONFERENCE = [*SOLO, *TO_AGENTS, "RemoveParticipantFromConference"]
LEFT_CHAT = [
    "Transfer", "Complete", "Leave", "SetInFocus", "SetDisposition", "AttachUserData", "UpdateUserData",
    "DeleteUserData",
]  # fmt: skip

_CAPABILITIES = {op.capability for op in Operation}
_TIMESTAMP = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$"

Visibility = Literal["All", "Agents", "Supervisors"]
State = Literal["Invited", "Chatting", "LeftChat", "Completed", "Revoked"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class WireParticipant(_Strict):
    nickname: str
    type: Literal["Agent", "Customer", "System"]
    participantId: Annotated[str, Field(pattern=r"^[0-9A-F]{16}$")]
    visibility: Visibility
    uri: str | None = None
    path: str | None = None

    @model_validator(mode="after")
    def _user_links(self) -> WireParticipant:
        is_user = self.type == "Agent"
        assert (self.uri is not None) == is_user, "only users (type Agent) carry uri"
        assert (self.path is not None) == is_user, "only users (type Agent) carry path"
        if self.uri is not None and self.path is not None:
            assert self.uri == BASE + "/api/v2" + self.path and self.path.startswith("/users/")
        return self


class WireMessage(_Strict):
    index: Annotated[int, Field(ge=1)]
    type: Literal[
        "Text",
        "ParticipantJoined",
        "ParticipantLeft",
        "TypingStarted",
        "TypingStopped",
        "PushUrl",
        "Notice",
        "CustomNotice",
    ]
    sender: WireParticipant = Field(alias="from")
    text: str | None = None
    url: str | None = None
    noticeText: str | None = None
    visibility: Visibility
    timestamp: Annotated[str, Field(pattern=_TIMESTAMP)]
    timestampSeconds: int
    status: str | None = None  # delivery status of an outbound text (transcript reads, MessagesUpdated)
    statusDetail: str | None = None

    @model_validator(mode="after")
    def _payload(self) -> WireMessage:
        assert (self.text is not None) == (self.type in ("Text", "Notice")) or self.type.startswith("Typing")
        assert (self.url is not None) == (self.type == "PushUrl")
        assert (self.noticeText is not None) == (self.type == "CustomNotice")
        return self


class WireOffer(_Strict):
    """smsdesk's addition to an Invited agent's session (docs/ui.md)."""

    kind: Literal["Offer", "Transfer", "Invite", "Consult"]
    expires: Annotated[str, Field(pattern=_TIMESTAMP)]
    expiresSeconds: int
    customerNumber: str
    text: str | None = None
    from_: str | None = Field(None, alias="from")


class WireSession(_Strict):
    id: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{16}$")]
    uri: str
    path: str
    state: State
    capabilities: list[str] | None = None
    participants: list[WireParticipant]
    userData: dict[str, str | int | float]
    receivedDate: Annotated[str, Field(pattern=_TIMESTAMP)]
    chatType: Literal["Inbound"]
    offer: WireOffer | None = None

    @model_validator(mode="after")
    def _consistent(self) -> WireSession:
        assert self.uri == f"{BASE}/api/v2/smssessions/{self.id}"
        assert self.path == f"/smssessions/{self.id}"
        if self.state in ("Completed", "Revoked"):
            assert self.capabilities is None and self.participants == [], (
                "terminal: no capabilities/participants"
            )
        else:
            assert self.capabilities is not None
            assert set(self.capabilities) <= _CAPABILITIES, set(self.capabilities) - _CAPABILITIES
            assert len(set(self.capabilities)) == len(self.capabilities)
        if self.state == "Invited":
            assert self.capabilities == ["Accept", "Reject"]
        else:
            assert self.offer is None, "only an Invited session carries its offer"
        return self


class StateChangeMessage(_Strict):
    messageType: Literal["SMSsessionStateChangeMessage"]
    notificationType: Literal["StatusChange", "ParticipantsUpdated", "PropertiesUpdated"]
    smssession: WireSession
    referenceId: int | None = None


class MessageLogUpdated(_Strict):
    messageType: Literal["MessageLogUpdated"]
    notificationType: Literal["NewMessages", "MessagesUpdated"]  # the second: delivery status (extension)
    messages: Annotated[list[WireMessage], Field(min_length=1)]
    smssessionUri: str
    smssessionPath: str
    referenceId: int | None = None  # the caller's, when its own request caused them (spec §5)

    @model_validator(mode="after")
    def _ordered(self) -> MessageLogUpdated:
        indices = [m.index for m in self.messages]
        assert indices == sorted(set(indices)), f"indices must strictly increase: {indices}"
        assert self.smssessionUri == BASE + "/api/v2" + self.smssessionPath
        return self


class ErrorNotification(_Strict):
    """An accepted request that failed later (docs/sessions.md, "Asynchronous errors")."""

    notificationType: Literal["Error"]
    errorMessage: Annotated[str, Field(min_length=1)]
    referenceId: int | None = None
    smssessionUri: str
    smssessionPath: str


def check_event(ev: dict[str, Any]) -> None:
    """Validate one notification (as stored for delivery) against the wire schema; raises on mismatch."""
    body = {k: v for k, v in ev.items() if not k.startswith("_")}
    if body.get("notificationType") == "Error":
        ErrorNotification.model_validate(body)
    elif body.get("messageType") == "MessageLogUpdated":
        MessageLogUpdated.model_validate(body)
    else:
        StateChangeMessage.model_validate(body)


def check_session(obj: dict[str, Any]) -> None:
    WireSession.model_validate(obj)


def check_message(obj: dict[str, Any]) -> None:
    WireMessage.model_validate(obj)


def brief(ev: dict[str, Any]) -> str:
    """``"StatusChange Chatting"``, ``"ParticipantsUpdated Chatting ref=1"``, ``"NewMessages Text/All,..."``."""
    if ev["notificationType"] == "Error":
        return f"Error {ev['errorMessage']}" + (f" ref={ev['referenceId']}" if "referenceId" in ev else "")
    if ev["messageType"] == "MessageLogUpdated":
        return f"{ev['notificationType']} " + ",".join(
            f"{m['type']}/{m['visibility']}" for m in ev["messages"]
        )
    return f"{ev['notificationType']} {ev['smssession']['state']}"


@dataclass
class Desk:
    """One SMS session driven through the HTTP API, with a notification cursor per user."""

    api: Api
    sid: str = ""
    cursor: dict[str, int] = field(default_factory=dict)
    references: dict[str, list[int]] = field(default_factory=dict)  # per user: its requests' referenceIds

    @classmethod
    async def start(
        cls, api: Api, owner: str = "agent1", *, text: str = "Hello", accept: bool = True
    ) -> Desk:
        """Only ``owner`` is Ready, so the router must offer it the customer's first text."""
        d = cls(api)
        await d.ready(owner)
        await api.text(text, customer=CUST, business=BIZ)
        await api.route()
        uris = (await api.get("/api/v2/me/smssessions", user=owner)).json()["uris"]
        assert len(uris) == 1, uris
        d.sid = uris[0].rsplit("/", 1)[1]
        if accept:
            await d.op(owner, "Accept")
        await d.settle()
        return d

    @property
    def url(self) -> str:
        return f"/api/v2/me/smssessions/{self.sid}"

    async def ready(self, *names: str) -> None:
        for n in names:
            r = await self.api.post("/api/v2/me/channels/sms", {"operationName": "Ready"}, user=n)
            assert r.json() == {"statusCode": 0}, r.text

    async def op(self, user: str, operation: str, expect: int = 0, **params: Any) -> dict[str, Any]:
        """POST one operation; asserts the statusCode and the HTTP status that goes with it."""
        r = await self.api.post(self.url, {"operationName": operation, **params}, user=user)
        body: dict[str, Any] = r.json()
        assert body["statusCode"] == expect, (operation, params, body)
        assert r.status_code == HTTP_STATUS[expect], (r.status_code, body)
        if expect:
            assert set(body) == {"statusCode", "statusMessage"} and body["statusMessage"], body
            return body
        # spec §5, issue 23: every accepted request is answered with a referenceId, unique and increasing
        # per user; ``seen`` checks the notifications quote it. The body is returned without it.
        ref = body.pop("referenceId")
        mine = self.references.setdefault(user, [])
        assert isinstance(ref, int) and (not mine or ref > mine[-1]), (ref, mine)
        mine.append(ref)
        return body

    def last_reference(self, user: str) -> int:
        return self.references[user][-1]

    async def settle(self) -> None:
        """Forget what everybody received so far: ``seen`` then returns only what comes next."""
        for name in USERS:
            self.cursor[name] = max([0, *(e["_id"] for e in await self.api.events(name))])

    async def seen(self, user: str) -> list[dict[str, Any]]:
        """The session notifications ``user`` received since the last call (schema-checked), in order."""
        events = await self.api.events(user, after=self.cursor.get(user, 0))
        if events:
            self.cursor[user] = events[-1]["_id"]
        out = [e for e in events if e["_channel"] == TOPIC]
        for e in out:
            check_event(e)
            if "referenceId" in e and e["notificationType"] != "Error":
                assert e["referenceId"] in self.references.get(user, ()), (user, e)  # its own request's
        return out

    async def briefs(self, user: str) -> list[str]:
        return [brief(e) for e in await self.seen(user)]

    async def quiet(self, *users: str) -> None:
        """Nobody listed received any session notification since the last look."""
        for u in users or USERS:
            assert await self.briefs(u) == [], u

    async def view(self, user: str) -> dict[str, Any]:
        r = await self.api.get(self.url, user=user)
        assert r.json()["statusCode"] == 0, r.text
        obj: dict[str, Any] = r.json()["smssession"]
        check_session(obj)
        return obj

    async def transcript(self, user: str, query: str = "") -> list[dict[str, Any]]:
        r = await self.api.get(f"{self.url}/messages{query}", user=user)
        assert r.json()["statusCode"] == 0, r.text
        messages: list[dict[str, Any]] = r.json()["messages"]
        for m in messages:
            check_message(m)
        return messages

    async def version(self) -> int:
        rec = await self.api.rt.store.get_session(self.sid)
        assert rec is not None
        return rec.version

    async def user_uri(self, name: str) -> str:
        return f"{BASE}/api/v2/users/{await self.api.user_id(name)}"

    async def user_path(self, name: str) -> str:
        return f"/users/{await self.api.user_id(name)}"

    async def phone(self) -> list[str]:
        """Everything the customer's phone received so far, after one outbox pass. Delivery receipts then
        notify the agents (``MessagesUpdated``): check what you expect with ``seen`` before calling this,
        because it settles every cursor afterwards."""
        await self.api.send_outbox()
        texts = await self.api.phone(CUST)
        for name in USERS:
            await self.seen(name)  # schema-checks the receipts' notifications
        return texts

    async def conference(self, member: str = "agent2", *, consult: bool = False) -> None:
        """The owner (agent1) invites (or consults) ``member``, who accepts; then everybody settles."""
        target = await self.user_uri(member)
        await self.op("agent1", "Consult" if consult else "Invite", targetUri=target)
        await self.op(member, "Accept")
        await self.settle()


def people(obj: dict[str, Any]) -> list[str]:
    """A session object's participants as ``nickname:type:visibility``."""
    return [f"{p['nickname']}:{p['type']}:{p['visibility']}" for p in obj["participants"]]
