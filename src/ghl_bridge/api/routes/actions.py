"""/v1/actions: list, describe and run actions (synchronously, or as a queued job)."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ghl_bridge.api.deps import ReaderDep, RuntimeDep, WriterDep
from ghl_bridge.jobs.names import ACTION_JOB

router = APIRouter(prefix="/v1", tags=["actions"])


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location_id: str = Field(alias="locationId", min_length=1, max_length=64)
    input: dict[str, Any] = Field(default_factory=dict)
    dry_run: bool = Field(default=False, alias="dryRun")


@router.get("/actions", operation_id="actions-list")
async def list_actions(runtime: RuntimeDep, _: ReaderDep) -> dict[str, Any]:
    return {"actions": [a.describe() for a in runtime.actions.registry.all()]}


@router.get("/actions/{name}", operation_id="actions-get")
async def get_action(name: str, runtime: RuntimeDep, _: ReaderDep) -> dict[str, Any]:
    return runtime.actions.action(name).describe()


@router.post("/actions/{name}", operation_id="actions-run")
async def run_action(
    name: str,
    body: ActionRequest,
    runtime: RuntimeDep,
    tenant: WriterDep,
    mode: Annotated[Literal["sync", "async"], Query()] = "sync",
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> JSONResponse:
    """Run ``name`` for ``locationId``. ``?mode=async`` queues it and answers 202 with a job id."""
    if mode == "async" and not body.dry_run:
        # Refuse now what would only fail in the worker; the sync path checks inside run().
        runtime.actions.validate(runtime.actions.action(name), body.input)
        await runtime.actions.authorize(tenant.id, body.location_id)
        job_id = await runtime.actions_queue.enqueue(
            ACTION_JOB,
            {
                "tenant": tenant.id,
                "locationId": body.location_id,
                "action": name,
                "input": body.input,
                "idempotencyKey": idempotency_key,
            },
            job_id=_job_id(tenant.id, idempotency_key),
        )
        return JSONResponse({"jobId": job_id, "status": "queued"}, status_code=202)
    output = await runtime.actions.run(
        tenant.id,
        name,
        body.location_id,
        body.input,
        idempotency_key=idempotency_key,
        dry_run=body.dry_run,
    )
    return JSONResponse({"output": output})


def _job_id(tenant_id: str, idempotency_key: str | None) -> str | None:
    """Same tenant + same Idempotency-Key → same job: a retried POST does not run twice."""
    if not idempotency_key:
        return None
    digest = hashlib.sha256(f"{tenant_id}\x00{idempotency_key}".encode()).hexdigest()[:32]
    return f"act-{digest}"
