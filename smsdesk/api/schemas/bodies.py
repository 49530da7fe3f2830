"""Request bodies, as the handlers read them.

Session operations (`POST /api/v2{,/me}/smssessions/{id}`): `SESSION_PARAMETERS` gives each `Operation`
(`smsdesk/domain/operations.py`) the model of its parameters; `smsdesk/api/openapi.py` joins them into one
union discriminated by `operationName`, with every spelling the parser accepts. Parameters read by
`smsdesk/domain/transitions.py` (`get_str`: a non-empty string, `null` is missing; `get_opt_str`: a
string or `null`; `get_bool`: `true`/`false` or those words as strings; texts at most
`MAX_TEXT` characters). Members not listed are ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from smsdesk.domain.operations import Operation as Op
from smsdesk.domain.outcome import Context
from smsdesk.sms.media import BASE64

__all__ = [
    "CHANNEL_NAME",
    "MAX_TEXT",
    "NOT_SPACE",
    "PHONE",
    "SESSION_PARAMETERS",
    "SPACE",
    "ChannelStateParams",
    "ContactNoteBody",
    "CreateSession",
    "CreateUser",
    "IntrudeParams",
    "MonitorParams",
    "NoParams",
    "SimulatorInbound",
    "StandardResponseBody",
    "StartContactCenterSessionParams",
    "TwilioInbound",
    "TwilioStatus",
]

MAX_TEXT: int = Context.__dataclass_fields__["max_text_length"].default  # type: ignore[assignment]

# Python's whitespace (`str.strip`, `re`'s `\s`: what the handlers trim and match), spelled out: a JSON
# Schema regex's `\s` is ECMA's, which differs (no \x1c-\x1f nor \x85; \ufeff).
SPACE = r"[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
NOT_SPACE = "[^" + SPACE[1:]
# A text the transcript takes: not empty nor only spaces (`Change.text`).
_TEXT = NOT_SPACE
# `sms`, `smssession`, `smsession`, `smssessions` or `smsessions` in any case, surrounding spaces ignored
# (`agents.canonical_channel`).
CHANNEL_NAME = rf"^{SPACE}*([Ss][Mm][Ss]|[Ss][Mm][Ss]?[Ss][Ee][Ss][Ss][Ii][Oo][Nn][Ss]?){SPACE}*$"
_BOOL_TEXT = rf"^{SPACE}*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]){SPACE}*$"
# `parse_target`: the last two segments name a user or a queue (surrounding spaces trimmed).
_ID = "[^/?#" + SPACE[1:-1] + "]+"
_USER_OR_QUEUE = rf"(^|/)(users|queues)/{_ID}/?{SPACE}*$"
_USER = rf"(^|/)users/{_ID}/?{SPACE}*$"

Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT, pattern=_TEXT)]
Name = Annotated[str, Field(min_length=1, pattern=_TEXT)]
BoolText = Annotated[str, Field(pattern=_BOOL_TEXT)]
SaveLar = Annotated[
    bool | BoolText | None,
    Field(description="Make the caller the customer's last agent routing (LAR) target", alias="saveLAR"),
]


class JsonBody(BaseModel):
    """Members other than those described are ignored."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class NoParams(JsonBody):
    """No parameters besides `operationName`."""


class AcceptParams(JsonBody):
    nickname: str | None = Field(None, description="The caller's display name in this session")
    save_lar: SaveLar = None


class CompleteParams(JsonBody):
    queueName: Name | None = Field(
        None, description="Put the session back in this queue instead of ending it"
    )
    save_lar: SaveLar = None


class TextParams(JsonBody):
    text: Text


class TypingParams(JsonBody):
    text: Text | None = Field(None, description="What the caller has typed so far (a preview)")


class UrlParams(JsonBody):
    url: Annotated[str, Field(max_length=MAX_TEXT, pattern=r"^https?://\S+$")]


class NoticeParams(JsonBody):
    noticeText: Text


UserDataValue = Annotated[str | float, Field(description="a string or a number")]


class UserDataParams(JsonBody):
    userData: Annotated[
        dict[Annotated[str, Field(min_length=1)], UserDataValue],
        Field(min_length=1, description="Keys to set; the other keys keep their values"),
    ]


