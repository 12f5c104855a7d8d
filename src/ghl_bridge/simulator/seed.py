"""The seeded world: one app, one agency, two locations, a few contacts each, and PITs.

Deterministic for a given seed (names, ids, secrets and timestamps), so a test can rely on the
same ids run after run. Seed contacts are dated from a fixed instant, not from the clock.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from ghl_bridge.simulator.idgen import IdFactory
from ghl_bridge.simulator.keys import WebhookSigner
from ghl_bridge.simulator.seed_admin import seed_admin
from ghl_bridge.simulator.seed_content import seed_content
from ghl_bridge.simulator.seed_crm import seed_crm
from ghl_bridge.simulator.spec import SpecTable
from ghl_bridge.simulator.state import Agency, App, Location, SimState, Token
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["CONTACTS_PER_LOCATION", "build_state", "seed_summary"]

CONTACTS_PER_LOCATION = 6
_SEED_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_LOCATIONS = (
    ("Lakeside Dental Studio", "118 Harbor Ave", "Portland", "OR", "97201", "America/Los_Angeles"),
    ("Summit Roofing Co", "42 Ridge Rd", "Denver", "CO", "80202", "America/Denver"),
)
_FIRST = ("Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sofia", "Ethan", "Mia", "Lucas")
_LAST = ("Garcia", "Nguyen", "Patel", "Kowalski", "Okafor", "Schmidt", "Rossi", "Larsen")
_COMPANIES = ("Brightline Logistics", "Cedar & Pine Cafe", "Northwind Traders", None)
_TAGS = ("new lead", "follow-up", "vip", "newsletter", "referral")
_SOURCES = ("website form", "facebook ad", "referral", "public api")


def build_state(seed: int, spec: SpecTable, *, location_count: int = 2) -> SimState:
    """Create the world for `seed`: ids, secrets, PITs and seed contacts."""
    ids = IdFactory(seed)
    app_id = ids.object_id()
    app = App(app_id, f"{app_id}-{ids.client_suffix()}", ids.secret_uuid(), "Bridge Sim App")
    agency = Agency(ids.ghl_id(), "Northstar Marketing Agency", ids.ghl_id())
    locations = {}
    for name, address, city, region, postal, timezone in _LOCATIONS:
        location = Location(
            ids.ghl_id(), name, agency.company_id, address, city, region, postal, "US", timezone
        )
        locations[location.id] = location
    state = SimState(ids=ids, app=app, agency=agency, locations=locations)
    _add_pits(state, spec)
    picker = random.Random(f"{seed}:seed-data")  # noqa: S311 - reproducible fixtures
    for index, location in enumerate(locations.values()):
        for number in range(CONTACTS_PER_LOCATION):
            state.add_contact(_contact(state, picker, location, index * 100 + number))
    seed_crm(state)
    seed_admin(state)
    seed_content(state)
    _add_locations(state, spec, picker, location_count - len(_LOCATIONS))
    return state


def _add_locations(state: SimState, spec: SpecTable, picker: random.Random, extra: int) -> None:
    """Further locations for load tests, made after everything else so other ids stay put."""
    scopes = spec.location_scopes()
    for n in range(max(0, extra)):
        name, address, city, region, postal, timezone = _LOCATIONS[n % len(_LOCATIONS)]
        location = Location(
            state.ids.ghl_id(),
            f"{name} #{n + 3}",
            state.agency.company_id,
            address,
            city,
            region,
            postal,
            "US",
            timezone,
        )
        state.locations[location.id] = location
        state.pits[location.id] = _pit(state, "Location", location.id, scopes).value
        for number in range(CONTACTS_PER_LOCATION):
            state.add_contact(_contact(state, picker, location, (n + 2) * 100 + number))


def _add_pits(state: SimState, spec: SpecTable) -> None:
    """One PIT per location (all location scopes) and one for the agency (every scope)."""
    location_scopes = spec.location_scopes()
    for location in state.locations.values():
        token = _pit(state, "Location", location.id, location_scopes)
        state.pits[location.id] = token.value
    agency_pit = _pit(state, "Company", None, spec.all_scopes())
    state.pits[state.agency.company_id] = agency_pit.value


def _pit(state: SimState, user_type: Any, location_id: str | None, scopes: frozenset[str]) -> Token:
    return state.add_token(
        Token(
            value=f"pit-{state.ids.secret_uuid()}",
            kind="pit",
            user_type=user_type,
            company_id=state.agency.company_id,
            location_id=location_id,
            scopes=scopes,
            user_id=state.agency.user_id,
        )
    )


def _contact(state: SimState, picker: random.Random, location: Location, n: int) -> dict[str, Any]:
    first, last = picker.choice(_FIRST), picker.choice(_LAST)
    added = _SEED_EPOCH + timedelta(hours=n * 7, seconds=picker.randrange(3600))
    updated = added + timedelta(minutes=picker.randrange(1, 600))
    company = picker.choice(_COMPANIES)
    contact: dict[str, Any] = {
        "id": state.ids.ghl_id(),
        "locationId": location.id,
        "firstName": first,
        "lastName": last,
        "email": f"{first}.{last}{n}@example.com".lower(),
        "phone": f"+1555{picker.randrange(10**6, 10**7)}",
        "address1": f"{picker.randrange(10, 9999)} {picker.choice(('Oak', 'Main', 'Elm'))} St",
        "city": location.city,
        "state": location.state,
        "postalCode": location.postal_code,
        "country": "US",
        "timezone": location.timezone,
        "source": picker.choice(_SOURCES),
        "type": picker.choice(("lead", "lead", "customer")),
        "dnd": False,
        "tags": sorted(picker.sample(_TAGS, picker.randrange(0, 3))),
        "customFields": [],
        "dateAdded": iso_ms(added.timestamp()),
        "dateUpdated": iso_ms(updated.timestamp()),
    }
    if company:
        contact["companyName"] = company
    return contact


def seed_summary(state: SimState, signer: WebhookSigner) -> dict[str, Any]:
    """The body of `GET /_sim/seed`: what a user needs to call the simulator at once."""
    return {
        "app": {
            "clientId": state.app.client_id,
            "clientSecret": state.app.client_secret,
            "appId": state.app.app_id,
        },
        "agency": {
            "companyId": state.agency.company_id,
            "pit": state.pits[state.agency.company_id],
        },
        "locations": [
            {
                "id": location.id,
                "name": location.name,
                "pit": state.pits[location.id],
                # Ids a test can use at once (also listed by the GHL list endpoints).
                **{
                    kind: [record["id"] for record in state.location_records(kind, location.id)]
                    for kind in ("pipelines", "calendars", "campaigns", "workflows")
                },
            }
            for location in state.locations.values()
        ],
        "webhookKeys": signer.public_pems(),
    }
