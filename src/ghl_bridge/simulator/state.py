"""The simulator's in-memory world: app, agency, locations, tokens, grants and CRM records.

Plain data plus the lookups every handler needs. Records are dicts in GHL's own field names
(camelCase) because they are rendered straight back onto the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from ghl_bridge.simulator.idgen import IdFactory
from ghl_bridge.simulator.timefmt import epoch_ms, iso_ms

__all__ = [
    "Agency",
    "App",
    "AuthCode",
    "Grant",
    "Location",
    "RefreshGrant",
    "SimState",
    "Token",
    "UserType",
]

UserType = Literal["Location", "Company"]
Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class App:
    app_id: str
    client_id: str
    client_secret: str
    name: str


@dataclass(frozen=True, slots=True)
class Agency:
    company_id: str
    name: str
    user_id: str


@dataclass(frozen=True, slots=True)
class Location:
    id: str
    name: str
    company_id: str
    address: str
    city: str
    state: str
    postal_code: str
    country: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer credential: an OAuth access token (expires) or a Private Integration Token."""

    value: str
    kind: Literal["oauth", "pit"]
    user_type: UserType
    company_id: str
    location_id: str | None
    scopes: frozenset[str]
    user_id: str
    client_id: str | None = None
    expires_at: float | None = None

    @property
    def rate_key(self) -> str:
        """GHL meters per Marketplace app (client) or, for a PIT, per token."""
        return self.client_id if self.kind == "oauth" and self.client_id else self.value

    @property
    def resource(self) -> str:
        """The location or company the token acts for (the other half of the rate-limit key)."""
        return self.location_id or self.company_id


@dataclass(slots=True, kw_only=True)
class Grant:
    """What an install granted: whose tokens, for which resource, with which scopes."""

    client_id: str
    user_type: UserType
    company_id: str
    location_id: str | None
    scopes: frozenset[str]
    user_id: str

    def grant_fields(self) -> dict[str, Any]:
        """Just the `Grant` part, to derive another grant (code -> refresh token -> next)."""
        return {f.name: getattr(self, f.name) for f in fields(Grant)}


@dataclass(slots=True, kw_only=True)
class RefreshGrant(Grant):
    """A refresh token and, once used, the pair it was exchanged for (the grace replay)."""

    token: str
    expires_at: float
    rotated_at: float | None = None
    successor: dict[str, Any] | None = None


@dataclass(slots=True, kw_only=True)
class AuthCode(Grant):
    """An authorization code from chooselocation or /oauth/reconnect; single use."""

    code: str
    redirect_uri: str | None
    expires_at: float
    used: bool = False


@dataclass(slots=True)
class SimState:
    """Everything the simulator remembers; mutated only from the event loop (no locks)."""

    ids: IdFactory
    app: App
    agency: Agency
    locations: dict[str, Location]
    tokens: dict[str, Token] = field(default_factory=dict)
    pits: dict[str, str] = field(default_factory=dict)  # resource id -> PIT value
    refresh_grants: dict[str, RefreshGrant] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    installs: dict[str, float] = field(default_factory=dict)  # location id -> installed at
    company_installed_at: float | None = None
    granted_scopes: dict[str, frozenset[str]] = field(default_factory=dict)  # by install
    contacts: dict[str, dict[str, Record]] = field(default_factory=dict)  # by location, then id
    contact_location: dict[str, str] = field(default_factory=dict)
    notes: dict[str, dict[str, Record]] = field(default_factory=dict)  # by contact, then id
    tasks: dict[str, dict[str, Record]] = field(default_factory=dict)
    # Every other kind of record ("opportunities", "pipelines", "calendars", ...), by id. Each
    # record carries its `locationId`; one generic table keeps SimState from growing per area.
    stores: dict[str, dict[str, Record]] = field(default_factory=dict)
    last_stamp_ms: int = 0

    def stamp(self, now_iso: str) -> str:
        """``now_iso``, or a millisecond after the last stamp if that is not earlier: messages and
        conversations sent in the same millisecond still sort, and page by date, one way."""
        now_ms = epoch_ms(now_iso) or 0
        if now_ms <= self.last_stamp_ms:
            now_ms = self.last_stamp_ms + 1
        self.last_stamp_ms = now_ms
        return iso_ms(now_ms / 1000)

    def store(self, kind: str) -> dict[str, Record]:
        return self.stores.setdefault(kind, {})

    def location_records(self, kind: str, location_id: str) -> list[Record]:
        """`kind`'s records of one location, in insertion (creation) order."""
        return [r for r in self.store(kind).values() if r.get("locationId") == location_id]

    def location_contacts(self, location_id: str) -> dict[str, Record]:
        return self.contacts.setdefault(location_id, {})

    def find_contact(self, contact_id: str) -> Record | None:
        location_id = self.contact_location.get(contact_id)
        if location_id is None:
            return None
        return self.contacts.get(location_id, {}).get(contact_id)

    def add_contact(self, contact: Record) -> None:
        self.location_contacts(contact["locationId"])[contact["id"]] = contact
        self.contact_location[contact["id"]] = contact["locationId"]

    def remove_contact(self, contact: Record) -> None:
        self.contacts.get(contact["locationId"], {}).pop(contact["id"], None)
        self.contact_location.pop(contact["id"], None)
        self.notes.pop(contact["id"], None)
        self.tasks.pop(contact["id"], None)
        # A deleted contact takes its opportunities and conversation with it (GHL's cascade);
        # appointments stay, as calendar history.
        for kind in ("opportunities", "conversations", "messages"):
            table = self.store(kind)
            for record_id in [k for k, r in table.items() if r.get("contactId") == contact["id"]]:
                del table[record_id]

    def add_token(self, token: Token) -> Token:
        self.tokens[token.value] = token
        return token
