"""The queues agents may transfer to: one function reads them from the settings, so the list follows however
queues come to be configured (``default_queue``, ``number_queues``)."""

from __future__ import annotations

from typing import Any

from smsdesk.config import Settings

__all__ = ["configured_queues", "queue_views"]


def configured_queues(settings: Settings) -> list[str]:
    """Every queue the settings name, the default first, then the others sorted, without repeats."""
    others = sorted({q for q in settings.number_queues.values() if q and q != settings.default_queue})
    return [settings.default_queue, *others]


def queue_views(settings: Settings) -> list[dict[str, Any]]:
    """``GET /api/v2/queues``: name, uri and path (``.../queues/{name}`` is a Transfer ``targetUri``)."""
    base = settings.base_url
    return [
        {"name": q, "uri": f"{base}/api/v2/queues/{q}", "path": f"/queues/{q}"}
        for q in configured_queues(settings)
    ]