class DeleteUserDataParams(JsonBody):
    keys: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


class DispositionParams(JsonBody):
    disposition: Name
    dispositionKey: str | None = Field(
        None, description="The userData key to write (default: the server's `disposition_key`)"
    )


_TARGETS = ("targetUri", "targetPath", "userUri")


def _one_of_required(names: tuple[str, ...]) -> dict[str, Any]:
    return {"anyOf": [{"required": [n], "properties": {n: {"type": "string"}}} for n in names]}


class InviteParams(JsonBody):
    """The target: the first of `targetUri`, `targetPath`, `userUri` given (a user or a queue)."""

    model_config = ConfigDict(json_schema_extra=_one_of_required(_TARGETS))
    targetUri: Annotated[str, Field(pattern=_USER_OR_QUEUE)] | None = Field(
        None, description="`.../users/{userId}` or `.../queues/{name}`"
    )
    targetPath: Annotated[str, Field(pattern=_USER_OR_QUEUE)] | None = None
    userUri: Annotated[str, Field(pattern=_USER_OR_QUEUE)] | None = None
    text: Text | None = Field(
        None,
        description="A note for the agents (smsdesk's addition): shown in the offer, never to the customer",
    )
    visibility: Literal["All", "Agents"] | None = Field(
        None, description="Invite and Consult notes are always for agents only"
    )


class TransferParams(InviteParams):
    """The target: `queueName`, else the first of `targetUri`, `targetPath`, `userUri` given."""

    model_config = ConfigDict(json_schema_extra=_one_of_required(("queueName", *_TARGETS)))
    queueName: Name | None = None
    text: Text | None = Field(
        None,
        description="A text sent to the customer before the transfer, and shown to the next agent in the offer",
    )
    visibility: Literal["All", "Agents"] | None = Field(
        None, description="`Agents`: the text is a note for the next agent only (smsdesk's addition)"
    )


class RemoveParams(JsonBody):
    """The agent to remove: the first of `targetUri`, `targetPath`, `userUri` given."""

    model_config = ConfigDict(json_schema_extra=_one_of_required(_TARGETS))
    targetUri: Annotated[str, Field(pattern=_USER)] | None = Field(None, description="`.../users/{userId}`")
    targetPath: Annotated[str, Field(pattern=_USER)] | None = None
    userUri: Annotated[str, Field(pattern=_USER)] | None = None


SESSION_PARAMETERS: dict[Op, type[JsonBody]] = {
    Op.ACCEPT: AcceptParams,
    Op.REJECT: NoParams,
    Op.COMPLETE: CompleteParams,
    Op.LEAVE: NoParams,
    Op.LEAVE_AND_COMPLETE: NoParams,
    Op.SEND_MESSAGE: TextParams,
    Op.SEND_URL: UrlParams,
    Op.SEND_START_TYPING: TypingParams,
    Op.SEND_STOP_TYPING: TypingParams,
    Op.SEND_TO_AGENTS: TextParams,
    Op.SEND_START_TYPING_TO_AGENTS: TypingParams,
    Op.SEND_STOP_TYPING_TO_AGENTS: TypingParams,
    Op.SEND_CUSTOM_NOTICE: NoticeParams,
    Op.SEND_CUSTOM_NOTICE_TO_AGENTS: NoticeParams,
    Op.ATTACH_USER_DATA: UserDataParams,
    Op.UPDATE_USER_DATA: UserDataParams,
    Op.DELETE_USER_DATA: DeleteUserDataParams,
    Op.SET_DISPOSITION: DispositionParams,
    Op.SET_IN_FOCUS: NoParams,
    Op.TRANSFER: TransferParams,
    Op.INVITE: InviteParams,
    Op.CONSULT: InviteParams,
    Op.CANCEL_CONSULT: NoParams,
    Op.REMOVE_PARTICIPANT: RemoveParams,
    Op.SWITCH_TO_MONITOR: NoParams,
    Op.SWITCH_TO_COACH: NoParams,
    Op.SWITCH_TO_BARGE_IN: NoParams,
}


# -- /api/v2/me and channels ---------------------------------------------------------------------------


