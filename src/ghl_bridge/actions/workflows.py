"""Workflow actions: list, enrol a contact (optionally setting custom fields first), remove, and
what we know of a contact's enrolments.

GHL's API lists workflows and adds or removes a contact; it exposes no run or step status
(research/ghl-facts.md §6). So each enrolment and removal made through this service is kept in
our own records (kind ``enrollment``, key ``{workflowId}:{contactId}``), and
``workflows.enrollment_status`` reports those records, saying plainly that they are ours.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from ghl_bridge.actions.models import JSON, Id, Input, Instant, Items, Limit, Output, items_of
from ghl_bridge.actions.registry import ActionContext, ActionSet, Kind
from ghl_bridge.store.action_records import Fact

actions = ActionSet()

KIND = "enrollment"
OUR_RECORD = (
    "This is this service's record of enrolments and removals it made. GHL exposes no workflow"
    " execution status: whether the workflow ran, is waiting or finished, and changes made in"
    " the GHL app or by other integrations, are not known here."
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _key(workflow_id: str, contact_id: str) -> str:
    return f"{workflow_id}:{contact_id}"


class WorkflowQuery(Input):
    status: Literal["draft", "published"] | None = None


@actions.define(
    "workflows.list",
    "The location's workflows: id, name, status (draft or published) and version.",
    scopes=("workflows.readonly",),
    notes="GHL's API cannot create, edit, publish or pause a workflow; build them in the app.",
)
async def list_workflows(ctx: ActionContext, data: WorkflowQuery) -> Items:
    answer = await ctx.ghl.workflows.list(ctx.location_id, options=ctx.opts)
    found = [w for w in answer.get("workflows", []) if isinstance(w, dict)]
    if data.status:
        found = [w for w in found if w.get("status") == data.status]
    return items_of(found)


class Trigger(Input):
    workflow_id: Id
    contact_id: Id
    event_start_time: Instant | None = Field(
        default=None, description="the workflow's event time, ISO 8601 with an offset"
    )
    custom_fields: dict[str, Any] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="contact fields to set first: field id, key or display name → value",
    )


class Enrollment(Output):
    workflow_id: str
    contact_id: str
    status: str = Field(description="enrolled or removed, as this service last did it")
    at: str | None = Field(default=None, description="when this service did it")
    enrolled_at: str | None = None
    event_start_time: str | None = None
    custom_fields: dict[str, Any] | None = Field(
        default=None, description="what workflows.trigger set on the contact first"
    )


@actions.define(
    "workflows.trigger",
    "Enrol a contact in a workflow, optionally setting its custom fields first so the workflow"
    " can use them.",
    scopes=("contacts.write", "locations/customFields.readonly"),
    kind=Kind.WRITE,
    retry_safe=False,
    notes="GHL has no way to pass data to a workflow run: customFields are written to the"
    " contact (names and keys resolved through the field map) before enrolling, and the"
    " workflow reads them from the contact. Whether a contact already in the workflow is"
    " enrolled again depends on the workflow's re-entry setting. The enrolment is recorded in"
    " this service's records (see workflows.enrollment_status).",
)
async def trigger(ctx: ActionContext, data: Trigger) -> Enrollment:
    if data.custom_fields:
        fields = await ctx.support.field_map(ctx.ghl, ctx.location_id)
        body = {"customFields": fields.resolve(data.custom_fields.items())}
        await ctx.ghl.contacts.update(
            ctx.location_id, data.contact_id, body, options=ctx.keyed("fields")
        )
    await ctx.ghl.contacts.add_to_workflow(
        ctx.location_id,
        data.contact_id,
        data.workflow_id,
        event_start_time=data.event_start_time,
        options=ctx.keyed("enroll"),
    )
    now = _now()
    enrollment = Enrollment(
        workflow_id=data.workflow_id,
        contact_id=data.contact_id,
        status="enrolled",
        at=now,
        enrolled_at=now,
        event_start_time=data.event_start_time,
        custom_fields=data.custom_fields,
    )
    await ctx.remember(KIND, _key(data.workflow_id, data.contact_id), _fact(enrollment))
    return enrollment


def _fact(enrollment: Enrollment) -> JSON:
    return enrollment.model_dump(mode="json", by_alias=True, exclude_none=True)


class WorkflowContact(Input):
    workflow_id: Id
    contact_id: Id


@actions.define(
    "workflows.remove_contact",
    "Remove a contact from a workflow.",
    scopes=("contacts.write",),
    kind=Kind.DESTRUCTIVE,
    retry_safe=True,
    notes="The contact's place in the workflow is lost: enrolling it again starts from the"
    " trigger. The removal is recorded in this service's records.",
)
async def remove_contact(ctx: ActionContext, data: WorkflowContact) -> Enrollment:
    key = _key(data.workflow_id, data.contact_id)
    records = ctx.support.records
    earlier = None
    if records is not None:
        earlier = await records.get(ctx.tenant_id, ctx.location_id, KIND, key)
    await ctx.ghl.contacts.remove_from_workflow(
        ctx.location_id, data.contact_id, data.workflow_id, options=ctx.opts
    )
    kept = dict(earlier.data) if earlier else {}  # when and how it was enrolled, if we did it
    removed = Enrollment.model_validate(
        {
            **kept,
            "workflowId": data.workflow_id,
            "contactId": data.contact_id,
            "status": "removed",
            "at": _now(),
        }
    )
    await ctx.remember(KIND, key, _fact(removed))
    return removed


class StatusQuery(Input):
    contact_id: Id | None = None
    workflow_id: Id | None = None
    limit: Limit = Field(default=100, le=1000)

    @model_validator(mode="after")
    def _something(self) -> StatusQuery:
        if not (self.contact_id or self.workflow_id):
            raise ValueError("give a contactId, a workflowId or both")
        return self


class RecordedEnrollment(Enrollment):
    recorded_at: str = Field(description="when this service first recorded it")
    updated_at: str = Field(description="when this service last changed it")


class EnrollmentsOut(Output):
    source: Literal["ours"] = Field(
        default="ours", description="always 'ours': these are this service's records, not GHL's"
    )
    note: str = OUR_RECORD
    items: list[RecordedEnrollment]
    count: int


def _enrollment(fact: Fact) -> RecordedEnrollment:
    workflow_id, _, contact_id = fact.key.partition(":")
    return RecordedEnrollment.model_validate(
        {
            "workflowId": workflow_id,
            "contactId": contact_id,
            "status": "enrolled",
            **fact.data,
            "recordedAt": fact.created_at.isoformat(),
            "updatedAt": fact.updated_at.isoformat(),
        }
    )


@actions.define(
    "workflows.enrollment_status",
    "This service's record of a contact's workflow enrolments and removals (GHL exposes no run"
    " status).",
    scopes=("workflows.readonly",),
    notes="Reads only this service's records of workflows.trigger and workflows.remove_contact,"
    " newest first; GHL is not asked, since it has no endpoint for it. Enrolments made in the"
    " GHL app, by triggers or by other tools are not seen. By contact alone, the newest 1000"
    " records of the location are searched.",
)
async def enrollment_status(ctx: ActionContext, data: StatusQuery) -> EnrollmentsOut:
    records = ctx.support.records
    if records is None:
        return EnrollmentsOut(items=[], count=0)
    tenant, location = ctx.tenant_id, ctx.location_id
    facts: list[Fact]
    if data.workflow_id and data.contact_id:
        one = await records.get(tenant, location, KIND, _key(data.workflow_id, data.contact_id))
        facts = [one] if one else []
    elif data.workflow_id:
        prefix = f"{data.workflow_id}:"
        facts = list(await records.list(tenant, location, KIND, key_prefix=prefix))
    else:
        suffix = f":{data.contact_id}"
        facts = [f for f in await records.list(tenant, location, KIND) if f.key.endswith(suffix)]
    items = [_enrollment(f) for f in facts[: data.limit]]
    return EnrollmentsOut(items=items, count=len(items))
