"""Failed-login throttling and the password verifier (docs/security.md).

- Failures are counted in the store (``store/login_failures.py``) per user name and per client address, so
  the limits hold across worker processes and nodes: after ``login_max_failures_per_user`` failures for one
  name, or ``login_max_failures_per_address`` from one address, within ``login_failure_window_s``, further
  attempts are refused with HTTP 429 and ``Retry-After`` (until the window ends) before any password is
  checked. A success clears its user name's count, never its address's.
- Unknown and disabled users cost a verification of a dummy hash, like a wrong password: the answer's
  timing does not tell which user names exist.
- Verifications run on a pool of ``password_hash_concurrency`` threads (Argon2 releases the GIL), never on
  the event loop, and one client address has at most ``IN_FLIGHT_PER_ADDRESS`` logins in progress at once
  (the others wait in that address's line): a burst from one address cannot queue ahead of honest logins
  from elsewhere, and once its failures reach the limit, the rest of the burst is answered HTTP 429.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from smsdesk.api.errors import TooManyAttempts
from smsdesk.runtime import Runtime
from smsdesk.store.login_failures import LoginFailures

__all__ = ["IN_FLIGHT_PER_ADDRESS", "LoginGuard"]

IN_FLIGHT_PER_ADDRESS = 2
_KEY_MAX = 150


class LoginGuard:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._failures = LoginFailures(rt.store)
        self._pool = ThreadPoolExecutor(
            rt.settings.password_hash_concurrency, thread_name_prefix="smsdesk-pw"
        )
        self._lines: dict[str, _Line] = {}  # client address -> its logins in progress
        self._dummy: str | None = None

    @staticmethod
    def _keys(user_name: str, address: str | None) -> list[str]:
        keys = ["user:" + user_name.lower()[:_KEY_MAX]]
        if address:
            keys.append("addr:" + address[:_KEY_MAX])
        return keys

    async def check(self, user_name: str, address: str | None) -> bool:
        """Raise ``TooManyAttempts`` when a limit is reached; whether the user name has failures to clear."""
        s = self.rt.settings
        window_ms = s.login_failure_window_s * 1000
        keys = self._keys(user_name, address)
        counts = await self._failures.current(keys, self.rt.clock.now_ms(), window_ms)
        limits = [s.login_max_failures_per_user, s.login_max_failures_per_address]
        for key, limit in zip(keys, limits, strict=False):
            failures, left_ms = counts.get(key, (0, 0))
            if failures >= limit:
                raise TooManyAttempts(
                    "Too many failed logins; try again later", retry_after_s=-(-left_ms // 1000)
                )
        return keys[0] in counts

    async def failed(self, user_name: str, address: str | None) -> None:
        window_ms = self.rt.settings.login_failure_window_s * 1000
        await self._failures.record(self._keys(user_name, address), self.rt.clock.now_ms(), window_ms)

    async def succeeded(self, user_name: str) -> None:
        await self._failures.clear(self._keys(user_name, None)[0])

    @contextlib.asynccontextmanager
    async def turn(self, address: str | None) -> AsyncIterator[None]:
        """One login of ``address`` at a time beyond ``IN_FLIGHT_PER_ADDRESS``: the others wait in its own
        line (an office behind one NAT logs in, a little later), never ahead of other addresses' logins.
        Take it before ``check``: a burst waiting in line meets the failures of those ahead of it."""
        if not address:  # a batch relayed by another worker: its own worker held the line
            yield
            return
        line = self._lines.get(address)
        if line is None:
            line = self._lines[address] = _Line()
        line.users += 1
        try:
            async with line.semaphore:
                yield
        finally:
            line.users -= 1
            if not line.users:
                del self._lines[address]

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``; ``None`` (no such user) checks a dummy hash, so
        that it costs the same."""
        loop = asyncio.get_running_loop()
        passwords = self.rt.passwords
        if password_hash is None:
            if self._dummy is None:
                self._dummy = await loop.run_in_executor(self._pool, passwords.hash, "not a password")
            await loop.run_in_executor(self._pool, passwords.verify, self._dummy, password)
            return False
        return await loop.run_in_executor(self._pool, passwords.verify, password_hash, password)


class _Line:
    __slots__ = ("semaphore", "users")

    def __init__(self) -> None:
        self.semaphore = asyncio.Semaphore(IN_FLIGHT_PER_ADDRESS)
        self.users = 0