class StartContactCenterSessionParams(JsonBody):
    channels: Annotated[
        list[str],
        Field(
            min_length=1,
            description='Default `["sms"]`. Names this server does not offer fail one by one (statusCode 7, '
            "partial success); at least one must be the SMS channel",
            json_schema_extra={"contains": {"type": "string", "pattern": CHANNEL_NAME}},
        ),
    ] = ["sms"]


class ChannelStateParams(JsonBody):
    """`reason` (or, without it, `reasonCode`): why the agent is not ready."""

    reason: str | None = None
    reasonCode: str | None = None


class MonitorParams(JsonBody):
    supervisorMonitoringMode: Annotated[
        str,
        Field(
            pattern=r"^([Nn][Ee][Xx][Tt]|[Aa][Ll][Ll])[Cc][Hh][Aa][Tt][Ss]?$",
            description="`NextChat` (the agent's next session only) or `AllChats` (default), any case",
        ),
    ] = "AllChats"
    nickname: str | None = Field(None, description="The supervisor's display name (default: the user name)")


_MODE = rf"^{SPACE}*([Mm][Oo][Nn][Ii][Tt][Oo][Rr]|[Cc][Oo][Aa][Cc][Hh]|[Bb][Aa][Rr][Gg][Ee][Ii][Nn]){SPACE}*$"


class IntrudeParams(JsonBody):
    supervisorVisibilityMode: Annotated[str, Field(pattern=_MODE)] = Field(
        description="Monitor, Coach or BargeIn (any case). May be left out while you monitor this agent: "
        "your subscription's mode is used (else statusCode 1)"
    )
    nickname: Any = Field(None, description="The supervisor's display name, when a string")


# -- users ----------------------------------------------------------------------------------------------

_ROLE = rf"^{SPACE}*([Rr][Oo][Ll][Ee]_)?([Aa][Gg][Ee][Nn][Tt]|[Ss][Uu][Pp][Ee][Rr][Vv][Ii][Ss][Oo][Rr]|[Aa][Dd][Mm][Ii][Nn]){SPACE}*$"
_Short = Annotated[str, Field(max_length=128)]
_EMAIL_PART = "[^@" + SPACE[1:-1] + "]+"
_Email = Annotated[
    str,
    Field(
        max_length=256,
        pattern=rf"^{SPACE}*({_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART})?{SPACE}*$",
        description="`name@example.com`, or empty for none (spec §9.7 `emailAddress`)",
    ),
]


class CreateUser(JsonBody):
    userName: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@+-]{1,64}$")]
    password: Annotated[str, Field(max_length=128, description="At least `password_min_length` characters")]
    roles: Annotated[list[Annotated[str, Field(pattern=_ROLE)]], Field(min_length=1)] = ["ROLE_AGENT"]
    firstName: _Short | None = None
    lastName: _Short | None = None
    nickname: _Short | None = None
    capacity: Annotated[int, Field(ge=0, le=100, description="Concurrent SMS sessions (0: the default)")] = 0
    emailAddress: _Email | None = None


class AddSkill(JsonBody):
    """`POST /api/v2/users/{id}/skills`: give the user a skill, or change its level (admins)."""

    name: Annotated[
        str,
        Field(
            pattern=rf"^{SPACE}*[A-Za-z0-9][A-Za-z0-9 ._@+-]{{0,63}}{SPACE}*$",
            description="The skill's name (its id): letters, digits, spaces or . _ @ + -",
        ),
    ]
    level: Annotated[int, Field(ge=0, le=1000, description="The level the user holds it at")] = 1


