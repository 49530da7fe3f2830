"""Skills (docs/routing.md): ``GET /api/v2/skills[/{name}]``, ``GET|POST /api/v2/users/{id}/skills``,
``DELETE /api/v2/users/{id}/skills/{name}``. The use cases are in ``smsdesk/actions/skills.py``."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from smsdesk.actions import skills as sk
from smsdesk.actions.access import access_user_by_id, require_admin, require_supervisor
from smsdesk.api.deps import principal_of, runtime_of
from smsdesk.api.errors import GwsJSONResponse
from smsdesk.api.params import read_json_object, wants_fields
from smsdesk.domain.errors import NoPermission, NotFound

router = APIRouter()


@router.get("/api/v2/skills")
async def list_skills(request: Request) -> GwsJSONResponse:
    """The contact center's skills (supervisors and admins): URIs, or the objects with ``fields=*``."""
    rt, p = runtime_of(request), principal_of(request)
    if not p.is_admin:
        require_supervisor(p)
    views = [sk.skill_view(rt, name) for name in await sk.contact_center_skills(rt)]
    if wants_fields(request):
        return GwsJSONResponse({"statusCode": 0, "skills": views})
    return GwsJSONResponse({"statusCode": 0, "uris": [v["uri"] for v in views]})


@router.get("/api/v2/skills/{name}")
async def get_skill(request: Request, name: str) -> GwsJSONResponse:
    """One skill of the contact center (the ``uri`` of a skill object)."""
    rt, p = runtime_of(request), principal_of(request)
    if not p.is_admin:
        require_supervisor(p)
    if name not in await sk.contact_center_skills(rt):
        raise NotFound(f"Skill '{name}' not found")
    return GwsJSONResponse({"statusCode": 0, "skill": sk.skill_view(rt, name)})


@router.get("/api/v2/users/{user_id}/skills")
async def get_user_skills(request: Request, user_id: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    if p.user_id != user_id and not (p.is_admin or p.is_supervisor):
        raise NoPermission("Another user's skills require the supervisor or admin role")
    user = await access_user_by_id(rt.store, user_id)
    return GwsJSONResponse({"statusCode": 0, "skills": await sk.user_skills(rt, user.id)})


@router.post("/api/v2/users/{user_id}/skills")
async def add_user_skill(request: Request, user_id: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    require_admin(p)
    body = await read_json_object(request, rt.settings.max_body_bytes)
    await sk.check_add_skill(rt, p, user_id, body)
    return GwsJSONResponse({"statusCode": 0})


@router.delete("/api/v2/users/{user_id}/skills/{name}")
async def remove_user_skill(request: Request, user_id: str, name: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    await sk.check_remove_skill(rt, p, user_id, name)
    return GwsJSONResponse({"statusCode": 0})
