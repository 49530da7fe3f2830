"""Media of inbound MMS (docs/api.md, "Media"): the transcript's ``media`` entries of a new message, and the
bytes served by ``GET /api/v2/media/{id}`` to the users who may read that message.

Who may fetch an item: exactly who may read the message that carries it, as ``read_transcript`` decides
(``actions/sessions.py``): the session's agents (an agent who left: what it was shown before leaving) and
supervisors. For anyone else an item is not found, like an unknown one (statusCode 6, HTTP 404).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smsdesk.actions.sessions import read_transcript
from smsdesk.domain.errors import NotFound
from smsdesk.domain.users import Principal
from smsdesk.runtime import Runtime
from smsdesk.sms.media import InboundMedia, accept
from smsdesk.store.base import MediaRow

__all__ = ["PreparedMedia", "media_path", "prepare_media", "read_media"]


def media_path(media_id: str) -> str:
    return f"/media/{media_id}"


@dataclass(frozen=True, slots=True)
class PreparedMedia:
    """An inbound message's media: ``entries`` for its transcript message, ``kept`` (id, type, bytes) to
    store with it."""

    entries: tuple[Mapping[str, Any], ...] = ()
    kept: tuple[tuple[str, str, bytes], ...] = ()

    def rows(self, session_id: str, now_ms: int) -> list[MediaRow]:
        return [MediaRow(mid, session_id, kind, data, now_ms) for mid, kind, data in self.kept]


def prepare_media(rt: Runtime, items: tuple[InboundMedia, ...]) -> PreparedMedia:
    """Each item checked (``sms/media.py``: allow-list, ``media_max_bytes``) and given an unguessable id; an
    item refused or not fetched is listed ``"available": false`` with its ``reason``."""
    entries: list[Mapping[str, Any]] = []
    kept: list[tuple[str, str, bytes]] = []
    base = rt.settings.base_url.rstrip("/")
    for raw in items:
        item = accept(raw, rt.settings.media_max_bytes)
        if item.data is None:
            entries.append(
                {"contentType": item.content_type, "available": False, "reason": item.error or "unavailable"}
            )
            continue
        media_id = secrets.token_hex(16)
        entries.append(
            {
                "id": media_id,
                "contentType": item.content_type,
                "size": len(item.data),
                "available": True,
                "uri": f"{base}/api/v2{media_path(media_id)}",
                "path": media_path(media_id),
            }
        )
        kept.append((media_id, item.content_type, item.data))
    return PreparedMedia(tuple(entries), tuple(kept))


def _carries(message: Mapping[str, Any], media_id: str) -> bool:
    media = message.get("media")
    return isinstance(media, list) and any(isinstance(m, dict) and m.get("id") == media_id for m in media)


async def read_media(rt: Runtime, principal: Principal, media_id: str) -> MediaRow:
    """The item, if ``principal`` may read the message that carries it; else ``NotFound``."""
    row = await rt.store.get_media(media_id) if len(media_id) <= 64 else None
    if row is None:
        raise NotFound(f"Media '{media_id}' not found")
    try:
        shown = await read_transcript(rt, principal, row.session_id, None, None)
    except NotFound:
        shown = []
    if not any(_carries(m, media_id) for m in shown):
        raise NotFound(f"Media '{media_id}' not found")
    return row
