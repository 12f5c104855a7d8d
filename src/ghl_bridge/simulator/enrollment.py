"""Campaigns and workflows (seeded, list-only in v2) and enrolling contacts in them.

v2 has no endpoint to create, edit, pause or inspect a campaign or workflow run
(research/ghl-facts.md §6), so these lists come from the seed. Enrolment is reflected on the
contact: workflow ids in `activeWorkflows` (which contacts search can filter on), campaign ids
in an internal list. Answers are `{succeded: true}` (sic; both spellings sent); adding a
contact to a campaign is 201 per the spec. Unknown campaign/workflow ids are a 400 like other
missing ids (wording ours; GHL's is unrecorded).

A contact's campaign membership changing emits `CampaignStatusUpdate` (webhook-events.json):
`templateId` is the campaign, `status` is `active` on enrolment and `removed` on removal. GHL
documents only `paused` as an example value, so these two words are the simulator's choice.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.contacts import contact_for_call
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import SUCCEEDED, query_location
from ghl_bridge.simulator.timefmt import epoch_ms, iso_ms

__all__ = ["ENDPOINTS", "enrolled_campaigns"]

Record = dict[str, Any]
_CAMPAIGNS_KEY = "_campaigns"  # internal: never rendered (views whitelist their fields)


def _target(call: Call, kind: str, param: str, contact: Record) -> Record:
    record_id = call.param(param)
    record = call.state.store(kind).get(record_id)
    if record is None or record["locationId"] != contact["locationId"]:
        label = "Campaign" if kind == "campaigns" else "Workflow"
        raise bad_request(f"{label} with id {record_id} not found")
    return record


def _touch(call: Call, contact: Record, key: str, ids: list[str]) -> None:
    contact[key] = ids
    contact["dateUpdated"] = iso_ms(call.sim.now())


def _campaign_status(call: Call, contact: Record, campaign_id: str, status: str) -> None:
    fields = {
        "id": call.state.ids.ghl_id(),
        "contactId": contact["id"],
        "status": status,
        "templateId": campaign_id,
        "dateAdded": iso_ms(call.sim.now()),
    }
    call.emit("CampaignStatusUpdate", contact["locationId"], fields)


async def get_campaigns(call: Call) -> Response:
    location_id = query_location(call)
    status = call.query("status")
    campaigns = [
        {key: c[key] for key in ("id", "name", "status", "locationId")}
        for c in call.state.location_records("campaigns", location_id)
        if not status or c["status"] == status
    ]
    return call.respond({"campaigns": campaigns})


async def get_workflows(call: Call) -> Response:
    location_id = query_location(call)
    return call.respond({"workflows": call.state.location_records("workflows", location_id)})


async def add_to_campaign(call: Call) -> Response:
    contact = contact_for_call(call)
    campaign = _target(call, "campaigns", "campaignId", contact)
    current = list(contact.get(_CAMPAIGNS_KEY, []))
    if campaign["id"] not in current:
        _touch(call, contact, _CAMPAIGNS_KEY, [*current, campaign["id"]])
        _campaign_status(call, contact, campaign["id"], "active")
    return call.respond(SUCCEEDED)


async def remove_from_campaign(call: Call) -> Response:
    contact = contact_for_call(call)
    campaign = _target(call, "campaigns", "campaignId", contact)
    current = list(contact.get(_CAMPAIGNS_KEY, []))
    _touch(call, contact, _CAMPAIGNS_KEY, [c for c in current if c != campaign["id"]])
    if campaign["id"] in current:
        _campaign_status(call, contact, campaign["id"], "removed")
    return call.respond(SUCCEEDED)


async def remove_from_all_campaigns(call: Call) -> Response:
    contact = contact_for_call(call)
    current = list(contact.get(_CAMPAIGNS_KEY, []))
    _touch(call, contact, _CAMPAIGNS_KEY, [])
    for campaign_id in current:
        _campaign_status(call, contact, campaign_id, "removed")
    return call.respond(SUCCEEDED)


async def add_to_workflow(call: Call) -> Response:
    body = call.validated_body() if call.body is not None else {}
    start = body.get("eventStartTime")
    if start and epoch_ms(str(start)) is None:
        raise unprocessable(["eventStartTime must be a valid ISO 8601 date string"])
    contact = contact_for_call(call)
    workflow = _target(call, "workflows", "workflowId", contact)
    current = list(contact.get("activeWorkflows", []))
    if workflow["id"] not in current:
        _touch(call, contact, "activeWorkflows", [*current, workflow["id"]])
    return call.respond(SUCCEEDED)


async def remove_from_workflow(call: Call) -> Response:
    if call.body is not None:
        call.validated_body()
    contact = contact_for_call(call)
    workflow = _target(call, "workflows", "workflowId", contact)
    current = list(contact.get("activeWorkflows", []))
    _touch(call, contact, "activeWorkflows", [w for w in current if w != workflow["id"]])
    return call.respond(SUCCEEDED)


def enrolled_campaigns(contact: Record) -> list[str]:
    """The contact's campaign ids (for tests and future views)."""
    return list(contact.get(_CAMPAIGNS_KEY, []))


ENDPOINTS = [
    Endpoint("get-campaigns", get_campaigns),
    Endpoint("get-workflow", get_workflows),
    Endpoint("add-contact-to-campaign", add_to_campaign),
    Endpoint("remove-contact-from-campaign", remove_from_campaign),
    Endpoint("remove-contact-from-every-campaign", remove_from_all_campaigns),
    Endpoint("add-contact-to-workflow", add_to_workflow),
    Endpoint("delete-contact-from-workflow", remove_from_workflow),
]
