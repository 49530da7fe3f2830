"""Media of MMS (pictures and the like), sans-I/O: what an inbound message's media item is, which content
types smsdesk keeps and serves, and the size limit (docs/api.md, "Media"; docs/providers.md).

An adapter hands each media item to the inbound sink as an ``InboundMedia``: the bytes (``data``) when it has
them — the simulator's phone posts them, Twilio's are fetched from its media URL (``twilio_media.py``) — or
the reason it has none (``error``). ``accept`` checks an item against the allow-list and the limit: an item
refused, or one whose fetch failed, is kept on the message as *unavailable* with its reason, and the text is
stored all the same.

The allow-list: pictures, audio, video and PDF, the types phones send by MMS. Never HTML, SVG, XML or script:
the bytes are served from smsdesk's own origin, so a type a browser would run is refused here, and what is
served carries ``X-Content-Type-Options: nosniff`` and a ``Content-Disposition`` (``api/rest/media.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

__all__ = ["ALLOWED_TYPES", "BASE64", "INLINE_TYPES", "InboundMedia", "accept", "extension", "normalize_type"]

#: base64 as the simulator's phone must send a picture: groups of four, the last one padded
BASE64: Final = r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"

#: content type -> file extension of the download
ALLOWED_TYPES: Final[dict[str, str]] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/bmp": "bmp",
    "image/heic": "heic",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "audio/amr": "amr",
    "audio/wav": "wav",
    "video/mp4": "mp4",
    "video/3gpp": "3gp",
    "video/quicktime": "mov",
    "application/pdf": "pdf",
}
#: served ``inline`` (shown by the desktop); every other allowed type is served as an attachment
INLINE_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"})


@dataclass(frozen=True, slots=True)
class InboundMedia:
    """One media item of an inbound message. ``url``: where the provider has it ("" when the bytes came with
    the message); ``content_type`` as declared; ``data`` the bytes, or None with ``error`` saying why."""

    content_type: str
    data: bytes | None = None
    url: str = ""
    error: str | None = None

    @property
    def available(self) -> bool:
        return self.data is not None and self.error is None


def normalize_type(raw: str) -> str:
    """``Image/JPEG; charset=x`` -> ``image/jpeg``."""
    return raw.split(";", 1)[0].strip().lower()


def extension(content_type: str) -> str:
    return ALLOWED_TYPES.get(content_type, "bin")


def accept(item: InboundMedia, max_bytes: int) -> InboundMedia:
    """``item`` with its type normalised, or made unavailable (``data`` None, ``error`` set) when its type is
    not allowed, it is empty, or it is larger than ``max_bytes``."""
    kind = normalize_type(item.content_type)
    item = dataclasses.replace(item, content_type=kind)
    if item.error is not None or item.data is None:
        return dataclasses.replace(item, data=None, error=item.error or "no content")
    if kind not in ALLOWED_TYPES:
        return dataclasses.replace(
            item, data=None, error=f"content type {kind or 'unknown'!r} is not accepted"
        )
    if not item.data:
        return dataclasses.replace(item, data=None, error="empty")
    if len(item.data) > max_bytes:
        return dataclasses.replace(item, data=None, error=f"larger than {max_bytes} bytes (media_max_bytes)")
    return item
