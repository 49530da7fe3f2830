"""SMS provider settings, parsed once from the environment. Each provider has its own dataclass.

Environment variables (all optional; a provider is active when its required variables are set):

=================================  ==========================================================
``SMSDESK_SIMULATOR_ENABLED``       ``0`` (default of ``smsdesk serve``) / ``1`` (default of ``smsdesk demo``)
``SMSDESK_SIMULATOR_NUMBERS``       business numbers bound to the simulator, comma-separated
``SMSDESK_TWILIO_ACCOUNT_SID``      required for Twilio
``SMSDESK_TWILIO_AUTH_TOKEN``       required for Twilio (signs webhooks, authenticates REST)
``SMSDESK_TWILIO_API_BASE``         default ``https://api.twilio.com``
``SMSDESK_TWILIO_PUBLIC_URL``       public base URL Twilio calls (e.g. ``https://desk.example.com``)
``SMSDESK_TWILIO_NUMBERS``          business numbers bound to Twilio
``SMSDESK_TWILIO_TIMEOUT``          REST timeout in seconds (default 10)
``SMSDESK_TWILIO_WEBHOOK_SECRET``   SharedKey secret for HMAC-SHA256 signed webhooks (default: auth token)
``SMSDESK_SMPP_HOST``               required for SMPP
``SMSDESK_SMPP_PORT``               default 2775
``SMSDESK_SMPP_SYSTEM_ID``          required for SMPP (at most 15 characters)
``SMSDESK_SMPP_PASSWORD``           at most 8 characters
``SMSDESK_SMPP_SYSTEM_TYPE``        at most 12 characters
``SMSDESK_SMPP_SOURCE_TON``         TON of our numbers (default 1, international)
``SMSDESK_SMPP_SOURCE_NPI``         NPI of our numbers (default 1, ISDN/E.164)
``SMSDESK_SMPP_ENQUIRE_LINK``       enquire_link interval in seconds (default 30)
``SMSDESK_SMPP_SUBMIT_TIMEOUT``     seconds to wait for submit_sm_resp (default 10)
``SMSDESK_SMPP_NUMBERS``            business numbers bound to SMPP
``SMSDESK_SMS_DEFAULT_PROVIDER``    provider for numbers not bound explicitly (optional)
=================================  ==========================================================

A bad value raises ``ConfigError`` naming the variable. Binding numbers to providers: ``registry.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from smsdesk.sms.numbers import InvalidNumber, normalize_e164

__all__ = ["ConfigError", "SimulatorSettings", "SmppSettings", "SmsSettings", "TwilioSettings"]


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


def _get(env: Mapping[str, str], name: str, default: str = "") -> str:
    return env.get(name, default).strip()


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = _get(env, name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value} is outside {lo}..{hi}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _get(env, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not 0 < value < 86400:
        raise ConfigError(f"{name}={value} must be positive")
    return value


def _numbers(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = _get(env, name)
    out: list[str] = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            out.append(normalize_e164(item))
        except InvalidNumber as exc:
            raise ConfigError(f"{name}: {exc.message}") from None
    return tuple(out)


def _max_len(name: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise ConfigError(f"{name} is {len(value)} characters long; SMPP allows at most {limit}")
    return value


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    """``public``: its API needs no credentials (``smsdesk demo`` only); otherwise an admin's (docs/security.md)."""

    enabled: bool = True
    numbers: tuple[str, ...] = ()
    public: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, demo: bool = False) -> SimulatorSettings:
        """Off in ``smsdesk serve`` unless ``SMSDESK_SIMULATOR_ENABLED`` switches it on (then for admins only);
        on and open to anyone in ``smsdesk demo``."""
        flag = _get(env, "SMSDESK_SIMULATOR_ENABLED", "1" if demo else "0").lower()
        if flag not in {"1", "0", "true", "false", "yes", "no"}:
            raise ConfigError(f"SMSDESK_SIMULATOR_ENABLED={flag!r} is not a boolean")
        return cls(flag in {"1", "true", "yes"}, _numbers(env, "SMSDESK_SIMULATOR_NUMBERS"), public=demo)


@dataclass(frozen=True, slots=True)
class TwilioSettings:
    account_sid: str
    auth_token: str = field(repr=False)
    api_base: str = "https://api.twilio.com"
    public_url: str = ""
    numbers: tuple[str, ...] = ()
    timeout_s: float = 10.0
    webhook_secret: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TwilioSettings | None:
        sid = _get(env, "SMSDESK_TWILIO_ACCOUNT_SID")
        token = _get(env, "SMSDESK_TWILIO_AUTH_TOKEN")
        if not sid and not token:
            return None
        if not sid or not token:
            raise ConfigError("set both SMSDESK_TWILIO_ACCOUNT_SID and SMSDESK_TWILIO_AUTH_TOKEN")
        base = _get(env, "SMSDESK_TWILIO_API_BASE", "https://api.twilio.com").rstrip("/")
        public = _get(env, "SMSDESK_TWILIO_PUBLIC_URL").rstrip("/")
        for name, url in (("SMSDESK_TWILIO_API_BASE", base), ("SMSDESK_TWILIO_PUBLIC_URL", public)):
            if url and not url.startswith(("http://", "https://")):
                raise ConfigError(f"{name}={url!r} must start with http:// or https://")
        return cls(
            account_sid=sid,
            auth_token=token,
            api_base=base,
            public_url=public,
            numbers=_numbers(env, "SMSDESK_TWILIO_NUMBERS"),
            timeout_s=_float(env, "SMSDESK_TWILIO_TIMEOUT", 10.0),
            webhook_secret=_get(env, "SMSDESK_TWILIO_WEBHOOK_SECRET"),
        )


