"""Opportunity and pipeline actions: CRUD, upsert, search, stage moves by name, status, analytics.

Pipelines are read-only in GHL (no create/update/delete in v2 or v3), so a stage is named by id
or by its display name and resolved through the pipeline list; an unknown name fails here with
the names that exist. Opportunity custom fields resolve through the ``opportunity`` field map.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field, model_validator

from ghl_bridge.actions.models import (
    JSON,
    CustomFieldValue,
    Deleted,
    Id,
    Input,
    Limit,
    Name,
    Output,
    Page,
    Record,
    page_of,
)
from ghl_bridge.actions.registry import ActionContext, ActionSet, Kind
from ghl_bridge.errors import InvalidInput, NotFound

actions = ActionSet()

READ, WRITE = ("opportunities.readonly",), ("opportunities.write",)
# Writes that name a stage read the pipeline list first.
READ_WRITE = ("opportunities.readonly", "opportunities.write")
# ... and those that name custom fields read the location's field map.
FIELDS_WRITE = (*READ_WRITE, "locations/customFields.readonly")

Status = Literal["open", "won", "lost", "abandoned"]
StageRef = Name  # a stage's id or display name


class OpportunityFields(Input):
    name: Name | None = None
    pipeline_stage_id: Id | None = None
    stage: StageRef | None = Field(
        default=None, description="the stage's display name (or id); resolved in the pipeline"
    )
    status: Status | None = None
    monetary_value: float | None = Field(default=None, ge=0)
    assigned_to: Id | None = None
    custom_fields: list[CustomFieldValue] | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_stage(self) -> OpportunityFields:
        if self.stage is not None and self.pipeline_stage_id is not None:
            raise ValueError("give pipelineStageId or stage, not both")
        return self


class NewOpportunity(OpportunityFields):
    pipeline_id: Id
    contact_id: Id
    name: Name
    status: Status = "open"


class OpportunityRef(Input):
    opportunity_id: Id


class OpportunityChange(OpportunityFields):
    opportunity_id: Id
    pipeline_id: Id | None = None


class OpportunityOut(Output):
    opportunity: Record


class UpsertOut(Output):
    opportunity: Record
    new: bool = Field(description="true when GHL created the opportunity, false when it matched")


def _opportunity(answer: JSON) -> Record:
    return Record.model_validate(answer.get("opportunity", answer))


async def pipelines_of(ctx: ActionContext) -> list[JSON]:
    answer = await ctx.ghl.pipelines.list(ctx.location_id)
    return [p for p in answer.get("pipelines", []) if isinstance(p, dict)]


def pipeline_named(pipelines: list[JSON], pipeline_id: str) -> JSON:
    for pipeline in pipelines:
        if pipeline.get("id") == pipeline_id:
            return pipeline
    known = [f"{p.get('name')} ({p.get('id')})" for p in pipelines]
    raise NotFound(
        f"no pipeline {pipeline_id!r} in this location",
        details={"unknown": pipeline_id, "known": known},
    )


def _stage(pipeline: JSON, ref: str) -> JSON:
    """The stage ``ref`` names by id, else by name (case-insensitive); InvalidInput lists the
    pipeline's stage names when none matches."""
    stages = [s for s in pipeline.get("stages", []) if isinstance(s, dict)]
    wanted = ref.strip()
    for stage in stages:
        if stage.get("id") == wanted:
            return stage
    for stage in stages:
        if str(stage.get("name") or "").casefold() == wanted.casefold():
            return stage
    known = [str(s.get("name")) for s in stages]
    raise InvalidInput(
        f"pipeline {pipeline.get('name')!r} has no stage {ref!r}; its stages are"
        f" {', '.join(map(repr, known))}",
        details={"unknown": ref, "known": known, "pipelineId": pipeline.get("id")},
    )


async def _stage_id(ctx: ActionContext, pipeline_id: str, ref: str) -> str:
    return str(_stage(pipeline_named(await pipelines_of(ctx), pipeline_id), ref)["id"])


async def _pipeline_of(ctx: ActionContext, opportunity_id: str) -> str:
    answer = await ctx.ghl.opportunities.get(ctx.location_id, opportunity_id)
    return str(answer.get("opportunity", answer).get("pipelineId") or "")


async def _body(
    ctx: ActionContext, data: OpportunityFields, pipeline_id: str | None, drop: Iterable[str] = ()
) -> JSON:
    """GHL's body for ``data``: a stage name resolved to its id, custom fields to field ids."""
    body = data.wire(exclude={"stage", "custom_fields", *drop})
    if data.stage is not None:
        if pipeline_id is None:
            raise InvalidInput("a stage needs its pipeline")
        body["pipelineStageId"] = await _stage_id(ctx, pipeline_id, data.stage)
    if data.custom_fields:
        body["customFields"] = await ctx.support.field_values(
            ctx.ghl, ctx.location_id, data.custom_fields, "opportunity"
        )
    return body


