"""/v1/actions: list, describe and run actions (synchronously, or as a queued job).

Running needs the scopes the action's kind needs (``read`` for a read, ``write`` for a change,
plus ``destructive`` or ``outbound`` for those) and passes the key's action and location
allowlists; the check is ``KeyPolicy``, the same one the service applies everywhere.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ghl_bridge.actions import KeyPolicy
from ghl_bridge.api import errors
from ghl_bridge.api.deps import LOCATION_ID, CallerDep, ReaderDep, RuntimeDep
from ghl_bridge.jobs.names import ACTION_JOB
from ghl_bridge.store.models import ApiKey

router = APIRouter(prefix="/v1", tags=["actions"])


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location_id: str = Field(alias="locationId", min_length=1, max_length=64, pattern=LOCATION_ID)
    input: dict[str, Any] = Field(default_factory=dict)
    dry_run: bool = Field(
        default=False,
        alias="dryRun",
        description="validate and answer the GHL request that would be sent, sending nothing",
    )


class ActionInfo(BaseModel):
    name: str
    summary: str
    kind: Literal["read", "write", "destructive", "outbound"]
    kind_depends_on_input: bool = Field(alias="kindDependsOnInput")
    scopes: list[str]
    retry_safe: bool = Field(alias="retrySafe")
    notes: str
    input_schema: dict[str, Any] = Field(alias="inputSchema")
    output_schema: dict[str, Any] = Field(alias="outputSchema")


class ActionList(BaseModel):
    actions: list[ActionInfo]
    count: int


class ActionResult(BaseModel):
    output: dict[str, Any]


class QueuedAction(BaseModel):
    job_id: str = Field(alias="jobId")
    status: Literal["queued"]


def policy_of(key: ApiKey) -> KeyPolicy:
    return KeyPolicy.of(key.scope_list, key.action_list, key.location_list)


@router.get("/actions", operation_id="actions-list", response_model_by_alias=True)
async def list_actions(
    runtime: RuntimeDep,
    _: ReaderDep,
    area: Annotated[str | None, Query(max_length=64, description="e.g. contacts")] = None,
    kind: Annotated[Literal["read", "write", "destructive", "outbound"] | None, Query()] = None,
) -> ActionList:
    """The catalogue with input and output JSON Schemas, for rendering workflow forms."""
    found = [
        ActionInfo.model_validate(action.describe())
        for action in runtime.actions.registry.all()
        if (area is None or action.area == area) and (kind is None or action.kind.value == kind)
    ]
    return ActionList(actions=found, count=len(found))


@router.get(
    "/actions/{name}",
    operation_id="actions-get",
    response_model_by_alias=True,
    responses=errors.responses(404),
)
async def get_action(name: str, runtime: RuntimeDep, _: ReaderDep) -> ActionInfo:
    return ActionInfo.model_validate(runtime.actions.action(name).describe())


@router.post(
    "/actions/{name}",
    operation_id="actions-run",
    response_model=ActionResult,
    responses={
        **errors.CALLS_GHL,
        202: {"model": QueuedAction, "description": "queued (?mode=async)"},
    },
)
async def run_action(
    name: str,
    body: ActionRequest,
    runtime: RuntimeDep,
    caller: CallerDep,
    mode: Annotated[Literal["sync", "async"], Query()] = "sync",
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> JSONResponse:
    """Run ``name`` for ``locationId``. ``?mode=async`` queues it and answers 202 with a job id
    (``GET /v1/jobs/{id}``); the same ``Idempotency-Key`` gets the same job or the first
    answer back."""
    tenant, policy = caller.tenant, policy_of(caller.key)
    if mode == "async" and not body.dry_run:
        # Refuse now what would only fail in the worker; the sync path checks inside run().
        await runtime.actions.admit(tenant.id, name, body.location_id, body.input, policy)
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
        policy=policy,
    )
    return JSONResponse({"output": output})


def _job_id(tenant_id: str, idempotency_key: str | None) -> str | None:
    """Same tenant + same Idempotency-Key → same job: a retried POST does not run twice."""
    if not idempotency_key:
        return None
    digest = hashlib.sha256(f"{tenant_id}\x00{idempotency_key}".encode()).hexdigest()[:32]
    return f"act-{digest}"
