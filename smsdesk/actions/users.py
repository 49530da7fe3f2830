"""Users: create, list, delete; the user resource as GWS shows it (spec §9.7)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

from smsdesk.actions.access import access_user_by_id, require_admin
from smsdesk.actions.engine import apply_command, run_on_session
from smsdesk.domain.agents import AgentState, ChannelState
from smsdesk.domain.errors import AlreadyExists, Forbidden, MissingParameter, Validation
from smsdesk.domain.outcome import Outcome
from smsdesk.domain.sessions import Session
from smsdesk.domain.system import RemoveUser
from smsdesk.domain.users import Principal, Role, User
from smsdesk.runtime import Runtime
from smsdesk.store.base import Change

__all__ = ["check_create_user", "check_delete_user", "check_update_user", "do_create_user", "user_resource"]

_NAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EMAIL_MAX = 256


def check_email(value: str) -> str:
    """An ``emailAddress``: empty (none), or ``local@domain.tld`` within 256 characters."""
    value = value.strip()
    if value and (len(value) > _EMAIL_MAX or not _EMAIL.match(value)):
        raise Validation(f"'emailAddress' must look like name@example.com (at most {_EMAIL_MAX} characters)")
    return value


def user_resource(rt: Runtime, user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "userName": user.user_name,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "emailAddress": user.email_address,
        "nickname": user.display_name,
        "roles": sorted(r.value for r in user.roles),
        "enabled": user.enabled,
        "changePasswordOnFirstLogin": False,
        "capacity": user.capacity or rt.settings.default_capacity,
        "contactCenterId": rt.settings.contact_center_id,
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
    email_address: str = "",
) -> User:
    if not _NAME.match(user_name):
        raise Validation("userName must be 1-64 letters, digits or . _ @ + -")
    if len(password) < rt.settings.password_min_length:
        raise Validation(f"password must be at least {rt.settings.password_min_length} characters")
    if not 0 <= capacity <= 100:
        raise Validation("capacity must be between 0 and 100")
    email_address = check_email(email_address)
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
        email_address=email_address,
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


def _roles(raw: object) -> list[Role]:
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        raise Validation("'roles' must be an array of role names")
    try:
        return [Role.parse(r) for r in raw]
    except ValueError:
        raise Validation(f"Unknown role in {raw}; use ROLE_AGENT, ROLE_SUPERVISOR or ROLE_ADMIN") from None


def _capacity(raw: object) -> int:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # 3.0 is an integer in JSON (and in the API description)
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise Validation("'capacity' must be an integer")
    if not 0 <= raw <= 100:
        raise Validation("capacity must be between 0 and 100")
    return raw


async def check_create_user(rt: Runtime, principal: Principal, body: dict[str, Any]) -> User:
    require_admin(principal)
    roles = _roles(body.get("roles", ["ROLE_AGENT"]))
    capacity = _capacity(body.get("capacity", 0))
    return await do_create_user(
        rt,
        _str(body, "userName", required=True),
        _str(body, "password", required=True),
        roles,
        first_name=_str(body, "firstName"),
        last_name=_str(body, "lastName"),
        nickname=_str(body, "nickname"),
        capacity=capacity,
        email_address=_str(body, "emailAddress", max_len=_EMAIL_MAX),
    )


_UPDATABLE = {"firstName", "lastName", "nickname", "emailAddress", "roles", "capacity", "enabled"}


async def check_update_user(rt: Runtime, principal: Principal, user_id: str, body: dict[str, Any]) -> User:
    """``PUT /api/v2/users/{id}``: change the fields given (spec §9.7: ``roles`` replaces the set); the others
    stay. The user name and password are not changed here."""
    require_admin(principal)
    user = await access_user_by_id(rt.store, user_id)
    body = {key: value for key, value in body.items() if value is not None}  # null: unchanged
    unknown = sorted(set(body) - _UPDATABLE - {"id", "userName"})
    if unknown:
        raise Validation(f"Cannot update {unknown}; updatable: {sorted(_UPDATABLE)}")
    for read_only in ("id", "userName"):  # as a desktop sends the resource back: the URL names the user
        if not isinstance(body.get(read_only, ""), str):
            raise Validation(f"'{read_only}' must be a string (it is not changed)")
    changes: dict[str, Any] = {}
    for key, attr in (("firstName", "first_name"), ("lastName", "last_name"), ("nickname", "nickname")):
        if key in body:
            changes[attr] = _str(body, key)
    if "emailAddress" in body:
        changes["email_address"] = check_email(_str(body, "emailAddress", max_len=_EMAIL_MAX))
    if "capacity" in body:
        changes["capacity"] = _capacity(body["capacity"])
    if "roles" in body:
        roles = frozenset(_roles(body["roles"]))
        if not roles:
            raise MissingParameter("roles must name at least one of ROLE_AGENT, ROLE_SUPERVISOR, ROLE_ADMIN")
        if user_id == principal.user_id and Role.ADMIN not in roles:
            raise Forbidden("An administrator cannot remove their own ROLE_ADMIN")
        changes["roles"] = roles
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise Validation("'enabled' must be true or false")
        if user_id == principal.user_id and not body["enabled"]:
            raise Forbidden("An administrator cannot disable their own user")
        changes["enabled"] = body["enabled"]
    updated = dataclasses.replace(user, **changes)
    await rt.store.update_user(updated)
    return updated


async def check_delete_user(rt: Runtime, principal: Principal, user_id: str) -> None:
    """Delete a user. What they held goes on without them first (docs/sessions.md, "Deleting a user"): their
    channel is logged out (this node's router stops offering to them at once), they leave every SMS session
    they are in (a session whose last agent they were goes back to its queue), and their monitoring
    subscriptions, as supervisor or as monitored agent, end. A failure on the way leaves the user in place,
    and deleting again goes on from there."""
    require_admin(principal)
    if user_id == principal.user_id:
        raise Forbidden("An administrator cannot delete their own user")
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
