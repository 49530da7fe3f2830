"""``GET /api/v2/media/{media_id}``: the bytes of an inbound MMS's media item (docs/api.md, "Media"), to the
users who may read its message (``actions/media.py``).

Served so that no browser runs it: the stored content type (one of the allow-list, ``sms/media.py``; never
HTML), ``X-Content-Type-Options: nosniff``, ``Content-Disposition`` (``inline`` for pictures, ``attachment``
otherwise), ``Content-Security-Policy: default-src 'none'; sandbox`` and ``Cache-Control: private``."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from smsdesk.actions.media import read_media
from smsdesk.api.deps import principal_of, runtime_of
from smsdesk.sms.media import INLINE_TYPES, extension

router = APIRouter()


@router.get("/api/v2/media/{media_id}")
async def get_media(request: Request, media_id: str) -> Response:
    rt, p = runtime_of(request), principal_of(request)
    row = await read_media(rt, p, media_id)
    disposition = "inline" if row.content_type in INLINE_TYPES else "attachment"
    headers = {
        "Content-Disposition": f'{disposition}; filename="media-{row.id}.{extension(row.content_type)}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=86400",
    }
    return Response(row.data, media_type=row.content_type, headers=headers)
