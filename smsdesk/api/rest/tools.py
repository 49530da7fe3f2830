"""Agent tools, smsdesk's extensions (docs/api.md, "Agent tools"): standard responses (``/api/v2/responses``)
contact notes (``/api/v2/contacts/{number}/notes``) and agent-started conversations (``POST
/api/v2/me/smssessions``). The use cases are in ``smsdesk/actions/responses.py``
and ``smsdesk/actions/notes.py``."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from smsdesk.actions import conversations, notes, responses
from smsdesk.api.deps import principal_of, runtime_of
from smsdesk.api.errors import GwsJSONResponse
from smsdesk.api.params import read_json_object
from smsdesk.api.rest.smssessions import SEGMENTS

router = APIRouter()


@router.get("/api/v2/responses")
async def search_responses(request: Request) -> GwsJSONResponse:
    """Standard responses matching ``q`` (every word, any case, in the name, category or text) and
    ``category`` (any user)."""
    rt = runtime_of(request)
    principal_of(request)
    q = request.query_params
    found = await responses.search_responses(rt, q.get("q"), q.get("category"))
    return GwsJSONResponse({"statusCode": 0, "responses": found})


@router.post("/api/v2/responses")
async def add_response(request: Request) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    responses.require_supervisor(p)
    body = await read_json_object(request, rt.settings.max_body_bytes, rt.settings.max_json_depth)
    return GwsJSONResponse({"statusCode": 0, "response": await responses.check_add_response(rt, p, body)})


@router.get("/api/v2/responses/{response_id}")
async def get_response(request: Request, response_id: str) -> GwsJSONResponse:
    """One standard response; ``?session=ID`` adds ``filledText``, its placeholders filled for that session."""
    rt, p = runtime_of(request), principal_of(request)
    session_id = request.query_params.get("session") or None
    view = await responses.one_response(rt, p, response_id, session_id)
    return GwsJSONResponse({"statusCode": 0, "response": view})


@router.put("/api/v2/responses/{response_id}")
async def update_response(request: Request, response_id: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    responses.require_supervisor(p)
    body = await read_json_object(request, rt.settings.max_body_bytes, rt.settings.max_json_depth)
    view = await responses.check_update_response(rt, p, response_id, body)
    return GwsJSONResponse({"statusCode": 0, "response": view})


@router.delete("/api/v2/responses/{response_id}")
async def delete_response(request: Request, response_id: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    await responses.check_delete_response(rt, p, response_id)
    return GwsJSONResponse({"statusCode": 0})


@router.get("/api/v2/contacts/{number}/notes")
async def get_notes(request: Request, number: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    return GwsJSONResponse({"statusCode": 0, "notes": await notes.contact_notes(rt, p, number)})


@router.post("/api/v2/contacts/{number}/notes")
async def add_note(request: Request, number: str) -> GwsJSONResponse:
    rt, p = runtime_of(request), principal_of(request)
    body = await read_json_object(request, rt.settings.max_body_bytes, rt.settings.max_json_depth)
    return GwsJSONResponse({"statusCode": 0, "note": await notes.check_add_note(rt, p, number, body)})


async def create_session(request: Request) -> GwsJSONResponse:
    """``{"operationName": "Create", "customerNumber", "businessNumber", "text"}``: a conversation started by
    the calling agent, who is Chatting in it at once; answers the session as the agent sees it."""
    rt, p = runtime_of(request), principal_of(request)
    body = await read_json_object(request, rt.settings.max_body_bytes, rt.settings.max_json_depth)
    view = await conversations.check_create_session(rt, p, body)
    return GwsJSONResponse({"statusCode": 0, "smssession": view})


for _seg in SEGMENTS:
    router.add_api_route(
        f"/api/v2/me/{_seg}", create_session, methods=["POST"], include_in_schema=_seg == "smssessions"
    )