class UpdateUser(JsonBody):
    """`PUT /api/v2/users/{id}`: the fields given change, the others stay; `roles` replaces the set. `null`
    leaves a field as it is; any other key is refused."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(None, description="Ignored: the URL names the user")
    userName: str | None = Field(None, description="Ignored: a user name is not changed")
    firstName: _Short | None = None
    lastName: _Short | None = None
    nickname: _Short | None = None
    emailAddress: _Email | None = None
    capacity: (
        Annotated[int, Field(ge=0, le=100, description="Concurrent SMS sessions (0: the default)")] | None
    ) = None
    enabled: bool | None = None
    roles: Annotated[list[Annotated[str, Field(pattern=_ROLE)]], Field(min_length=1)] | None = None


# -- SMS providers --------------------------------------------------------------------------------------

PHONE_PATTERN = r"^\+1(1?[0-9]{10}|[0-9]{7})$"
PHONE: dict[str, Any] = {"type": "string", "maxLength": 40, "pattern": PHONE_PATTERN}
_PHONE = Annotated[
    str,
    Field(
        max_length=40,
        pattern=PHONE_PATTERN,
        description="A phone number in E.164 (`+` and digits). Any number possible for its country is "
        "accepted (libphonenumber); the pattern describes the North American ones",
    ),
]


class SimulatorMedia(JsonBody):
    """A picture (or other media) of the phone's MMS; type and size are checked as for every provider's: one
    refused is kept unavailable on the message (docs/api.md, "Media")."""

    contentType: Annotated[str, Field(min_length=1, max_length=128)] = Field(description="e.g. `image/png`")
    data: Annotated[str, Field(min_length=4, pattern=rf"^{BASE64}$")] = Field(
        description="The bytes, in base64"
    )


class SimulatorInbound(JsonBody):
    """`text`, or `media`, or both: a text may be empty when pictures come with it."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["text"], "properties": {"text": {"type": "string", "minLength": 1}}},
                {"required": ["media"], "properties": {"media": {"type": "array", "minItems": 1}}},
            ]
        }
    )
    from_: _PHONE = Field(alias="from", description="The customer's number")
    to: _PHONE = Field(description="The business number the customer texted")
    text: Annotated[str, Field(max_length=1600)] | None = None
    media: Annotated[list[SimulatorMedia], Field(max_length=3)] | None = Field(
        None, description="Pictures sent with the text (an MMS)"
    )
    messageId: Annotated[str, Field(max_length=64)] | None = Field(
        None, description="The provider's id (a repeat with the same id is stored once)"
    )


class TwilioInbound(JsonBody):
    """Twilio's inbound-message webhook, form-encoded and signed (`X-Twilio-Signature`). Only a request whose
    signature is valid is read: the rest is refused before its fields are looked at."""

    MessageSid: str | None = Field(None, description="Or `SmsMessageSid`")
    From: str = Field(description="The customer's number")
    To: str = Field(description="The business number")
    Body: str | None = Field(None, description="The text (required without media)")
    NumMedia: str | None = Field(None, description="0..10; `MediaUrl0`... follow")


class TwilioStatus(JsonBody):
    """Twilio's status callback for a message we sent (form-encoded, signed); `?outbox=` is ours."""

    MessageSid: str | None = Field(None, description="Or `SmsSid`")
    MessageStatus: str | None = Field(
        None, description="Or `SmsStatus`; statuses we do not track are ignored"
    )
    ErrorCode: str | None = None
    ErrorMessage: str | None = None


class StandardResponseBody(JsonBody):
    """`POST /api/v2/responses`, `PUT /api/v2/responses/{id}` (supervisors, admins; smsdesk's extension): a
    standard response, kept as written. Placeholders filled when inserted: `{agentNickname}`,
    `{agentFirstName}`, `{customerNumber}`, `{userData.KEY}` (docs/api.md, "Standard responses")."""

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=_TEXT)]
    category: Annotated[str, Field(max_length=100, description="Empty or missing: no category")] | None = None
    text: Annotated[str, Field(min_length=1, max_length=2000, pattern=_TEXT)]


class ContactNoteBody(JsonBody):
    """`POST /api/v2/contacts/{number}/notes` (smsdesk's extension): a note about the customer, never sent."""

    text: Annotated[str, Field(min_length=1, max_length=2000, pattern=_TEXT)]


class CreateSession(JsonBody):
    """`POST /api/v2/me/smssessions` (agents; smsdesk's extension): start a conversation with a customer. The
    agent is Chatting in it at once and `text` is its first SMS (docs/api.md, "Agent-started conversations")."""

    operationName: Annotated[
        str, Field(pattern=rf"^{SPACE}*[Cc][Rr][Ee][Aa][Tt][Ee]{SPACE}*$", description="`Create` (any case)")
    ]
    customerNumber: _PHONE = Field(description="The customer's number")
    businessNumber: _PHONE = Field(description="One of our business numbers: the sender")
    text: Text
