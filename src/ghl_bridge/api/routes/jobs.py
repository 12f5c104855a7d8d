"""/v1/jobs/{id}: the state of a queued action, visible only to the tenant that queued it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ghl_bridge.api import errors
from ghl_bridge.api.deps import ReaderDep, RuntimeDep
from ghl_bridge.errors import NotFound

router = APIRouter(prefix="/v1", tags=["jobs"])


class JobInfo(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    state: str = Field(description="waiting, active, delayed, completed or failed")
    action: str | None
    location_id: str | None = Field(alias="locationId")
    attempts_made: int = Field(alias="attemptsMade")
    progress: Any = None
    result: Any = Field(default=None, description="the action's output, once completed")
    failed_reason: str | None = Field(
        default=None, alias="failedReason", description="'<error code>: <message>' if failed"
    )


@router.get(
    "/jobs/{job_id}",
    operation_id="jobs-get",
    response_model_by_alias=True,
    responses=errors.responses(404),
)
async def get_job(job_id: str, runtime: RuntimeDep, tenant: ReaderDep) -> JobInfo:
    info = await runtime.actions_queue.get(job_id) if len(job_id) <= 200 else None
    if info is None or info.data.get("tenant") != tenant.id:
        raise NotFound(f"no job {job_id!r}")  # another tenant's job looks like no job at all
    return JobInfo(
        id=info.id,
        state=info.state,
        action=info.data.get("action"),
        location_id=info.data.get("locationId"),
        attempts_made=info.attempts_made,
        progress=info.progress,
        result=info.result,
        failed_reason=info.failed_reason,
    )
