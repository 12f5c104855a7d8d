"""Adding a location to the simulated agency and taking one out again, with everything it owns.

A new location gets a Private Integration Token the way seeded ones do (so `/_sim/seed` lists
it and every location-scoped endpoint accepts it), and the agency's admins gain access to it.
Deleting one revokes every credential bound to it and removes its contacts and every stored
record carrying its `locationId`.
"""

from __future__ import annotations

from typing import Any

from ghl_bridge.simulator.admin_records import PROFILES, USERS
from ghl_bridge.simulator.state import Location, SimState, Token

__all__ = ["purge_location", "register_location"]

Record = dict[str, Any]


def register_location(
    state: SimState, location: Location, profile: Record, scopes: frozenset[str]
) -> Token:
    """Add `location` (with its profile: email, phone, settings...) and return its new PIT."""
    state.locations[location.id] = location
    state.store(PROFILES)[location.id] = {**profile, "locationId": location.id}
    pit = state.add_token(
        Token(
            value=f"pit-{state.ids.secret_uuid()}",
            kind="pit",
            user_type="Location",
            company_id=location.company_id,
            location_id=location.id,
            scopes=scopes,
            user_id=state.agency.user_id,
        )
    )
    state.pits[location.id] = pit.value
    for user in state.store(USERS).values():
        if user["type"] == "agency" and user["role"] == "admin":
            user["locationIds"] = [*user["locationIds"], location.id]
    return pit


def purge_location(state: SimState, location_id: str) -> None:
    """Remove the location, its credentials, contacts and location-owned records."""
    state.locations.pop(location_id, None)
    state.pits.pop(location_id, None)
    for value in [v for v, t in state.tokens.items() if t.location_id == location_id]:
        del state.tokens[value]
    for key in [k for k, g in state.refresh_grants.items() if g.location_id == location_id]:
        del state.refresh_grants[key]
    for key in [k for k, c in state.codes.items() if c.location_id == location_id]:
        del state.codes[key]
    state.installs.pop(location_id, None)
    state.granted_scopes.pop(location_id, None)
    for contact in list(state.location_contacts(location_id).values()):
        state.remove_contact(contact)
    state.contacts.pop(location_id, None)
    for records in state.stores.values():
        for key in [k for k, r in records.items() if r.get("locationId") == location_id]:
            del records[key]
    for user in state.store(USERS).values():
        user["locationIds"] = [i for i in user["locationIds"] if i != location_id]
