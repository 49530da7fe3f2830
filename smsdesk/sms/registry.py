"""Which provider serves which business number. Policy: each number is bound to exactly one provider.

Several providers run at once (e.g. a Twilio long code and an SMPP short code). Numbers with no explicit
binding go to the default provider if one is configured; otherwise ``provider_for`` raises ``NotFound``.
The registry is an object built by the composition root, never module state.
"""

from __future__ import annotations

from collections.abc import Mapping

from smsdesk.domain.errors import NotFound
from smsdesk.sms.base import SmsProvider
from smsdesk.sms.numbers import InvalidNumber, normalize_e164

__all__ = ["ProviderRegistry"]


class ProviderRegistry:
    def __init__(
        self,
        providers: Mapping[str, SmsProvider],
        bindings: Mapping[str, str],
        *,
        default: str | None = None,
    ) -> None:
        for number, name in bindings.items():
            if name not in providers:
                raise ValueError(f"number {number} is bound to unknown provider {name!r}")
        if default is not None and default not in providers:
            raise ValueError(f"default provider {default!r} is not configured")
        self._providers = dict(providers)
        self._bindings = {normalize_e164(n): p for n, p in bindings.items()}
        self._default = default

    @property
    def providers(self) -> Mapping[str, SmsProvider]:
        """Name -> provider, e.g. for ``OutboxWorker(providers_by_name=...)``."""
        return dict(self._providers)

    def provider_name_for(self, business_number: str) -> str:
        number = normalize_e164(business_number)
        name = self._bindings.get(number, self._default)
        if name is None:
            raise NotFound(f"no SMS provider is bound to business number {number}")
        return name

    def owns(self, business_number: str) -> bool:
        """Whether ``business_number`` is bound to one of our providers by name (not only by the default):
        an agent-started conversation may send from it (docs/api.md, "Agent-started conversations")."""
        try:
            return normalize_e164(business_number) in self._bindings
        except InvalidNumber:
            return False

    def has(self, provider_name: str) -> bool:
        """Whether a provider of that name is configured."""
        return provider_name in self._providers

    def provider_for(self, business_number: str) -> SmsProvider:
        """The provider that sends from (and receives on) ``business_number``."""
        return self._providers[self.provider_name_for(business_number)]

    def numbers_of(self, provider_name: str) -> tuple[str, ...]:
        return tuple(sorted(n for n, p in self._bindings.items() if p == provider_name))

    async def start_all(self) -> None:
        for provider in self._providers.values():
            await provider.start()

    async def close_all(self) -> None:
        for provider in reversed(list(self._providers.values())):
            await provider.close()
