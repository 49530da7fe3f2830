"""Users: create, list, delete; the user resource as GWS shows it (spec §9.7)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from smsdesk.actions.access import access_user_by_id, require_admin
from smsdesk.actions.engine import apply_command, run_on_session
from smsdesk.domain.agents import AgentState, ChannelState
from smsdesk.domain.errors import AlreadyExists, MissingParameter, Validation
from smsdesk.domain.outcome import Outcome
from smsdesk.domain.sessions import Session
from smsdesk.domain.system import RemoveUser
from smsdesk.domain.users import Principal, Role, User
from smsdesk.runtime import Runtime
from smsdesk.store.base import Change

__all__ = ["check_create_user", "check_delete_user", "do_create_user", "user_resource"]

_NAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,64}$")


def user_resource(rt: Runtime, user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "userName": user.user_name,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "nickname": user.display_name,
        "roles": sorted(r.value for r in user.roles),
        "enabled": user.enabled,
        "changePasswordOnFirstLogin": False,
        "capacity": user.capacity or rt.settings.default_capacity,
        "uri": f"{rt.settings.base_url}/api/v2/users/{user.id}",
        "path": f"/users/{user.id}",
    }


async def do_create_user(
    rt: Runtime,
    user_name: str,
    password: str,
    roles: Iterable[Role],
    *,
    first_name: str = "",
    last_name: str = "",
    nickname: str = "",
    capacity: int = 0,
) -> User:
    if not _NAME.match(user_name):
        raise Validation("userName must be 1-64 letters, digits or . _ @ + -")
    if len(password) < rt.settings.password_min_length:
        raise Validation(f"password must be at least {rt.settings.password_min_length} characters")
    if not 0 <= capacity <= 100:
        raise Validation("capacity must be between 0 and 100")
    role_set = frozenset(roles)
    if not role_set:
        raise MissingParameter("roles must name at least one of ROLE_AGENT, ROLE_SUPERVISOR, ROLE_ADMIN")
    if await rt.store.get_user_by_name(user_name) is not None:
        raise AlreadyExists(f"User '{user_name}' already exists")
    user = User(
        id=rt.ids.user_id(),
        user_name=user_name,
        password_hash=rt.passwords.hash(password),
        roles=role_set,
        first_name=first_name,
        last_name=last_name,
        nickname=nickname,
        capacity=capacity,
        created_ms=rt.clock.now_ms(),
    )
    await rt.store.add_user(user)
    return user


def _str(body: dict[str, Any], key: str, *, required: bool = False, max_len: int = 128) -> str:
    value = body.get(key)
    if value is None:
        if required:
            raise MissingParameter(f"Missing parameter '{key}'")
        return ""
    if not isinstance(value, str):
        raise Validation(f"'{key}' must be a string")
    if len(value) > max_len:
        raise Validation(f"'{key}' must be at most {max_len} characters")
    return value


async def check_create_user(rt: Runtime, principal: Principal, body: dict[str, Any]) -> User:
    require_admin(principal)
    roles_raw = body.get("roles", ["ROLE_AGENT"])
    if not isinstance(roles_raw, list) or not all(isinstance(r, str) for r in roles_raw):
        raise Validation("'roles' must be an array of role names")
    try:
        roles = [Role.parse(r) for r in roles_raw]
    except ValueError:
        raise Validation(
            f"Unknown role in {roles_raw}; use ROLE_AGENT, ROLE_SUPERVISOR or ROLE_ADMIN"
        ) from None
    capacity = body.get("capacity", 0)
    if not isinstance(capacity, int) or isinstance(capacity, bool):
        raise Validation("'capacity' must be an integer")
    return await do_create_user(
        rt,
        _str(body, "userName", required=True),
        _str(body, "password", required=True),
        roles,
        first_name=_str(body, "firstName"),
        last_name=_str(body, "lastName"),
        nickname=_str(body, "nickname"),
        capacity=capacity,
    )


async def check_delete_user(rt: Runtime, principal: Principal, user_id: str) -> None:
    """Delete a user. What they held goes on without them first (docs/sessions.md, "Deleting a user"): their
    channel is logged out (this node's router stops offering to them at once), they leave every SMS session
    they are in (a session whose last agent they were goes back to its queue), and their monitoring
    subscriptions, as supervisor or as monitored agent, end. A failure on the way leaves the user in place,
    and deleting again goes on from there."""
    require_admin(principal)
    if user_id == principal.user_id:
        raise Validation("An administrator cannot delete their own user")
    user = await access_user_by_id(rt.store, user_id)
    now = rt.clock.now_ms()
    if user.has(Role.AGENT):
        await rt.commit(Change(agents=[AgentState(user_id, ChannelState.LOGGED_OUT, None, now, now)]))
    for rec in await rt.store.list_member_sessions(user_id):

        async def decide(session: Session) -> Outcome:
            return apply_command(rt, session, RemoveUser(user_id))

        await run_on_session(rt, rec.id, decide, seen=rec)
    subs = await rt.store.list_subscriptions(supervisor_id=user_id)
    subs += await rt.store.list_subscriptions(agent_id=user_id)
    if subs:
        ended = [(sub.supervisor_id, sub.agent_id) for sub in subs]
        await rt.commit(Change(subscriptions_delete=list(dict.fromkeys(ended))))
    await rt.store.delete_user_skills(user_id)
    await rt.store.delete_user(user_id)
