"""Domain errors. Each carries the GWS ``statusCode`` it maps to (spec §9.5).

Tree::

    GwsError (4, internal)
    ├── MissingParameter (1)
    ├── InvalidState (2)          operation not valid for the current state (not in capabilities)
    ├── Forbidden (3)
    ├── NoPermission (5)          the caller's role or relation to the resource does not allow it
    ├── NotFound (6)
    ├── Validation (10)           a value of the wrong type, out of range, or unknown
    ├── AlreadyExists (18)
    ├── InUse (19)
    ├── NotAuthenticated (20)
    └── Unavailable (4)           the database (or a bounded backlog) cannot take it now: HTTP 503, retry
        └── StoreUnavailable (4)  the database is unreachable or restarting

The HTTP status that goes with each code is decided in one place: ``smsdesk/api/errors.py``.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "Forbidden",
    "GwsError",
    "InUse",
    "InvalidState",
    "MissingParameter",
    "NoPermission",
    "NotAuthenticated",
    "NotFound",
    "StoreUnavailable",
    "Unavailable",
    "Validation",
]


class GwsError(Exception):
    code = 4

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingParameter(GwsError):
    code = 1


class InvalidState(GwsError):
    code = 2


class Forbidden(GwsError):
    code = 3


class NoPermission(GwsError):
    code = 5


class NotFound(GwsError):
    code = 6


class Validation(GwsError):
    code = 10


class AlreadyExists(GwsError):
    code = 18


class InUse(GwsError):
    code = 19


class NotAuthenticated(GwsError):
    code = 20


class Unavailable(GwsError):
    """Nothing was changed and the same request may succeed shortly: HTTP 503 with ``Retry-After``."""

    code = 4
    retry_after_s = 1


class StoreUnavailable(Unavailable):
    """The database did not answer (restarting, unreachable): docs/deployment.md, "Infrastructure faults"."""
