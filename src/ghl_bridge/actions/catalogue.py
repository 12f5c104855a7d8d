"""The area modules whose actions make up the built-in catalogue, in the order listed."""

from __future__ import annotations

from ghl_bridge.actions import (
    businesses,
    calendars,
    campaigns,
    contacts,
    custom_data,
    forms,
    funnels,
    generic,
    links,
    locations,
    messaging,
    opportunities,
    pipelines,
    reviews,
    social,
    workflows,
)
from ghl_bridge.actions.registry import ActionSet

AREAS: tuple[ActionSet, ...] = (
    contacts.actions,
    custom_data.actions,
    campaigns.actions,
    opportunities.actions,
    pipelines.actions,
    workflows.actions,
    locations.actions,
    businesses.actions,
    calendars.actions,
    messaging.actions,
    reviews.actions,
    forms.actions,
    funnels.actions,
    social.actions,
    links.actions,
    generic.actions,
)
