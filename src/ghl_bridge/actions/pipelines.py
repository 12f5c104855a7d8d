"""Pipeline actions: the list, and analytics GHL has no endpoint for.

Pipelines are read-only in GHL's API (no create, update or delete in v2 or v3). Analytics pages
through the opportunities and counts them by stage and status, because GHL offers no report.
"""

from __future__ import annotations

from pydantic import Field

from ghl_bridge.actions.models import JSON, Id, Input, Items, Limit, NoInput, Output, items_of
from ghl_bridge.actions.opportunities import READ, pipeline_named, pipelines_of
from ghl_bridge.actions.registry import ActionContext, ActionSet

actions = ActionSet()


@actions.define(
    "pipelines.list",
    "The location's pipelines with their stages (id, name, position).",
    scopes=READ,
    notes="Pipelines are read-only in GHL's API: create and edit them in the app.",
)
async def list_pipelines(ctx: ActionContext, data: NoInput) -> Items:
    return items_of(await pipelines_of(ctx))


class AnalyticsQuery(Input):
    pipeline_id: Id | None = Field(default=None, description="one pipeline (default: all)")
    limit: Limit = Field(default=10_000, description="count at most this many opportunities")


class Tally(Output):
    count: int = 0
    value: float = Field(default=0.0, description="sum of monetaryValue")

    def add(self, value: float) -> None:
        self.count += 1
        self.value = round(self.value + value, 2)


class StageTally(Tally):
    stage_id: str
    name: str | None = Field(default=None, description="None for a stage the pipeline lost")
    position: int | None = None
    by_status: dict[str, Tally] = Field(default_factory=dict)


class PipelineTally(Tally):
    id: str
    name: str | None = None
    by_stage: list[StageTally]
    by_status: dict[str, Tally]


class AnalyticsOut(Output):
    pipelines: list[PipelineTally]
    counted: int = Field(description="opportunities read")
    truncated: bool = Field(default=False, description="true when more existed than the limit")


def _tally(pipeline: JSON) -> PipelineTally:
    stages = [
        StageTally(stage_id=str(s["id"]), name=s.get("name"), position=s.get("position"))
        for s in pipeline.get("stages", [])
        if isinstance(s, dict) and s.get("id")
    ]
    statuses = {status: Tally() for status in ("open", "won", "lost", "abandoned")}
    return PipelineTally(
        id=str(pipeline["id"]), name=pipeline.get("name"), by_stage=stages, by_status=statuses
    )


def _count(tally: PipelineTally, opportunity: JSON) -> None:
    value = float(opportunity.get("monetaryValue") or 0)
    status = str(opportunity.get("status") or "open")
    stage_id = str(opportunity.get("pipelineStageId") or "")
    stage = next((s for s in tally.by_stage if s.stage_id == stage_id), None)
    if stage is None:
        stage = StageTally(stage_id=stage_id)
        tally.by_stage.append(stage)
    tally.add(value)
    tally.by_status.setdefault(status, Tally()).add(value)
    stage.add(value)
    stage.by_status.setdefault(status, Tally()).add(value)


@actions.define(
    "pipelines.analytics",
    "Opportunity counts and monetary value by stage and by status, for one pipeline or all.",
    scopes=READ,
    notes="GHL has no pipeline report endpoint: this pages through the opportunities (100 per"
    " call) and adds them up, so a large pipeline costs one call per hundred deals. Values are"
    " summed as GHL stores them, whatever the currency.",
)
async def analytics(ctx: ActionContext, data: AnalyticsQuery) -> AnalyticsOut:
    pipelines = await pipelines_of(ctx)
    if data.pipeline_id is not None:
        pipelines = [pipeline_named(pipelines, data.pipeline_id)]
    tallies = {str(p["id"]): _tally(p) for p in pipelines if p.get("id")}
    body: JSON = {}
    if data.pipeline_id is not None:
        body["filters"] = [{"field": "pipeline_id", "operator": "eq", "value": data.pipeline_id}]
    counted, truncated = 0, False
    async for opportunity in ctx.ghl.opportunities.iter_search(
        ctx.location_id, body, max_items=data.limit + 1
    ):
        if counted == data.limit:
            truncated = True
            break
        counted += 1
        tally = tallies.get(str(opportunity.get("pipelineId")))
        if tally is not None:
            _count(tally, opportunity)
    return AnalyticsOut(pipelines=list(tallies.values()), counted=counted, truncated=truncated)
