"""Loading a snapshot into a location, and how far along that push is.

GHL loads a snapshot only into a new location (`snapshotId` on create-location) or through
put-location's `snapshot {id, override}`; there is no push endpoint (research/ghl-facts.md §6).
A push copies the source location's custom fields, custom values and tags at once, but reports
itself `processing` for a few (simulated) seconds per asset, like GHL's push-status endpoints,
so a client polling it sees it progress. No handler module is imported: the seed uses this.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ghl_bridge.simulator.admin_records import CUSTOM_FIELDS, CUSTOM_VALUES, PUSHES, TAGS
from ghl_bridge.simulator.state import SimState
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["ASSETS", "SECONDS_PER_ASSET", "push_progress", "push_snapshot"]

Record = dict[str, Any]
# What GHL's push status lists (its example names forms, surveys, funnels, workflows,
# custom_fields, custom_values, tags); only the last three exist in the simulator to copy.
ASSETS = (
    "custom_fields", "custom_values", "tags", "pipelines", "calendars", "forms", "surveys",
    "funnels", "workflows",
)  # fmt: skip
SECONDS_PER_ASSET = 2.0
# How each copied kind is matched against what the target already has.
_KEYS: dict[str, Callable[[Record], Any]] = {
    CUSTOM_FIELDS: lambda r: r["fieldKey"],
    CUSTOM_VALUES: lambda r: r["fieldKey"],
    TAGS: lambda r: r["name"],
}


def push_snapshot(
    state: SimState, snapshot: Record, location_id: str, started_at: float, override: bool
) -> Record:
    """Copy the snapshot's assets into `location_id` and record the push.

    Assets the location already has (same key) are kept, or replaced when `override` is set.
    """
    source = snapshot.get("sourceLocationId")
    if source and source != location_id:
        for kind, key in _KEYS.items():
            _copy(state, kind, key, source, location_id, override)
    push: Record = {
        "id": state.ids.ghl_id(),
        "snapshotId": snapshot["id"],
        "locationId": location_id,
        "companyId": snapshot["companyId"],
        "dateAdded": iso_ms(started_at),
        "startedAt": started_at,
    }
    state.store(PUSHES)[push["id"]] = push
    return push


def _copy(
    state: SimState,
    kind: str,
    key: Callable[[Record], Any],
    source: str,
    target: str,
    override: bool,
) -> None:
    existing = {key(r): r for r in state.location_records(kind, target)}
    for record in state.location_records(kind, source):
        twin = existing.get(key(record))
        if twin is None:
            copied = {**copy.deepcopy(record), "id": state.ids.ghl_id(), "locationId": target}
            state.store(kind)[copied["id"]] = copied
        elif override:
            twin.update(
                {k: copy.deepcopy(v) for k, v in record.items() if k not in ("id", "locationId")}
            )


def push_progress(push: Record, now: float) -> Record:
    """The push as GHL's status endpoints show it at `now`: status, completed and pending."""
    done = max(0, int((now - push["startedAt"]) // SECONDS_PER_ASSET))
    completed, pending = list(ASSETS[:done]), list(ASSETS[done:])
    return {
        "id": push["id"],
        "locationId": push["locationId"],
        "status": "processing" if pending else "completed",
        "completed": completed,
        "pending": pending,
    }