@dataclass(frozen=True, slots=True)
class SmppSettings:
    host: str
    port: int = 2775
    system_id: str = ""
    password: str = field(default="", repr=False)
    system_type: str = ""
    source_ton: int = 1
    source_npi: int = 1
    enquire_link_s: float = 30.0
    submit_timeout_s: float = 10.0
    reconnect_min_ms: int = 1000
    reconnect_doublings: int = 5
    numbers: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmppSettings | None:
        host = _get(env, "SMSDESK_SMPP_HOST")
        if not host:
            return None
        system_id = _get(env, "SMSDESK_SMPP_SYSTEM_ID")
        if not system_id:
            raise ConfigError("SMSDESK_SMPP_SYSTEM_ID is required when SMSDESK_SMPP_HOST is set")
        return cls(
            host=host,
            port=_int(env, "SMSDESK_SMPP_PORT", 2775, 1, 65535),
            system_id=_max_len("SMSDESK_SMPP_SYSTEM_ID", system_id, 15),
            password=_max_len("SMSDESK_SMPP_PASSWORD", _get(env, "SMSDESK_SMPP_PASSWORD"), 8),
            system_type=_max_len("SMSDESK_SMPP_SYSTEM_TYPE", _get(env, "SMSDESK_SMPP_SYSTEM_TYPE"), 12),
            source_ton=_int(env, "SMSDESK_SMPP_SOURCE_TON", 1, 0, 6),
            source_npi=_int(env, "SMSDESK_SMPP_SOURCE_NPI", 1, 0, 18),
            enquire_link_s=_float(env, "SMSDESK_SMPP_ENQUIRE_LINK", 30.0),
            submit_timeout_s=_float(env, "SMSDESK_SMPP_SUBMIT_TIMEOUT", 10.0),
            numbers=_numbers(env, "SMSDESK_SMPP_NUMBERS"),
        )


@dataclass(frozen=True, slots=True)
class SmsSettings:
    """All SMS settings together, as the composition root needs them."""

    simulator: SimulatorSettings = SimulatorSettings()
    twilio: TwilioSettings | None = None
    smpp: SmppSettings | None = None
    default_provider: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, demo: bool = False) -> SmsSettings:
        simulator = SimulatorSettings.from_env(env, demo=demo)
        twilio = TwilioSettings.from_env(env)
        smpp = SmppSettings.from_env(env)
        default = _get(env, "SMSDESK_SMS_DEFAULT_PROVIDER") or None
        active = {"simulator"} if simulator.enabled else set()
        active |= {"twilio"} if twilio else set()
        active |= {"smpp"} if smpp else set()
        if default is not None and default not in active:
            raise ConfigError(
                f"SMSDESK_SMS_DEFAULT_PROVIDER={default!r} is not an active provider ({sorted(active)})"
            )
        if simulator.numbers and not simulator.enabled:
            raise ConfigError(
                "SMSDESK_SIMULATOR_NUMBERS is set but the simulator is off: set SMSDESK_SIMULATOR_ENABLED=1 "
                "(smsdesk serve runs it only when asked, docs/security.md) or bind the numbers to a provider"
            )
        return cls(simulator, twilio, smpp, default)

    def active(self) -> list[str]:
        names = ["simulator"] if self.simulator.enabled else []
        return names + (["twilio"] if self.twilio else []) + (["smpp"] if self.smpp else [])

    def fallback(self) -> str | None:
        """The provider of numbers bound to none: ``SMSDESK_SMS_DEFAULT_PROVIDER``, else the only active
        provider; with several and none named, no fallback (a reply never goes to an arbitrary provider)."""
        active = self.active()
        return self.default_provider or (active[0] if len(active) == 1 else None)

    def check_numbers(self, numbers: Iterable[str]) -> None:
        """Refuse (``ConfigError``) business numbers of the configuration that no provider serves."""
        bound, fallback = self.bindings(), self.fallback()
        orphans = []
        for number in numbers:
            try:
                normal = normalize_e164(number)
            except InvalidNumber as exc:
                raise ConfigError(f"number_queues: {exc.message}") from None
            if normal not in bound and fallback is None:
                orphans.append(normal)
        if orphans:
            raise ConfigError(
                f"no SMS provider serves {', '.join(sorted(orphans))} (number_queues): bind each number to a "
                "provider (SMSDESK_*_NUMBERS) or name SMSDESK_SMS_DEFAULT_PROVIDER (docs/providers.md)"
            )

    def bindings(self) -> dict[str, str]:
        """Business number -> provider name; a number bound twice raises ``ConfigError``."""
        out: dict[str, str] = {}
        pairs: list[tuple[str, tuple[str, ...]]] = [("simulator", self.simulator.numbers)]
        if self.twilio:
            pairs.append(("twilio", self.twilio.numbers))
        if self.smpp:
            pairs.append(("smpp", self.smpp.numbers))
        for provider, numbers in pairs:
            for number in numbers:
                if number in out and out[number] != provider:
                    raise ConfigError(f"number {number} is bound to both {out[number]} and {provider}")
                out[number] = provider
        return out
