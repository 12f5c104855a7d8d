"""Seed records for the admin areas, made after the CRM seed (ids of earlier records stay put).

Per location: a profile (email, phone, website, owner), custom fields and values, the tag
catalogue (every tag its contacts carry), SMS/email snippets, two users, two businesses with
contacts in them and a few contact tasks. For the agency: its owner (the user every seeded
token acts for) and three snapshots with a push history. Find them with the list endpoints.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ghl_bridge.simulator import admin_records as make
from ghl_bridge.simulator.snapshot_push import push_snapshot
from ghl_bridge.simulator.state import Location, SimState
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["seed_admin"]

Record = dict[str, Any]
_EPOCH = datetime(2026, 1, 12, 16, 0, tzinfo=UTC)
_FIELDS = (
    # name, dataType, model, options
    ("Lead Score", "NUMERICAL", "contact", None),
    ("Preferred Contact Method", "SINGLE_OPTIONS", "contact", ["Email", "Phone", "SMS"]),
    ("Referral Source", "TEXT", "contact", None),
    ("Project Budget", "MONETORY", "opportunity", None),
)
_USERS = (("Jordan", "Reyes", "admin"), ("Casey", "Morgan", "user"))
_BUSINESSES = (("Brightline Logistics", "Portland"), ("Northwind Traders", "Seattle"))
_SNAPSHOTS = (("Dental Practice Starter", "own"), ("Roofing Lead Engine", "own"),
              ("Fitness Studio Kit", "imported"))  # fmt: skip


def seed_admin(state: SimState) -> None:
    """Add every location's admin records, then the agency's owner and snapshots."""
    for index, location in enumerate(list(state.locations.values())):
        _location(state, location, index)
    make.user(
        state, first="Avery", last="Quinn", email="owner@northstar-agency.example.com",
        kind="agency", role="admin", location_ids=list(state.locations),
        user_id=state.agency.user_id,
    )  # fmt: skip
    sources = list(state.locations)
    for n, (name, kind) in enumerate(_SNAPSHOTS):
        source = sources[n] if kind == "own" and n < len(sources) else None
        snapshot = make.snapshot(state, name, kind, source)
        targets = [source] if source else sources
        for day, target in enumerate(targets):
            started = (_EPOCH - timedelta(days=20 - 3 * n - day)).timestamp()
            push_snapshot(state, snapshot, target, started, override=False)


def _location(state: SimState, location: Location, index: int) -> None:
    slug = make.key_slug(location.name).replace("_", "")
    now = iso_ms((_EPOCH + timedelta(hours=index)).timestamp())
    state.store(make.PROFILES)[location.id] = {
        "locationId": location.id, "email": f"hello@{slug}.example.com",
        "phone": f"+1555010{index:04d}", "website": f"https://{slug}.example.com",
        "firstName": "Dana", "lastName": location.name.split()[0], "dateAdded": now,
        "social": {"facebookUrl": f"https://facebook.com/{slug}"},
    }  # fmt: skip
    for position, (name, data_type, model, options) in enumerate(_FIELDS):
        make.custom_field(
            state, location.id, name=name, data_type=data_type, model=model,
            position=50 * position, options=options, now=now,
        )  # fmt: skip
    make.custom_value(state, location.id, "Company Name", location.name)
    make.custom_value(state, location.id, "Booking Link", f"https://{slug}.example.com/book")
    make.custom_value(state, location.id, "Support Phone", f"+1555010{index:04d}")
    contacts = list(state.location_contacts(location.id).values())
    for name in sorted({t for contact in contacts for t in contact.get("tags", [])}):
        make.tag(state, location.id, name)
    _snippets(state, location, now)
    users = []
    for n, (first, last, role) in enumerate(_USERS):
        email = f"{first}.{last}@{slug}.example.com".lower()
        phone = f"+1555020{index}{n:03d}"
        made = make.user(
            state, first=first, last=last, email=email, kind="account", role=role,
            location_ids=[location.id], phone=phone,
        )  # fmt: skip
        users.append(made)
    _businesses(state, location, contacts, now)
    _tasks(state, contacts, users, index)


def _snippets(state: SimState, location: Location, now: str) -> None:
    reminder = "Hi {{contact.first_name}}, a reminder of your visit to {{location.name}}."
    make.snippet(state, location.id, "sms", "Appointment Reminder",
                 {"body": reminder, "attachments": []}, now)  # fmt: skip
    missed = "Sorry we missed your call! How can {{location.name}} help?"
    make.snippet(state, location.id, "sms", "Missed Call Text Back",
                 {"body": missed, "attachments": []}, now)  # fmt: skip
    html = "<p>Welcome to {{location.name}}, {{contact.first_name}}!</p>"
    make.snippet(state, location.id, "email", "Welcome Email",
                 {"subject": f"Welcome to {location.name}", "html": html, "attachments": []},
                 now)  # fmt: skip


def _businesses(state: SimState, location: Location, contacts: list[Record], now: str) -> None:
    by = {"source": "WEB_USER", "channel": "APP", "sourceId": state.agency.user_id}
    made = []
    for name, city in _BUSINESSES:
        domain = make.key_slug(name).replace("_", "")
        fields = {"name": name, "city": city, "state": location.state, "country": "US",
                  "email": f"info@{domain}.example.com"}  # fmt: skip
        made.append(make.business(state, location.id, fields, {**by, "timestamp": now}, now))
    for contact, record in zip(contacts[:3], (made[0], made[0], made[1]), strict=False):
        contact["businessId"] = record["id"]


def _tasks(state: SimState, contacts: list[Record], users: list[Record], index: int) -> None:
    plans = (("Call back about quote", False), ("Send intake forms", True),
             ("Confirm insurance details", False))  # fmt: skip
    for n, (title, completed) in enumerate(plans):
        contact = contacts[n % len(contacts)]
        due = _EPOCH + timedelta(days=3 + n, hours=index)
        task = {
            "id": state.ids.ghl_id(), "contactId": contact["id"], "title": title,
            "body": f"{title} for {contact.get('firstName', 'the contact')}",
            "assignedTo": users[n % len(users)]["id"], "dueDate": iso_ms(due.timestamp()),
            "completed": completed, "dateAdded": iso_ms(_EPOCH.timestamp()),
        }  # fmt: skip
        state.tasks.setdefault(contact["id"], {})[task["id"]] = task
