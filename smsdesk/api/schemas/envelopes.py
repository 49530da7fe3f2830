"""The answers: GWS envelopes (spec §9.5), each with `statusCode`; resources as the handlers print them.

Resources allow members beyond those described (the GWS samples carry more in places, and a resource may
grow); envelopes of failures hold `statusCode` and `statusMessage` and nothing else.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ENVELOPES",
    "Failure",
]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Failure(_Closed):
    """Any failure: nothing was changed (spec §9.5)."""

    statusCode: Annotated[int, Field(ge=1, description="The GWS statusCode (docs/api.md)")]
    statusMessage: str


class Ok(_Closed):
    statusCode: Literal[0]
    referenceId: int | None = Field(None, description="Invite, Consult and CancelConsult")


class Uris(_Closed):
    """A collection without `fields`: the resources' URIs."""

    statusCode: Literal[0]
    uris: list[str]


class Channel(_Open):
    channel: str
    dndState: str
    userState: dict[str, Any] = Field(description="`state` (Ready, NotReady, ...), `displayName`, `id`")


class ChannelResult(_Closed):
    channel: str
    statusCode: int
    statusMessage: str | None = None


class PartialSuccess(_Closed):
    """StartContactCenterSession with channels this server does not offer (statusCode 7, HTTP 200)."""

    statusCode: Literal[7]
    channels: list[ChannelResult]


class SmsSession(_Open):
    """An SMS session as the caller sees it (an observer's view for a supervisor who is not in it)."""

    id: str
    uri: str
    path: str | None = None
    state: str | None = None
    capabilities: list[str] | None = None
    participants: list[dict[str, Any]] | None = None
    userData: dict[str, Any] | None = None


class User(_Open):
    """With `fields`, only the fields asked for (and `id`, `uri`, `path`)."""

    id: str
    uri: str
    path: str
    userName: str | None = None
    roles: list[str] | None = None
    channels: list[Channel] | None = None
    smssessions: list[SmsSession] | None = None


class UserAnswer(_Closed):
    statusCode: Literal[0]
    user: User


class UsersAnswer(_Closed):
    statusCode: Literal[0]
    users: list[User]


class CreatedUser(_Closed):
    statusCode: Literal[0]
    id: str
    uri: str
    path: str


class ChannelsAnswer(_Closed):
    statusCode: Literal[0]
    channels: list[Channel]


class ChannelAnswer(_Closed):
    statusCode: Literal[0]
    channel: Channel


class SessionAnswer(_Closed):
    statusCode: Literal[0]
    smssession: SmsSession


class SessionsAnswer(_Closed):
    statusCode: Literal[0]
    smssessions: list[SmsSession]


class MessagesAnswer(_Closed):
    statusCode: Literal[0]
    messages: list[dict[str, Any]] = Field(description="Transcript entries (`index`, `type`, `from`, ...)")


class Feature(_Closed):
    id: str
    description: str
    uri: str


class FeaturesAnswer(_Closed):
    statusCode: Literal[0]
    features: list[Feature]


class FeatureAnswer(_Closed):
    statusCode: Literal[0]
    feature: Feature


class Subscription(_Closed):
    agentId: str
    agentUserName: str | None
    agentUri: str
    operationName: str = Field(description="Monitor, Coach or BargeIn")
    supervisorMonitoringMode: str = Field(description="NextChat or AllChats")
    nickname: str
    since: int = Field(description="Milliseconds since the epoch")


class SubscriptionsAnswer(_Closed):
    statusCode: Literal[0]
    subscriptions: list[Subscription]


class AuditEntry(_Closed):
    id: int
    actorId: str
    action: str
    targetId: str | None
    details: dict[str, Any]
    timestamp: int


class AuditAnswer(_Closed):
    statusCode: Literal[0]
    entries: list[AuditEntry]


class Health(_Closed):
    statusCode: Literal[0]
    version: str


class SimulatorAccepted(_Closed):
    statusCode: Literal[0]
    messageId: str


class SimulatorOutbound(_Closed):
    statusCode: Literal[0]
    messages: list[dict[str, Any]] = Field(description="What the simulated phone received, oldest first")


class Skill(_Open):
    id: str
    name: str
    level: int | None = None
    uri: str


class SkillAnswer(_Closed):
    statusCode: Literal[0]
    skill: Skill


class SkillsAnswer(_Closed):
    statusCode: Literal[0]
    skills: list[Skill]


class StatisticsAnswer(_Open):
    """`GET /api/v2/statistics` (docs/operations.md): per queue and per agent, `asOf`."""

    statusCode: Literal[0]
    queues: list[dict[str, Any]]
    agents: list[dict[str, Any]]


class HistoryAnswer(_Open):
    """`GET /api/v2/smssessions` (docs/operations.md): the sessions found, newest first, and paging."""

    statusCode: Literal[0]


class ReportAnswer(_Open):
    """`GET /api/v2/reports/{queues|agents}` (docs/operations.md); CSV with `Accept: text/csv`."""

    statusCode: Literal[0]


class Queue(_Open):
    name: str
    uri: str
    path: str


class QueuesAnswer(_Closed):
    """`GET /api/v2/queues` (smsdesk's addition): the configured queues."""

    statusCode: Literal[0]
    queues: list[Queue]


class StandardResponse(_Open):
    id: str
    name: str
    category: str
    text: str
    uri: str
    filledText: str | None = Field(
        None, description="With `?session=`: the text with its placeholders filled for that session"
    )


class ResponseAnswer(_Closed):
    statusCode: Literal[0]
    response: StandardResponse


class ResponsesAnswer(_Closed):
    statusCode: Literal[0]
    responses: list[StandardResponse]


class ContactNote(_Open):
    id: str
    customerNumber: str
    authorId: str
    authorName: str
    text: str
    createdMs: int


class NoteAnswer(_Closed):
    statusCode: Literal[0]
    note: ContactNote


class NotesAnswer(_Closed):
    statusCode: Literal[0]
    notes: list[ContactNote]


ENVELOPES: tuple[type[BaseModel], ...] = (
    Failure,
    StatisticsAnswer,
    HistoryAnswer,
    ReportAnswer,
    ResponseAnswer,
    ResponsesAnswer,
    NoteAnswer,
    NotesAnswer,
    SkillAnswer,
    SkillsAnswer,
    QueuesAnswer,
    Ok,
    Uris,
    PartialSuccess,
    UserAnswer,
    UsersAnswer,
    CreatedUser,
    ChannelsAnswer,
    ChannelAnswer,
    SessionAnswer,
    SessionsAnswer,
    MessagesAnswer,
    FeaturesAnswer,
    FeatureAnswer,
    SubscriptionsAnswer,
    AuditAnswer,
    Health,
    SimulatorAccepted,
    SimulatorOutbound,
)
