"""Endpoints for the admin areas: locations and their catalogues, users, businesses, snapshots.

Each area lives in its own module; this only gathers their endpoints for `app.py`.
"""

from __future__ import annotations

from ghl_bridge.simulator import (
    businesses,
    custom_fields,
    location_tags,
    location_templates,
    locations,
    snapshots,
    task_search,
    users,
)
from ghl_bridge.simulator.gate import Endpoint

__all__ = ["ENDPOINTS"]

ENDPOINTS: list[Endpoint] = [
    *locations.ENDPOINTS,
    *task_search.ENDPOINTS,
    *custom_fields.ENDPOINTS,
    *location_tags.ENDPOINTS,
    *location_templates.ENDPOINTS,
    *users.ENDPOINTS,
    *businesses.ENDPOINTS,
    *snapshots.ENDPOINTS,
]
