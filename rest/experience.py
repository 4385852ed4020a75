"""`/api/v1/experience/*`: each mode's configuration, with the workspace's overrides."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from core.errors import ValidationFailed
from models.permissions import Operation
from rest.auth import authorize
from rest.envelope import success
from rest.parsing import loads_json
from services.operations import experience


def experience_json(item: experience.Experience) -> dict[str, Any]:
    return {
        "mode": item.mode,
        "active": item.active,
        "config": item.config,
        "overridden": item.overridden,
    }


async def list_modes(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.EXPERIENCE_READ)
    async with request.app.state.db.session(actor.workspace_id) as session:
        items = await experience.list_modes(session=session, actor=actor)
    return success(
        [
            {
                "mode": i.mode,
                "label": i.config["label"],
                "description": i.config["description"],
                "active": i.active,
            }
            for i in items
        ]
    )


async def get_mode(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.EXPERIENCE_READ)
    async with request.app.state.db.session(actor.workspace_id) as session:
        item = await experience.get_experience(
            session=session, actor=actor, mode=request.path_params["mode"]
        )
    return success(experience_json(item))


async def update_mode(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.EXPERIENCE_UPDATE)
    mode = request.path_params["mode"]
    experience.mode_of(mode)
    body = loads_json(await request.body())
    if not isinstance(body, dict):
        raise ValidationFailed.field("body", "expected a JSON object of overrides")
    async with request.app.state.db.session(actor.workspace_id) as session:
        item = await experience.update_experience(
            session=session, actor=actor, mode=mode, overrides=body
        )
    return success(experience_json(item))


routes: list[BaseRoute] = [
    Route("/experience/modes", list_modes, methods=["GET"]),
    Route("/experience/{mode}", get_mode, methods=["GET"]),
    Route("/experience/{mode}", update_mode, methods=["PATCH"]),
]
