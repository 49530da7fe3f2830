"""Password hashing with Argon2id (argon2-cffi). Verification is deliberately slow; the authenticator caches
successful Basic credentials briefly so that GWS clients, which send the header on every request, stay fast."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["Passwords"]


class Passwords:
    def __init__(self, *, fast: bool = False) -> None:
        # ``fast`` lowers the cost for tests and benchmarks that create many users; never for production.
        self._hasher = (
            PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1) if fast else PasswordHasher()
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
