"""Endpoints for the content areas: trigger links, funnels and redirects, forms and surveys, the
social planner, and the email builder. Each area lives in its own module; this one only gathers
them for `app.py`."""

from __future__ import annotations

from ghl_bridge.simulator import (
    email_builder,
    forms,
    funnels,
    links,
    redirects,
    social,
    social_stats,
)
from ghl_bridge.simulator.gate import Endpoint

__all__ = ["ENDPOINTS"]

ENDPOINTS: list[Endpoint] = [
    *links.ENDPOINTS,
    *funnels.ENDPOINTS,
    *redirects.ENDPOINTS,
    *forms.ENDPOINTS,
    *social.ENDPOINTS,
    *social_stats.ENDPOINTS,
    *email_builder.ENDPOINTS,
]
