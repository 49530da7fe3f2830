"""``GET /api/v2/features`` (spec §9.8): the features enabled on this contact center."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from smsdesk.api.deps import runtime_of
from smsdesk.api.errors import GwsJSONResponse
from smsdesk.api.params import wants_fields
from smsdesk.domain.errors import NotFound

router = APIRouter()

DESCRIPTIONS = {
    "api-multimedia": "API for non-voice channels (SMS sessions)",
    "api-multimedia-chat": "Read access to multimedia session resources",
    "api-supervisor-agent-control": "Supervisors set agents' channel states",
    "api-supervisor-monitoring": "Supervisors monitor, coach and barge in",
    "api-user-read": "Read users",
}


def _feature(base: str, name: str) -> dict[str, str]:
    return {"id": name, "description": DESCRIPTIONS.get(name, name), "uri": f"{base}/api/v2/features/{name}"}


@router.get("/api/v2/features")
async def list_features(request: Request) -> GwsJSONResponse:
    rt = runtime_of(request)
    names = [f for f in rt.settings.features if rt.settings.feature_enabled(f)]
    if wants_fields(request):
        return GwsJSONResponse(
            {"statusCode": 0, "features": [_feature(rt.settings.base_url, n) for n in names]}
        )
    return GwsJSONResponse(
        {"statusCode": 0, "uris": [f"{rt.settings.base_url}/api/v2/features/{n}" for n in names]}
    )


@router.get("/api/v2/features/{feature_id}")
async def get_feature(request: Request, feature_id: str) -> GwsJSONResponse:
    rt = runtime_of(request)
    if not rt.settings.feature_enabled(feature_id):
        raise NotFound(f"Feature '{feature_id}' is not enabled")
    return GwsJSONResponse({"statusCode": 0, "feature": _feature(rt.settings.base_url, feature_id)})
