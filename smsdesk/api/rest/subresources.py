"""Subresources embedded in a user resource with ``subresources=*`` or a list (spec §9.6):
``channels`` (channel states), ``smssessions`` (the user's SMS sessions; GetAgentInteractions, spec §7.10) and
``skills`` (GWS Users API: ``subresources=*`` adds skills; docs/routing.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from smsdesk.actions import channels as ch
from smsdesk.domain import agents as ag
from smsdesk.domain.errors import NoPermission, Validation
from smsdesk.domain.users import Principal, User
from smsdesk.runtime import Runtime

__all__ = ["PROVIDERS", "embed"]

Provider = Callable[[Runtime, User, Principal], Awaitable[Any]]


async def _channels(rt: Runtime, user: User, viewer: Principal) -> Any:
    """The channel state, with smsdesk's ``load`` (the SMS sessions the agent holds, offers included) and
    ``capacity``: what a colleague needs to know to pick a transfer target, without seeing the sessions."""
    view = ag.channel_view(await ch.load_agent(rt, user.id))
    view["load"] = (await rt.store.agent_loads()).get(user.id, 0)
    view["capacity"] = user.capacity or rt.settings.default_capacity
    return [view]


async def _smssessions(rt: Runtime, user: User, viewer: Principal) -> Any:
    """Your own sessions with your capabilities; another user's (supervisors only) as an observer sees them."""
    from smsdesk.actions.access import require_supervisor
    from smsdesk.actions.sessions import list_sessions_of

    if viewer.user_id == user.id:
        return await list_sessions_of(rt, user.id)
    require_supervisor(viewer)
    return await list_sessions_of(rt, user.id, observer=True)


async def _skills(rt: Runtime, user: User, viewer: Principal) -> Any:
    """Your own skills; another user's for supervisors and admins (docs/routing.md)."""
    from smsdesk.actions.skills import user_skills

    if viewer.user_id != user.id and not (viewer.is_supervisor or viewer.is_admin):
        raise NoPermission("Another user's skills require the supervisor or admin role")
    return await user_skills(rt, user.id)


PROVIDERS: dict[str, Provider] = {"channels": _channels, "smssessions": _smssessions, "skills": _skills}


async def embed(rt: Runtime, user: User, wanted: set[str], *, viewer: Principal) -> dict[str, Any]:
    names = list(PROVIDERS) if "*" in wanted else sorted(wanted)
    unknown = [n for n in names if n not in PROVIDERS]
    if unknown:
        raise Validation(f"Unknown subresource(s) {unknown}; known: {sorted(PROVIDERS)}")
    out: dict[str, Any] = {}
    for n in names:
        try:
            out[n] = await PROVIDERS[n](rt, user, viewer)
        except NoPermission:
            if "*" not in wanted:
                raise  # asked by name: say why not; with "*" just leave out what the caller may not see
    return out
