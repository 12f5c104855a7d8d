"""/v1/jobs/{id}: the state of a queued action, visible only to the tenant that queued it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ghl_bridge.api.deps import ReaderDep, RuntimeDep
from ghl_bridge.errors import NotFound

router = APIRouter(prefix="/v1", tags=["jobs"])


@router.get("/jobs/{job_id}", operation_id="jobs-get")
async def get_job(job_id: str, runtime: RuntimeDep, tenant: ReaderDep) -> dict[str, Any]:
    info = await runtime.actions_queue.get(job_id) if len(job_id) <= 200 else None
    if info is None or info.data.get("tenant") != tenant.id:
        raise NotFound(f"no job {job_id!r}")  # another tenant's job looks like no job at all
    return {
        "id": info.id,
        "state": info.state,
        "action": info.data.get("action"),
        "locationId": info.data.get("locationId"),
        "attemptsMade": info.attempts_made,
        "progress": info.progress,
        "result": info.result,
        "failedReason": info.failed_reason,
    }
