"""Pipelines (read-only, seeded) and opportunities: create, get, update, status, upsert, delete,
followers. Lost reasons (seeded, read-only) live in `lost_reasons`.

Shapes follow the recorded search items (research/ghl-wire-facts.md §2.1): `createdAt`,
`updatedAt`, `lastStatusChangeAt`, `lastStageChangeAt`, `pipelineStageUId` (= stage id), an
embedded `contact` and `relations`. Unset string fields are omitted because the spec types them
as plain strings. A contact may hold one opportunity per pipeline (GHL's default "allow
duplicate opportunities" setting is off). Events: OpportunityCreate/Update/Delete and
Opportunity{Stage,Status,MonetaryValue,AssignedTo}Update (webhook-events.json).
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.followers import add_followers, remove_followers
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.lost_reasons import ENDPOINTS as LOST_REASON_ENDPOINTS
from ghl_bridge.simulator.resources import SUCCEEDED, owned, query_bool, query_location
from ghl_bridge.simulator.state import SimState
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["ENDPOINTS", "event_view", "opportunity_view"]

Record = dict[str, Any]
STATUSES = ("open", "won", "lost", "abandoned")
_EDITABLE = ("name", "monetaryValue", "assignedTo", "lostReasonId", "source")
_EVENT_FIELDS = (
    "id", "assignedTo", "contactId", "monetaryValue", "name", "pipelineId", "pipelineStageId",
    "source", "status",
)  # fmt: skip
_UPSERT_OPTIONAL = frozenset({"followers", "isRemoveAllFollowers", "followersActionType"})
_UPSERT_FIELDS = frozenset({"pipelineId", "pipelineStageId", "status", "lostReasonId", *_EDITABLE})
_VIEW_ORDER = (
    "id", "name", "monetaryValue", "pipelineId", "pipelineStageId", "pipelineStageUId",
    "assignedTo", "status", "source", "lastStatusChangeAt", "lastStageChangeAt", "createdAt",
    "updatedAt", "contactId", "locationId", "customFields", "lostReasonId", "followers",
)  # fmt: skip


def _probability(state: SimState, opportunity: Record) -> float:
    """Won is 100, lost/abandoned 0, open grows with the stage's position (like 14.29 = 1/7)."""
    if opportunity["status"] != "open":
        return 100.0 if opportunity["status"] == "won" else 0.0
    pipeline = state.store("pipelines").get(opportunity["pipelineId"]) or {"stages": []}
    ids = [stage["id"] for stage in pipeline["stages"]]
    if opportunity["pipelineStageId"] not in ids:
        return 0.0
    return round(100 * (ids.index(opportunity["pipelineStageId"]) + 1) / len(ids), 2)


def _contact_summary(state: SimState, contact_id: str) -> Record:
    contact = state.find_contact(contact_id) or {"id": contact_id}
    name = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)
    summary = {
        "id": contact["id"],
        "name": name or None,
        "companyName": contact.get("companyName"),
        "email": contact.get("email"),
        "phone": contact.get("phone"),
        "tags": contact.get("tags", []),
    }
    return {key: value for key, value in summary.items() if value is not None}


def opportunity_view(state: SimState, opportunity: Record) -> Record:
    """The opportunity as get/create/update and both searches render it."""
    merged = {**opportunity, "pipelineStageUId": opportunity.get("pipelineStageId")}
    view = {name: merged[name] for name in _VIEW_ORDER if merged.get(name) is not None}
    contact = _contact_summary(state, opportunity["contactId"])
    view["forecastProbability"] = None
    view["effectiveProbability"] = _probability(state, opportunity)
    view["contact"] = contact
    view["relations"] = [
        {"associationId": "OPPORTUNITIES_CONTACTS_ASSOCIATION", "relationId": contact["id"],
         "primary": True, "objectKey": "contact", "recordId": contact["id"],
         "fullName": contact.get("name"), "contactName": contact.get("name"),
         "companyName": contact.get("companyName"), "email": contact.get("email"),
         "phone": contact.get("phone"), "tags": contact.get("tags", []), "attributed": None}
    ]  # fmt: skip
    view["attributions"] = []
    return view


def event_view(opportunity: Record) -> Record:
    fields = {name: opportunity.get(name) for name in _EVENT_FIELDS}
    fields["dateAdded"] = opportunity["createdAt"]
    return {key: value for key, value in fields.items() if value is not None}


def _pipeline(call: Call, location_id: str, pipeline_id: Any) -> Record:
    pipeline = call.state.store("pipelines").get(str(pipeline_id))
    if pipeline is None or pipeline["locationId"] != location_id:
        raise bad_request("Pipeline not found")  # wording ours; GHL's is unrecorded
    return pipeline


