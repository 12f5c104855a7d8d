"""Seeded records beyond contacts: pipelines and opportunities, calendars, campaigns, workflows,
lost reasons.

Deterministic for a seed, and generated after the contacts so adding an area never shifts the
ids of what was seeded before it. GHL has no public API to create pipelines, campaigns,
workflows or lost reasons, so a simulator user can only get them from here (find them with the
list endpoints: `GET /opportunities/pipelines`, `GET /calendars/`, `GET /campaigns/`,
`GET /workflows/`, `GET /opportunities/lost-reason`).
"""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from ghl_bridge.simulator.state import Location, SimState
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["SEED_OPPORTUNITIES_PER_LOCATION", "seed_crm"]

Record = dict[str, Any]
SEED_OPPORTUNITIES_PER_LOCATION = 4
_EPOCH = datetime(2026, 2, 2, 15, 0, tzinfo=UTC)
_PIPELINES = (
    ("Sales Pipeline", ("New Lead", "Contacted", "Proposal Sent", "Closed")),
    ("Onboarding", ("Kickoff", "In Progress", "Live")),
)
_CALENDARS = (
    # name, slug, days of the week (0 = Sunday, JS getDay), open hour, close hour
    ("Consultation", "consultation", (1, 2, 3, 4, 5), 9, 17),
    ("Follow-up Call", "follow-up-call", (1, 2, 3, 4, 5, 6), 10, 14),
)
_CAMPAIGNS = (("Welcome Drip", "published"), ("Re-engagement", "published"), ("Old Promo", "draft"))
_WORKFLOWS = (("New Lead Nurture", "published"), ("Appointment Reminder", "published"),
              ("Review Request", "draft"))  # fmt: skip
# name, soft-deleted (the `deleted=true` query lists it)
_LOST_REASONS = (
    ("Price too high", False), ("Chose a competitor", False), ("No response", False),
    ("Bad timing", False), ("Duplicate lead", True),
)  # fmt: skip


def seed_crm(state: SimState) -> None:
    """Add every location's pipelines, opportunities, calendars, campaigns and workflows."""
    for index, location in enumerate(state.locations.values()):
        pipelines = [_pipeline(state, location, n, *spec) for n, spec in enumerate(_PIPELINES)]
        contacts = list(state.location_contacts(location.id).values())
        for n, contact in enumerate(contacts[:SEED_OPPORTUNITIES_PER_LOCATION]):
            _opportunity(state, pipelines[0], contact, index * 100 + n)
        for name, slug, days, opens, closes in _CALENDARS:
            _calendar(state, location, name, f"{slug}-{index}", days, opens, closes)
        for n, (name, status) in enumerate(_CAMPAIGNS):
            _simple(state, "campaigns", location, n, name=name, status=status)
        for n, (name, status) in enumerate(_WORKFLOWS):
            _simple(state, "workflows", location, n, name=name, status=status, version=n + 1)
    for location in state.locations.values():
        _lost_reasons(state, location)


def _pipeline(state: SimState, location: Location, n: int, name: str, stages: Any) -> Record:
    pipeline: Record = {
        "id": state.ids.ghl_id(),
        "name": name,
        "stages": [
            {
                "id": state.ids.entity_uuid(),
                "name": stage,
                "position": position,
                "showInFunnel": True,
                "showInPieChart": True,
            }
            for position, stage in enumerate(stages)
        ],
        "showInFunnel": True,
        "showInPieChart": True,
        "locationId": location.id,
        "dateAdded": iso_ms((_EPOCH - timedelta(days=30 - n)).timestamp()),
    }
    state.store("pipelines")[pipeline["id"]] = pipeline
    return pipeline


def _opportunity(state: SimState, pipeline: Record, contact: Record, n: int) -> None:
    created = iso_ms((_EPOCH + timedelta(hours=5 * n, minutes=n)).timestamp())
    stage = pipeline["stages"][n % len(pipeline["stages"])]
    name = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)
    opportunity = {
        "id": state.ids.ghl_id(),
        "name": f"{name} - {pipeline['name']}",
        "monetaryValue": float(500 + 250 * (n % 7)),
        "pipelineId": pipeline["id"],
        "pipelineStageId": stage["id"],
        "status": "open",
        "source": contact.get("source"),
        "contactId": contact["id"],
        "locationId": contact["locationId"],
        "customFields": [],
        "followers": [],
        "createdAt": created,
        "updatedAt": created,
        "lastStatusChangeAt": created,
        "lastStageChangeAt": created,
    }
    state.store("opportunities")[opportunity["id"]] = opportunity


def _calendar(
    state: SimState,
    location: Location,
    name: str,
    slug: str,
    days: tuple[int, ...],
    opens: int,
    closes: int,
) -> None:
    calendar: Record = {
        "id": state.ids.ghl_id(),
        "locationId": location.id,
        "name": name,
        "description": f"{name} with {location.name}",
        "slug": slug,
        "widgetSlug": slug,
        "calendarType": "event",
        "widgetType": "classic",
        "eventTitle": "{{contact.name}}",
        "eventColor": "#039be5",
        "slotDuration": 30,
        "slotDurationUnit": "mins",
        "slotInterval": 30,
        "slotIntervalUnit": "mins",
        "slotBuffer": 0,
        "preBuffer": 0,
        "appoinmentPerSlot": 1,
        "appoinmentPerDay": 0,
        "allowBookingAfter": 0,
        "allowBookingAfterUnit": "hours",
        "allowBookingFor": 90,
        "allowBookingForUnit": "days",
        "openHours": [
            {
                "daysOfTheWeek": list(days),
                "hours": [
                    {"openHour": opens, "openMinute": 0, "closeHour": closes, "closeMinute": 0}
                ],
            }
        ],
        "teamMembers": [],
        "autoConfirm": True,
        "allowReschedule": True,
        "allowCancellation": True,
        "isActive": True,
        # Not a spec field: GHL renders slots in the location's zone unless `timezone` is sent.
        "timezone": location.timezone,
    }
    state.store("calendars")[calendar["id"]] = calendar


def _simple(state: SimState, kind: str, location: Location, n: int, **fields: Any) -> None:
    made = iso_ms((_EPOCH - timedelta(days=60 - n)).timestamp())
    record: Record = {"id": state.ids.ghl_id(), **fields, "locationId": location.id}
    if kind == "workflows":
        record["id"] = state.ids.entity_uuid()  # workflow ids are UUIDs (spec examples)
        record.update(createdAt=made, updatedAt=made)
    state.store(kind)[record["id"]] = record


def _lost_reasons(state: SimState, location: Location) -> None:
    """Ids come from a stream of their own (derived from the seeded location id), not from
    `state.ids`, so that these later-added records shift no id seeded after the CRM."""
    picker = random.Random(f"{location.id}:lost-reasons")  # noqa: S311 - reproducible fixtures
    alphabet = string.ascii_letters + string.digits
    for n, (name, deleted) in enumerate(_LOST_REASONS):
        made = iso_ms((_EPOCH - timedelta(days=90 - n)).timestamp())
        record: Record = {
            "id": "".join(picker.choices(alphabet, k=20)),
            "name": name,
            "locationId": location.id,
            "createdAt": made,
            "updatedAt": made,
            "deleted": deleted,
        }
        state.store("lost_reasons")[record["id"]] = record
