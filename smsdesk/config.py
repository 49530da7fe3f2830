"""Typed settings, parsed once at start-up.

Precedence, lowest first: defaults < config file (TOML) < environment (``SMSDESK_<FIELD>``) < command-line flags.
Every field is listed with its environment variable in the README's configuration table.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["ConfigError", "Settings", "load_settings", "sms_environ"]

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

    @field_validator("features", "disabled_features", mode="before")
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

    def feature_enabled(self, name: str) -> bool:
        return name in self.features and name not in self.disabled_features

    def queue_for(self, business_number: str) -> str:
        return self.number_queues.get(business_number, self.default_queue)


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
