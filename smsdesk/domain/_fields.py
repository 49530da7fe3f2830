"""Typed reads from JSON-pure mappings, raising domain errors with clear messages.

Two uses: request parameters of an SMS operation (a missing one is ``MissingParameter``, statusCode 1) and
stored JSON read back by ``from_json`` (anything wrong is ``Validation``, statusCode 10).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, TypeVar

from smsdesk.domain.errors import GwsError, MissingParameter, Validation

__all__ = [
    "get_bool",
    "get_enum",
    "get_int",
    "get_list",
    "get_mapping",
    "get_opt_str",
    "get_str",
    "require_mapping",
]

E = TypeVar("E", bound=enum.Enum)


def require_mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Validation(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def _absent(key: str, missing: type[GwsError]) -> GwsError:
    return missing(f"Missing parameter '{key}'")


def get_str(m: Mapping[str, Any], key: str, *, missing: type[GwsError] = MissingParameter) -> str:
    """A non-empty string."""
    value = m.get(key)
    if value is None:
        raise _absent(key, missing)
    if not isinstance(value, str):
        raise Validation(f"'{key}' must be a string, got {type(value).__name__}")
    if not value.strip():
        raise Validation(f"'{key}' must not be empty")
    return value


def get_opt_str(m: Mapping[str, Any], key: str) -> str | None:
    """A string, or None when absent or null; empty strings are kept (stored JSON needs them)."""
    value = m.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Validation(f"'{key}' must be a string, got {type(value).__name__}")
    return value


def get_int(m: Mapping[str, Any], key: str, *, missing: type[GwsError] = Validation) -> int:
    value = m.get(key)
    if value is None:
        raise _absent(key, missing)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Validation(f"'{key}' must be an integer, got {type(value).__name__}")
    return value


def get_bool(m: Mapping[str, Any], key: str, *, default: bool = False) -> bool:
    """``true``/``false``; the strings ``"true"``/``"false"`` too (GWS samples print both)."""
    value = m.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise Validation(f"'{key}' must be true or false, got {value!r}")


def get_mapping(
    m: Mapping[str, Any], key: str, *, missing: type[GwsError] = MissingParameter
) -> Mapping[str, Any]:
    value = m.get(key)
    if value is None:
        raise _absent(key, missing)
    return require_mapping(value, f"'{key}'")


def get_list(m: Mapping[str, Any], key: str, *, missing: type[GwsError] = MissingParameter) -> list[Any]:
    value = m.get(key)
    if value is None:
        raise _absent(key, missing)
    if not isinstance(value, list | tuple):
        raise Validation(f"'{key}' must be an array, got {type(value).__name__}")
    return list(value)


def get_enum(m: Mapping[str, Any], key: str, cls: type[E], *, missing: type[GwsError] = Validation) -> E:
    """An enum member by its value, e.g. ``"Chatting"`` for ``UserState.CHATTING``."""
    raw = get_str(m, key, missing=missing)
    try:
        return cls(raw)
    except ValueError:
        allowed = ", ".join(str(e.value) for e in cls)
        raise Validation(f"'{key}' must be one of {allowed}; got {raw!r}") from None
