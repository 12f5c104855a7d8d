"""Liveness (the process answers) and readiness (its dependencies answer)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ghl_bridge.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


class Alive(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(description='per dependency: "ok" or "error: <reason>"')


@router.get("/healthz", operation_id="health-alive")
async def healthz() -> Alive:
    return Alive(status="ok")


@router.get(
    "/readyz",
    operation_id="health-ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency does not answer."}},
)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    checks = await runtime.ready()
    ok = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503
    )
