"""Serving the API description: ``install`` makes the app's ``openapi()`` (``/openapi.json``, ``/api/docs``)
build it on first use with ``smsdesk.api.openapi.describe``, then keep it. That module and its pydantic models
are imported then, not when a serving process starts (they cost a few hundred milliseconds of CPU)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from smsdesk.config import Settings

__all__ = ["install"]


def install(app: FastAPI, settings: Settings, *, simulator_public: bool = True) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from smsdesk.api.openapi import describe

            app.openapi_schema = describe(app, settings, simulator_public=simulator_public)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
