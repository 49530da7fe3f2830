"""Bounds every request body is checked against, whatever the endpoint (docs/security.md).

``too_deep`` bounds the nesting of a parsed JSON value without recursion, so a hostile body of nested arrays
can neither crash a handler (``RecursionError``) nor reach code that walks it recursively.
``is_json_media_type`` is the ``Content-Type`` rule of the JSON endpoints: a browser can send a form or
``text/plain`` body cross-site without asking first, never an ``application/json`` one.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_MAX_JSON_DEPTH", "is_json_media_type", "too_deep"]

DEFAULT_MAX_JSON_DEPTH = 32


def too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests objects and arrays more than ``limit`` levels deep (a bare object is 1)."""
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def is_json_media_type(content_type: str | bytes | None) -> bool:
    """``application/json`` or a ``+json`` type, with or without parameters (``; charset=utf-8``)."""
    if not content_type:
        return False
    text = content_type.decode("latin-1") if isinstance(content_type, bytes) else content_type
    media = text.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))
