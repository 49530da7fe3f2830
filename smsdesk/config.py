"""Typed settings, parsed once at start-up.

Precedence, lowest first: defaults < config file (TOML) < environment (``SMSDESK_<FIELD>``) < command-line flags.
Every field is listed with its environment variable in the README's configuration table.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from smsdesk.domain.hours import DAYS, Hours, parse_range

__all__ = [
    "ConfigError",
    "HoursSettings",
    "QueueSettings",
    "Settings",
    "load_settings",
    "origin_of",
    "sms_environ",
]

ENV_PREFIX = "SMSDESK_"

DEFAULT_FEATURES = (
    "api-multimedia",
    "api-multimedia-chat",
    "api-supervisor-agent-control",
    "api-supervisor-monitoring",
    "api-user-read",
)


class ConfigError(Exception):
    pass


class HoursSettings(BaseModel):
    """Business hours, ``[hours]`` or ``[queues.NAME.hours]`` (docs/routing.md): a weekly schedule in a time
    zone, and holidays (closed all day)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tz: str = "UTC"
    weekly: dict[
        str, list[str]
    ] = {}  # "mon" … "sun" -> ["09:00-12:30", "13:30-17:00"]; a missing day: closed
    holidays: list[date] = []

    @field_validator("tz")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{v}'") from None
        return v

    @field_validator("weekly")
    @classmethod
    def _week(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, ranges in v.items():
            if day not in DAYS:
                raise ValueError(f"'{day}' is not a day: use {', '.join(DAYS)}")
            for r in ranges:
                parse_range(r)
        return v

    @cached_property
    def schedule(self) -> Hours:
        weekly = tuple(tuple(parse_range(r) for r in self.weekly.get(day, [])) for day in DAYS)
        return Hours(ZoneInfo(self.tz), weekly, frozenset(self.holidays))


class QueueSettings(BaseModel):
    """One queue of ``[queues.NAME]`` / ``SMSDESK_QUEUES`` (docs/routing.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    skills: dict[str, int] = {}  # skill name -> the least level an agent needs
    priority: int = 0  # higher is served first
    overflow_after_s: float | None = Field(None, gt=0)  # a session waiting this long moves to overflow_to
    overflow_to: str | None = None
    hours: HoursSettings | None = None  # this queue's business hours; none: the global [hours], if any

    @field_validator("skills")
    @classmethod
    def _levels(cls, v: dict[str, int]) -> dict[str, int]:
        for name, level in v.items():
            if not name.strip() or len(name) > 64:
                raise ValueError("a skill name must be 1 to 64 characters")
            if level < 0:
                raise ValueError(f"skill '{name}': the level must be >= 0")
        return v


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    database_url: str = "sqlite:///./smsdesk.db"
    redis_url: str | None = None
    public_url: str | None = None  # base of the `uri` fields; default http://{host}:{port}
    csrf_enabled: bool = False
    http_session_ttl_s: int = Field(8 * 3600, ge=60)
    max_body_bytes: int = Field(1_000_000, ge=1024)
    features: tuple[str, ...] = DEFAULT_FEATURES
    disabled_features: tuple[str, ...] = ()
    default_capacity: int = Field(3, ge=1, le=100)
    offer_timeout_s: float = Field(30.0, gt=0)
    default_queue: str = "default"
    number_queues: dict[str, str] = {}  # business number -> queue name
    disposition_key: str = "DispositionCode"
    password_min_length: int = Field(4, ge=1)
    log_level: str = "info"
    workers: int = Field(
        1, ge=1, le=64
    )  # worker processes of `smsdesk serve` on one port (docs/deployment.md)
    # --- hardening (docs/security.md) ---
    max_json_depth: int = Field(32, ge=2, le=512)  # nesting of any JSON body
    allowed_origins: tuple[str, ...] = ()  # Origins trusted with credentials; default: the public URL's
    login_max_failures_per_user: int = Field(10, ge=1)  # failed logins per user name within the window
    login_max_failures_per_address: int = Field(10, ge=1)  # failed logins per client address
    login_failure_window_s: int = Field(300, ge=1)  # the window, and the longest Retry-After
    password_hash_concurrency: int = Field(2, ge=1, le=64)  # password verifications at once per process
    userdata_max_keys: int = Field(100, ge=1)  # keys of one session's userData
    userdata_max_key_length: int = Field(128, ge=1)  # characters of one userData key
    userdata_max_value_length: int = Field(4096, ge=1)  # characters of one userData value (as JSON)
    userdata_max_bytes: int = Field(32_768, ge=256)  # one session's userData as JSON, in bytes
    # desktop (issue 24): wrap-up and transfers (docs/ui.md)
    wrap_up_s: float = Field(0.0, ge=0, le=86400)  # after-call work after Complete; 0: none
    wrap_up_requires_disposition: bool = False  # wrap-up ends only once the session has a disposition
    transfer_keeps_disposition: bool = False  # a disposition set before a transfer goes to the next agent
    # -- conformance (issue 23) --
    contact_center_id: str = Field("default", min_length=1, max_length=128)  # User resource (spec §9.7)
    error_http_status: Literal["mapped", "200"] = "mapped"  # HTTP status of GWS errors (docs/api.md)
    # ---- overload (docs/deployment.md, "Overload") ----
    inbound_backlog: int = Field(
        500, ge=1
    )  # inbound SMS being stored at once per process; beyond it webhooks get 503 + Retry-After
    # ---- mms (issue 22): media of inbound messages, kept in the database (docs/api.md, "Media") ----
    media_max_bytes: int = Field(5_000_000, ge=1024, le=100_000_000)  # one media item; larger: unavailable
    # ---- PostgreSQL connections per process (docs/deployment.md, "PostgreSQL") ----
    pg_read_connections: int = Field(8, ge=1, le=100)  # one-statement reads at once
    pg_write_connections: int = Field(
        1, ge=1, le=100
    )  # write groups at once (more than one when a backlog builds: for a remote server)
    # --- routing (docs/routing.md) ---
    rona_not_ready: bool = True  # an agent who lets a routed offer lapse is set NotReady "Not Responding"
    presence_grace_s: float = Field(
        30.0, ge=0
    )  # NotReady after this long without a notification client; 0 off
    queues: dict[str, QueueSettings] = {}  # name -> skills, priority, overflow; `default` always exists
    hours: HoursSettings | None = None  # business hours of every queue without its own; none: always open
    queue_reply: str = ""  # sent once to a customer no agent can take at once; {position}, {wait}; "": off
    closed_reply: str = ""  # sent once to a customer who texts outside business hours; {opens}; "": off
    # ---- cluster: CometD clients on any node (docs/deployment.md, docs/notifications.md "Resuming") ----
    cometd_shared_clients: bool | None = None  # clients' state in the store; None: on with redis_url
    cometd_resume_s: int = Field(600, ge=0, le=86_400)  # how long a client that left can be resumed
    # liveops (docs/operations.md): statistics, reports, metrics, logs, retention
    service_level_s: int = Field(60, ge=1, le=86400)  # accepted within this many seconds: in service level
    time_zone: str = "UTC"  # IANA name: where "today" of the statistics and the days of reports begin
    metrics_token: str | None = None  # `serve`: GET /metrics needs "Authorization: Bearer <this>"
    metrics_port: int | None = Field(None, ge=1, le=65535)  # `serve`: /metrics, open, on this port too
    log_format: Literal["text", "json"] = "text"  # json: one object per line, with request and session ids
    retention_days: int | None = Field(None, ge=1)  # closed sessions older than this are purged (None: kept)
    statistics_interval_s: float = Field(1.0, ge=1.0, le=60.0)  # /v2/statistics: at most one push per this

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}: use an IANA name such as Europe/Paris") from exc
        return v

    @property
    def shares_cometd_clients(self) -> bool:
        """Whether CometD clients live in the store, served by any node (else in the process, one node)."""
        if self.cometd_shared_clients is None:
            return self.redis_url is not None
        return self.cometd_shared_clients

    @field_validator("hours", mode="before")
    @classmethod
    def _parse_hours(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return json.loads(v) if v.strip() else None
            except json.JSONDecodeError as exc:
                raise ValueError(f"hours must be a JSON object: {exc}") from None
        return v

    @field_validator("queues", mode="before")
    @classmethod
    def _parse_queues(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return json.loads(v) if v.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError(f"queues must be a JSON object of queues: {exc}") from None
        return v

    @model_validator(mode="after")
    def _known_queues(self) -> Settings:
        names = self.queue_names
        for name, q in self.queues.items():
            if not name.strip() or len(name) > 64:
                raise ValueError("a queue name must be 1 to 64 characters")
            if q.overflow_to is not None and q.overflow_to not in names:
                raise ValueError(f"queue '{name}': overflow_to names no queue: '{q.overflow_to}'")
            if q.overflow_to == name:
                raise ValueError(f"queue '{name}' cannot overflow to itself")
            if (q.overflow_to is None) != (q.overflow_after_s is None):
                raise ValueError(f"queue '{name}': set both overflow_after_s and overflow_to, or neither")
        return self

    @cached_property
    def queue_names(self) -> frozenset[str]:
        """The queues sessions may be in: ``default``, ``default_queue``, the targets of ``number_queues``,
        and those of ``queues`` (a queue named but not configured has no skills and priority 0)."""
        return frozenset({"default", self.default_queue, *self.number_queues.values(), *self.queues})

    def queue(self, name: str) -> QueueSettings:
        return self.queues.get(name) or _PLAIN_QUEUE

    def hours_of(self, queue: str) -> Hours | None:
        """The business hours of ``queue`` (its own, else the global ones); None: always open."""
        own = self.queue(queue).hours or self.hours
        return None if own is None else own.schedule

    @field_validator("error_http_status", mode="before")
    @classmethod
    def _status_text(cls, v: Any) -> Any:
        return str(v).strip() if isinstance(v, int | str) and not isinstance(v, bool) else v

    @field_validator("features", "disabled_features", "allowed_origins", mode="before")
    @classmethod
    def _split_list(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = v.strip()
            if v.startswith("["):
                return json.loads(v)
            return [x.strip() for x in v.split(",") if x.strip()]
        return v

    @field_validator("number_queues", mode="before")
    @classmethod
    def _parse_map(cls, v: Any) -> Any:
        if isinstance(v, str):
            return json.loads(v) if v.strip() else {}
        return v

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def cookie_secure(self) -> bool:
        """Cookies get ``Secure`` when the public URL is https."""
        return self.base_url.startswith("https://")

    @property
    def trusted_origins(self) -> frozenset[str]:
        """The Origins allowed to send credentialed requests: ``allowed_origins``, else the public URL's."""
        origins = self.allowed_origins or (origin_of(self.base_url),)
        return frozenset(o.rstrip("/").lower() for o in origins)

    def feature_enabled(self, name: str) -> bool:
        return name in self.features and name not in self.disabled_features

    def queue_for(self, business_number: str) -> str:
        return self.number_queues.get(business_number, self.default_queue)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (the default port left out, as browsers send it)."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" if port is None or port == default else f"{scheme}://{host}:{port}"


_PLAIN_QUEUE = QueueSettings()


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in Settings.model_fields:
        key = ENV_PREFIX + name.upper()
        if key in environ:
            out[name] = environ[key]
    return out


def _read_file(config_file: str | Path | None, env: Mapping[str, str]) -> dict[str, Any]:
    path = config_file or env.get(ENV_PREFIX + "CONFIG")
    if not path:
        return {}
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    return dict(raw)


def sms_environ(
    config_file: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """SMS provider settings as ``SMSDESK_*`` variables: the config file's ``[sms]`` table (``twilio_auth_token =
    "..."`` is ``SMSDESK_TWILIO_AUTH_TOKEN``), overridden by the environment. docs/providers.md lists the names."""
    env = os.environ if environ is None else environ
    table = _read_file(config_file, env).get("sms", {})
    if not isinstance(table, dict):
        raise ConfigError("the config file's 'sms' entry must be a table")
    out = {}
    for key, value in table.items():
        text = (
            ",".join(map(str, value))
            if isinstance(value, list)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )
        out[ENV_PREFIX + key.upper()] = text
    out.update({k: v for k, v in env.items() if k.startswith(ENV_PREFIX)})
    return out


def load_settings(
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build ``Settings`` from a TOML file, the environment and explicit overrides (``None`` values ignored)."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    raw = _read_file(config_file, env)
    raw.pop("sms", None)  # provider settings: see ``sms_environ``
    data.update(raw.get("smsdesk", raw))
    data.update(_from_env(env))
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from exc
