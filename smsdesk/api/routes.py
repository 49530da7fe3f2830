"""What the app serves, seen from its routes: every route flattened (FastAPI's included routers opened), and
the methods a URL answers, for the ``Allow`` header of an HTTP 405 (RFC 9110 §15.5.6)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

__all__ = ["allowed_methods", "flat_routes"]


def flat_routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's include_router
        if included is not None:
            yield from flat_routes(included.routes)
        else:
            yield route


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> str:
    """Every method of every route matching the path of ``scope`` (the router names only the first route's:
    a URL may be served by several, e.g. a hot ``POST`` route and the FastAPI ``GET`` one)."""
    methods: set[str] = set()
    for route in flat_routes(routes):
        if isinstance(route, Route) and route.methods and route.matches(scope)[0] is not Match.NONE:
            methods |= route.methods
    return ", ".join(sorted(methods))