def _place(call: Call, opportunity: Record, body: dict[str, Any]) -> None:
    """Pipeline and stage: a new pipeline without a stage lands in its first stage."""
    pipeline_id = body.get("pipelineId") or opportunity.get("pipelineId")
    pipeline = _pipeline(call, opportunity["locationId"], pipeline_id)
    stage_ids = [stage["id"] for stage in pipeline["stages"]]
    stage_id = body.get("pipelineStageId")
    if stage_id is None:
        same = opportunity.get("pipelineStageId") in stage_ids
        stage_id = opportunity["pipelineStageId"] if same else stage_ids[0]
    if stage_id not in stage_ids:
        raise bad_request("Pipeline stage not found")  # wording ours
    opportunity["pipelineId"], opportunity["pipelineStageId"] = pipeline["id"], stage_id


def _apply(call: Call, opportunity: Record, body: dict[str, Any]) -> Record:
    """`opportunity` with `body` applied and its change dates moved; 4xx on bad references."""
    now = iso_ms(call.sim.now())
    updated = copy.deepcopy(opportunity)
    _place(call, updated, body)
    status = body.get("status")
    if status is not None:
        if status not in STATUSES:  # "all" is in the DTO enum but only means something in search
            raise unprocessable(
                [f"status must be one of the following values: {', '.join(STATUSES)}"]
            )
        updated["status"] = status
    for name in _EDITABLE:
        if name in body:
            updated[name] = body[name]
    if body.get("customFields"):
        updated["customFields"] = _merge_custom(
            updated.get("customFields", []), body["customFields"]
        )
    if updated["status"] != opportunity.get("status"):
        updated["lastStatusChangeAt"] = now
    if updated["pipelineStageId"] != opportunity.get("pipelineStageId"):
        updated["lastStageChangeAt"] = now
    updated["updatedAt"] = now
    return updated


def _merge_custom(current: list[Record], incoming: list[Any]) -> list[Record]:
    """Input `{id|key, field_value}` is stored and rendered `{id, fieldValue}` (spec response)."""
    merged = {entry["id"]: entry for entry in current}
    for item in incoming:
        if isinstance(item, dict) and (item.get("id") or item.get("key")):
            field_id = str(item.get("id") or item.get("key"))
            merged[field_id] = {"id": field_id, "fieldValue": item.get("field_value")}
    return [entry for entry in merged.values() if entry["fieldValue"] not in (None, "")]


def _duplicate(state: SimState, opportunity: Record) -> bool:
    return any(
        other["id"] != opportunity["id"]
        and other["contactId"] == opportunity["contactId"]
        and other["pipelineId"] == opportunity["pipelineId"]
        for other in state.location_records("opportunities", opportunity["locationId"])
    )


def _new(call: Call, body: dict[str, Any]) -> Record:
    location_id = body["locationId"]
    contact = call.state.find_contact(str(body.get("contactId")))
    if contact is None or contact["locationId"] != location_id:
        raise bad_request("Contact not found")  # wording ours
    now = iso_ms(call.sim.now())
    draft = {
        "id": call.state.ids.ghl_id(), "locationId": location_id, "contactId": contact["id"],
        "status": "open", "customFields": [], "followers": [], "createdAt": now,
        "source": "api",
    }  # fmt: skip
    created = _apply(call, draft, body)
    created["lastStatusChangeAt"] = created["lastStageChangeAt"] = now
    if _duplicate(call.state, created):
        # Message quoted by integrators; GHL refuses a second opportunity per contact+pipeline.
        raise bad_request("Can not create duplicate opportunity for the contact.")
    return created


def _emit_changes(call: Call, before: Record, after: Record, general: bool = True) -> None:
    location_id, fields = after["locationId"], event_view(after)
    if general:
        call.emit("OpportunityUpdate", location_id, fields)
    checks = (
        ("OpportunityStageUpdate", ("pipelineId", "pipelineStageId")),
        ("OpportunityStatusUpdate", ("status",)),
        ("OpportunityMonetaryValueUpdate", ("monetaryValue",)),
        ("OpportunityAssignedToUpdate", ("assignedTo",)),
    )
    for event_type, names in checks:
        if any(before.get(name) != after.get(name) for name in names):
            call.emit(event_type, location_id, fields)


def _store(call: Call, opportunity: Record) -> None:
    call.state.store("opportunities")[opportunity["id"]] = opportunity


async def get_pipelines(call: Call) -> Response:
    location_id = query_location(call)
    pipelines = [
        {key: value for key, value in p.items() if key != "dateAdded"}
        for p in call.state.location_records("pipelines", location_id)
    ]
    return call.respond({"pipelines": pipelines})


async def create_opportunity(call: Call) -> Response:
    body = call.validated_body()
    call.require_location(body["locationId"])
    opportunity = _new(call, body)
    _store(call, opportunity)
    call.emit("OpportunityCreate", opportunity["locationId"], event_view(opportunity))
    return call.respond({"opportunity": opportunity_view(call.state, opportunity)})


def _owned(call: Call) -> Record:
    return owned(call, "opportunities", call.param("id"), "Opportunity")