@actions.define(
    "opportunities.create",
    "Create an opportunity (deal) for a contact in a pipeline.",
    scopes=FIELDS_WRITE,
    kind=Kind.WRITE,
    retry_safe=False,
    notes="GHL refuses a second opportunity for the same contact and pipeline unless the"
    " location allows duplicates; then a retried create makes two. opportunities.upsert is safe"
    " to retry. The stage may be named (stage) instead of given by id (pipelineStageId).",
)
async def create(ctx: ActionContext, data: NewOpportunity) -> OpportunityOut:
    body = await _body(ctx, data, data.pipeline_id)
    body["status"] = data.status
    answer = await ctx.ghl.opportunities.create(ctx.location_id, body, options=ctx.opts)
    return OpportunityOut(opportunity=_opportunity(answer))


@actions.define("opportunities.get", "Get one opportunity by id.", scopes=READ)
async def get(ctx: ActionContext, data: OpportunityRef) -> OpportunityOut:
    answer = await ctx.ghl.opportunities.get(ctx.location_id, data.opportunity_id, options=ctx.opts)
    return OpportunityOut(opportunity=_opportunity(answer))


@actions.define(
    "opportunities.update",
    "Change an opportunity's name, value, status, owner, stage or custom fields.",
    scopes=FIELDS_WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
    notes="A stage named without pipelineId is looked up in the opportunity's own pipeline"
    " (one extra read). A lost reason is set with opportunities.set_status.",
)
async def update(ctx: ActionContext, data: OpportunityChange) -> OpportunityOut:
    pipeline_id = data.pipeline_id
    if data.stage is not None and pipeline_id is None:
        pipeline_id = await _pipeline_of(ctx, data.opportunity_id)
    body = await _body(ctx, data, pipeline_id, drop={"opportunity_id"})
    if not body:
        raise InvalidInput("give at least one field to change")
    answer = await ctx.ghl.opportunities.update(
        ctx.location_id, data.opportunity_id, body, options=ctx.opts
    )
    return OpportunityOut(opportunity=_opportunity(answer))


@actions.define(
    "opportunities.delete",
    "Delete an opportunity.",
    scopes=WRITE,
    kind=Kind.DESTRUCTIVE,
    retry_safe=True,
)
async def delete(ctx: ActionContext, data: OpportunityRef) -> Deleted:
    await ctx.ghl.opportunities.delete(ctx.location_id, data.opportunity_id, options=ctx.opts)
    return Deleted(id=data.opportunity_id)


class UpsertOpportunity(Input):
    pipeline_id: Id
    contact_id: Id | None = Field(default=None, description="whose deal: matched with pipelineId")
    opportunity_id: Id | None = Field(default=None, description="match this opportunity instead")
    name: Name | None = None
    pipeline_stage_id: Id | None = None
    stage: StageRef | None = None
    status: Status | None = None
    monetary_value: float | None = Field(default=None, ge=0)
    assigned_to: Id | None = None
    lost_reason_id: Id | None = None

    @model_validator(mode="after")
    def _matchable(self) -> UpsertOpportunity:
        if not (self.contact_id or self.opportunity_id):
            raise ValueError("an upsert matches on contactId (with pipelineId) or opportunityId")
        if self.stage is not None and self.pipeline_stage_id is not None:
            raise ValueError("give pipelineStageId or stage, not both")
        return self


@actions.define(
    "opportunities.upsert",
    "Create the contact's opportunity in a pipeline, or update the one it already has there.",
    scopes=READ_WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
    notes="GHL matches on opportunityId if given, else on contact + pipeline. Creating needs"
    " contactId and name. Followers are never changed by an upsert.",
)
async def upsert(ctx: ActionContext, data: UpsertOpportunity) -> UpsertOut:
    body = data.wire(exclude={"stage", "opportunity_id"})
    if data.opportunity_id:
        body["id"] = data.opportunity_id
    if data.stage is not None:
        body["pipelineStageId"] = await _stage_id(ctx, data.pipeline_id, data.stage)
    answer = await ctx.ghl.opportunities.upsert(ctx.location_id, body, options=ctx.opts)
    return UpsertOut(opportunity=_opportunity(answer), new=bool(answer.get("new")))


