"""Agents' skills, the GWS way (docs/routing.md, "Queues and skills"): ``GET /api/v2/skills``, ``POST
/api/v2/users/{id}/skills`` ``{"name", "level"}``, ``DELETE /api/v2/users/{id}/skills/{name}``, and the
``skills`` subresource of a user. A skill is named by its name (its ``id`` is the name) [INF]; the
contact center's skills are those the queues ask for and those agents hold. Only admins change skills; the
router sees a change within ``Router.USERS_TTL_S`` (at once on the node that made it)."""

from __future__ import annotations

import re
from typing import Any

from smsdesk.actions.access import access_user_by_id, require_admin
from smsdesk.domain.errors import MissingParameter, NotFound, Validation
from smsdesk.domain.users import Principal
from smsdesk.runtime import Runtime

__all__ = [
    "check_add_skill",
    "check_remove_skill",
    "contact_center_skills",
    "parse_skill",
    "skill_view",
    "user_skills",
    "valid_skill",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,63}$")
MAX_LEVEL = 1000


def valid_skill(name: Any, level: Any) -> tuple[str, int]:
    if not isinstance(name, str) or not _NAME.match(name.strip()):
        raise Validation("A skill 'name' must be 1-64 letters, digits, spaces or . _ @ + -")
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= MAX_LEVEL:
        raise Validation(f"A skill 'level' must be an integer from 0 to {MAX_LEVEL}")
    return name.strip(), level


def parse_skill(text: str) -> tuple[str, int]:
    """``billing:5`` (the command line's ``--skill``); a name alone is level 1."""
    name, sep, level = text.rpartition(":")
    if not sep:
        return valid_skill(text, 1)
    try:
        number = int(level)
    except ValueError:
        raise Validation(f"'{text}': the level after ':' must be an integer") from None
    return valid_skill(name, number)


def skill_view(rt: Runtime, name: str, level: int | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {"id": name, "name": name}
    if level is not None:
        view["level"] = level
    view["uri"] = f"{rt.settings.base_url}/api/v2/skills/{name}"
    return view


async def contact_center_skills(rt: Runtime) -> list[str]:
    names = {n for q in rt.settings.queues.values() for n in q.skills}
    for held in (await rt.store.list_skills()).values():
        names.update(held)
    return sorted(names)


async def user_skills(rt: Runtime, user_id: str) -> list[dict[str, Any]]:
    held = (await rt.store.list_skills(user_id)).get(user_id, {})
    return [skill_view(rt, name, level) for name, level in sorted(held.items())]


async def check_add_skill(rt: Runtime, principal: Principal, user_id: str, body: dict[str, Any]) -> None:
    """Add a skill to a user, or change its level."""
    require_admin(principal)
    user = await access_user_by_id(rt.store, user_id)
    if body.get("name") is None:
        raise MissingParameter("Missing parameter 'name'")
    name, level = valid_skill(body.get("name"), body.get("level", 1))
    await rt.store.set_skill(user.id, name, level)
    rt.skills_changed()


async def check_remove_skill(rt: Runtime, principal: Principal, user_id: str, name: str) -> None:
    require_admin(principal)
    user = await access_user_by_id(rt.store, user_id)
    if not await rt.store.delete_skill(user.id, name):
        raise NotFound(f"User '{user.user_name}' has no skill '{name}'")
    rt.skills_changed()