async def get_opportunity(call: Call) -> Response:
    return call.respond({"opportunity": opportunity_view(call.state, _owned(call))})


async def update_opportunity(call: Call) -> Response:
    body = call.validated_body()
    before = _owned(call)
    after = _apply(call, before, body)
    if _duplicate(call.state, after):
        raise bad_request("Can not create duplicate opportunity for the contact.")
    _store(call, after)
    _emit_changes(call, before, after)
    return call.respond({"opportunity": opportunity_view(call.state, after)})


async def update_status(call: Call) -> Response:
    body = call.validated_body()
    before = _owned(call)
    after = _apply(call, before, {k: body[k] for k in ("status", "lostReasonId") if k in body})
    _store(call, after)
    _emit_changes(call, before, after, general=False)
    return call.respond(SUCCEEDED)


async def delete_opportunity(call: Call) -> Response:
    opportunity = _owned(call)
    del call.state.store("opportunities")[opportunity["id"]]
    call.emit("OpportunityDelete", opportunity["locationId"], event_view(opportunity))
    return call.respond(SUCCEEDED)


def _upsert_match(call: Call, body: dict[str, Any]) -> Record | None:
    if body.get("id"):
        return _owned_id(call, str(body["id"]))
    return next(
        (
            other
            for other in call.state.location_records("opportunities", body["locationId"])
            if other["contactId"] == body.get("contactId")
            and other["pipelineId"] == body["pipelineId"]
        ),
        None,
    )


def _owned_id(call: Call, opportunity_id: str) -> Record:
    return owned(call, "opportunities", opportunity_id, "Opportunity")


async def upsert_opportunity(call: Call) -> Response:
    """Match by `id`, else by contact + pipeline (GHL's duplicate rule), else create.

    The public DTO lists no `contactId` yet creating needs one, so it is accepted here, and the
    follower fields the spec marks required are optional (NestJS would otherwise 422 every
    real client; they default to "add nothing").
    """
    body = call.validated_body(_UPSERT_OPTIONAL, extra=frozenset({"contactId"}))
    contact_id = body.get("contactId")
    call.require_location(body["locationId"])
    fields = {k: v for k, v in body.items() if k in _UPSERT_FIELDS}
    existing = _upsert_match(call, {**body, "contactId": contact_id})
    if existing is None:
        if not contact_id or not body.get("name"):
            raise unprocessable(["contactId should not be empty", "name should not be empty"])
        opportunity = _new(
            call, {**fields, "locationId": body["locationId"], "contactId": contact_id}
        )
        opportunity["followers"] = list(body.get("followers") or [])
        _store(call, opportunity)
        call.emit("OpportunityCreate", opportunity["locationId"], event_view(opportunity))
        return call.respond({"new": True, "opportunity": opportunity_view(call.state, opportunity)})
    updated = _apply(call, existing, fields)
    updated["followers"] = _followers(existing["followers"], body)
    _store(call, updated)
    _emit_changes(call, existing, updated)
    return call.respond({"new": False, "opportunity": opportunity_view(call.state, updated)})


def _followers(current: list[str], body: dict[str, Any]) -> list[str]:
    if body.get("isRemoveAllFollowers"):
        return []
    given = [str(f) for f in body.get("followers") or []]
    if body.get("followersActionType") == "remove":
        return [f for f in current if f not in given]
    return [*current, *(f for f in given if f not in current)]


async def add_opportunity_followers(call: Call) -> Response:
    body = call.validated_body()
    opportunity = _owned(call)
    followers, added = add_followers(opportunity["followers"], body["followers"])
    if added:
        opportunity.update(followers=followers, updatedAt=iso_ms(call.sim.now()))
    return call.respond({"followers": followers, "followersAdded": added})


async def remove_opportunity_followers(call: Call) -> Response:
    """`?isRemoveAllFollowers=true` empties the list whatever `followers` names."""
    body = call.validated_body()
    opportunity = _owned(call)
    current = opportunity["followers"]
    everyone = query_bool(call, "isRemoveAllFollowers")
    followers, removed = remove_followers(current, current if everyone else body["followers"])
    if removed:
        opportunity.update(followers=followers, updatedAt=iso_ms(call.sim.now()))
    return call.respond({"followers": followers, "followersRemoved": removed})


ENDPOINTS = [
    Endpoint("get-pipelines", get_pipelines),
    Endpoint("create-opportunity", create_opportunity),
    Endpoint("get-opportunity", get_opportunity),
    Endpoint("update-opportunity", update_opportunity),
    Endpoint("update-opportunity-status", update_status),
    Endpoint("delete-opportunity", delete_opportunity),
    Endpoint("Upsert-opportunity", upsert_opportunity),
    Endpoint("add-followers-opportunity", add_opportunity_followers),
    Endpoint("remove-followers-opportunity", remove_opportunity_followers),
    *LOST_REASON_ENDPOINTS,
]