class SearchOpportunities(Input):
    query: str | None = Field(default=None, max_length=75, description="free text")
    pipeline_id: Id | None = None
    pipeline_stage_id: Id | None = None
    status: Status | None = None
    contact_id: Id | None = None
    assigned_to: Id | None = None
    filters: list[dict[str, Any]] | None = Field(
        default=None, max_length=50, description="GHL's filter grammar (snake_case fields)"
    )
    sort: list[dict[str, Any]] | None = Field(default=None, max_length=2)
    limit: Limit = Field(default=100, description="stop after this many opportunities")


_SHORTHANDS = ("pipeline_id", "pipeline_stage_id", "status", "contact_id", "assigned_to")


def _search_body(data: SearchOpportunities) -> JSON:
    filters = list(data.filters or [])
    for name in _SHORTHANDS:
        value = getattr(data, name)
        if value is not None:
            filters.append({"field": name, "operator": "eq", "value": value})
    body: JSON = {"filters": filters} if filters else {}
    if data.query:
        body["query"] = data.query
    if data.sort:
        body["sort"] = data.sort
    return body


@actions.define(
    "opportunities.search",
    "Search opportunities by pipeline, stage, status, contact, owner or GHL's filter grammar,"
    " following its cursor across pages.",
    scopes=READ,
    notes="Search reads an index that lags writes by a few seconds (GHL's own caveat).",
)
async def search(ctx: ActionContext, data: SearchOpportunities) -> Page:
    found = [
        o
        async for o in ctx.ghl.opportunities.iter_search(
            ctx.location_id, _search_body(data), max_items=data.limit + 1
        )
    ]
    return page_of(found, data.limit)


class MoveStage(Input):
    opportunity_id: Id
    stage: StageRef = Field(description="the stage's display name or id")
    pipeline_id: Id | None = Field(
        default=None, description="move to this pipeline (default: the opportunity's own)"
    )


@actions.define(
    "opportunities.move_stage",
    "Move an opportunity to a stage named by display name or id.",
    scopes=READ_WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
    notes="GHL has no stage-move endpoint: this reads the opportunity and the pipeline list,"
    " then updates pipelineStageId. An unknown stage fails with the pipeline's stage names.",
)
async def move_stage(ctx: ActionContext, data: MoveStage) -> OpportunityOut:
    pipeline_id = data.pipeline_id
    if pipeline_id is None:
        pipeline_id = await _pipeline_of(ctx, data.opportunity_id)
    stage_id = await _stage_id(ctx, pipeline_id, data.stage)
    body = {"pipelineId": pipeline_id, "pipelineStageId": stage_id}
    answer = await ctx.ghl.opportunities.update(
        ctx.location_id, data.opportunity_id, body, options=ctx.opts
    )
    return OpportunityOut(opportunity=_opportunity(answer))


class SetStatus(Input):
    opportunity_id: Id
    status: Status
    lost_reason_id: Id | None = None
    lost_reason: Name | None = Field(
        default=None, description="a lost reason's name, resolved in the location's list"
    )

    @model_validator(mode="after")
    def _reason_fits(self) -> SetStatus:
        if (self.lost_reason_id or self.lost_reason) and self.status != "lost":
            raise ValueError("a lost reason goes only with status lost")
        if self.lost_reason_id and self.lost_reason:
            raise ValueError("give lostReasonId or lostReason, not both")
        return self


class StatusOut(Output):
    id: str
    status: str
    lost_reason_id: str | None = None


async def _lost_reason_id(ctx: ActionContext, name: str) -> str:
    answer = await ctx.ghl.opportunities.lost_reasons(ctx.location_id)
    reasons = [r for r in answer.get("lostReasons", []) if isinstance(r, dict)]
    for reason in reasons:
        if str(reason.get("name") or "").casefold() == name.strip().casefold():
            return str(reason["id"])
    known = [str(r.get("name")) for r in reasons]
    raise InvalidInput(f"no lost reason named {name!r}", details={"unknown": name, "known": known})


@actions.define(
    "opportunities.set_status",
    "Mark an opportunity open, won, lost (optionally with a lost reason) or abandoned.",
    scopes=READ_WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
    notes="A lost reason may be given by id or by name (looked up in the location's list).",
)
async def set_status(ctx: ActionContext, data: SetStatus) -> StatusOut:
    reason = data.lost_reason_id
    if data.lost_reason:
        reason = await _lost_reason_id(ctx, data.lost_reason)
    await ctx.ghl.opportunities.set_status(
        ctx.location_id, data.opportunity_id, data.status, lost_reason_id=reason, options=ctx.opts
    )
    return StatusOut(id=data.opportunity_id, status=data.status, lost_reason_id=reason)
