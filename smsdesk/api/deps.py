"""What every handler reads from the request: the runtime and the authenticated principal."""

from __future__ import annotations

from starlette.requests import Request

from smsdesk.domain.errors import NotAuthenticated
from smsdesk.domain.users import Principal
from smsdesk.runtime import Runtime

__all__ = ["principal_of", "runtime_of"]


def runtime_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


def principal_of(request: Request) -> Principal:
    p = request.scope.get("state", {}).get("principal")
    if not isinstance(p, Principal):
        raise NotAuthenticated("Authentication required")
    return p
