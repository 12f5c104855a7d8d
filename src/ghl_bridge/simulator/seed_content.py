"""Seed records for the content areas, made after the CRM seed (ids of earlier records stay put).

Per location: trigger links, funnels and a website with their pages, a URL redirect, forms and
surveys with submissions from the location's contacts, social accounts with posts, and email
builder templates with scheduled campaigns. v2 has no API to create funnels, forms, surveys,
social accounts or email campaigns, so the seed is the only source of those. Everything is
dated from a fixed instant (never the clock), and values vary by position, not by chance, so
the same seed always gives the same world.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ghl_bridge.simulator.content_records import (
    FORMS,
    FUNNEL_KIND,
    LINK_KIND,
    PAGE_KIND,
    REDIRECT_KIND,
    SCHEDULE_KIND,
    SURVEYS,
    TEMPLATE_KIND,
    SubmissionKind,
    asset_url,
    new_link,
    new_redirect,
    template_record,
)
from ghl_bridge.simulator.seed_social import seed_social
from ghl_bridge.simulator.state import Location, SimState
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["FORM_SUBMISSIONS_PER_LOCATION", "SURVEY_SUBMISSIONS_PER_LOCATION", "seed_content"]

Record = dict[str, Any]
FORM_SUBMISSIONS_PER_LOCATION = 8
SURVEY_SUBMISSIONS_PER_LOCATION = 5
_EPOCH = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
_FUNNELS = (
    ("Free Consultation Funnel", "funnel", ("Opt-in", "Thank You")),
    ("Spring Promo Funnel", "funnel", ("Landing", "Order Form", "Upsell", "Thank You")),
    ("Company Website", "website", ("Home", "About", "Services", "Contact")),
)
_FORMS = ("Contact Us", "Request a Quote", "Newsletter Signup")
_SURVEYS = ("Customer Satisfaction", "Service Feedback")
_SCHEDULES = (
    # name, status, email status, delivered, opened, clicked, revenue
    ("Spring Newsletter", "complete", "complete", 412, 187, 43, 1250.0),
    ("Summer Promo", "active", "scheduled", 0, 0, 0, 0.0),
    ("Draft Announcement", "draft", "not-started", 0, 0, 0, 0.0),
)


def seed_content(state: SimState) -> None:
    """Seed every location's content-area records."""
    for index, location in enumerate(state.locations.values()):
        slug = f"{location.name.split()[0].lower()}-{index}"
        _links(state, location, slug)
        _funnels(state, location, slug)
        for kind, names, count in (
            (FORMS, _FORMS, FORM_SUBMISSIONS_PER_LOCATION),
            (SURVEYS, _SURVEYS, SURVEY_SUBMISSIONS_PER_LOCATION),
        ):
            _submissions(state, location, kind, names, count, slug)
        seed_social(state, location)
        _email(state, location)


def _at(**offset: float) -> str:
    return iso_ms((_EPOCH + timedelta(**offset)).timestamp())


def _links(state: SimState, location: Location, slug: str) -> None:
    for name, target in (("Book a consult", "book"), ("Spring promo", "promo")):
        link = new_link(
            state.ids.ghl_id(), location.id, name, f"https://{slug}.example.com/{target}"
        )
        state.store(LINK_KIND)[link["id"]] = link
    redirect = new_redirect(
        state.ids.ghl_id(), location.id, f"{slug}.example.com", "/old-offer",
        f"https://{slug}.example.com/promo", "url",
    )  # fmt: skip
    state.store(REDIRECT_KIND)[redirect["id"]] = redirect


def _funnels(state: SimState, location: Location, slug: str) -> None:
    for n, (name, kind, steps) in enumerate(_FUNNELS):
        funnel_id, made = state.ids.ghl_id(), _at(days=-40 + n)
        funnel: Record = {
            "_id": funnel_id, "locationId": location.id, "name": name, "type": kind,
            "url": f"/{name.lower().replace(' ', '-')}", "steps": [], "deleted": False,
            "domainId": "", "faviconUrl": "", "trackingCodeHead": "", "trackingCodeBody": "",
            "isStoreActive": False, "orderFormVersion": 2, "dateAdded": made,
            "dateUpdated": made, "updatedAt": made,
        }  # fmt: skip
        for sequence, step_name in enumerate(steps, start=1):
            step_id, page_id = state.ids.entity_uuid(), state.ids.ghl_id()
            page_kind = "website_page" if kind == "website" else "optin_funnel_page"
            funnel["steps"].append(
                {"id": step_id, "name": step_name, "pages": [page_id], "products": [],
                 "sequence": sequence, "type": page_kind,
                 "url": f"/{slug}-{step_name.lower().replace(' ', '-')}"}
            )  # fmt: skip
            state.store(PAGE_KIND)[page_id] = {
                "_id": page_id, "locationId": location.id, "funnelId": funnel_id,
                "name": step_name, "stepId": step_id, "deleted": False,
                "updatedAt": _at(days=-30 + sequence),
            }  # fmt: skip
        state.store(FUNNEL_KIND)[funnel_id] = funnel


def _submissions(
    state: SimState,
    location: Location,
    kind: SubmissionKind,
    names: tuple[str, ...],
    count: int,
    slug: str,
) -> None:
    parents = []
    for name in names:
        parent = {"id": state.ids.ghl_id(), "name": name, "locationId": location.id}
        state.store(kind.plural)[parent["id"]] = parent
        parents.append(parent)
    contacts = list(state.location_contacts(location.id).values())
    for n in range(count):
        created = _EPOCH + timedelta(days=2 * n, hours=n % 5, minutes=7 * n)
        submission = _submission(
            state, kind, parents[n % len(parents)], contacts[n % len(contacts)], created, slug
        )
        state.store(kind.submissions)[submission["id"]] = submission


def _submission(
    state: SimState,
    kind: SubmissionKind,
    parent: Record,
    contact: Record,
    created: datetime,
    slug: str,
) -> Record:
    """One submission by `contact`: its answers and page-visit data sit in `others`."""
    full_name = f"{contact['firstName']} {contact['lastName']}"
    url = f"https://{slug}.example.com/{kind.plural}/{parent['id']}"
    event = {
        "source": "Direct traffic",
        "type": "page-visit",
        "domain": f"{slug}.example.com",
        "page": {"url": url, "title": parent["name"]},
        "timestamp": round(created.timestamp() * 1000),
        "medium": kind.plural.removesuffix("s"),
        "mediumId": parent["id"],
        "parentId": parent["id"],
        "parentName": parent["name"],
    }
    return {
        "id": state.ids.ghl_id(),
        "contactId": contact["id"],
        "createdAt": iso_ms(created.timestamp()),
        kind.id_field: parent["id"],
        "name": full_name,
        "email": contact["email"],
        "locationId": parent["locationId"],
        "others": {
            "full_name": full_name,
            "email": contact["email"],
            "phone": contact["phone"],
            "fieldsOriSequance": ["full_name", "email", "phone"],
            "eventData": event,
        },
    }


def _email(state: SimState, location: Location) -> None:
    store = state.store(TEMPLATE_KIND)
    folder = template_record(state.ids.object_id(), location.id, "Newsletters", "folder",
                             _at(days=-50))  # fmt: skip
    store[folder["id"]] = folder
    templates = []
    for n, (name, kind, extra) in enumerate((
        ("Welcome Email", "html", {}),
        ("Monthly Newsletter", "builder", {"parentId": folder["id"]}),
        ("Appointment Reminder", "html", {}),
        ("Old Promo", "html", {"archived": True}),
    )):  # fmt: skip
        record = template_record(state.ids.object_id(), location.id, name, kind,
                                 _at(days=-45 + n), html=f"<p>{name}</p>", **extra)  # fmt: skip
        store[record["id"]] = record
        templates.append(record)
    for n, (name, status, email_status, *stats) in enumerate(_SCHEDULES):
        schedule_id, template = state.ids.ghl_id(), templates[n % len(templates)]
        made = _at(days=-20 + 3 * n)
        schedule = {
            "name": name, "repeatAfter": "", "id": schedule_id, "_id": schedule_id,
            "parentId": "", "childCount": 0, "campaignType": "email", "bulkActionVersion": "v2",
            "status": status, "sendDays": [], "deleted": False, "migrated": True,
            "archived": False, "hasTracking": True, "isPlainText": False,
            "hasUtmTracking": False, "enableResendToUnopened": False, "locationId": location.id,
            "templateId": template["id"], "templateType": template["templateType"],
            "createdAt": made, "updatedAt": made, "__v": 0, "documentId": state.ids.ghl_id(),
            "downloadUrl": asset_url(location.id, schedule_id, "index.html"),
            "templateDataDownloadUrl": asset_url(location.id, schedule_id, "template.json"),
            "child": [], "_emailStatus": email_status,
            "_stats": dict(zip(("delivered", "opened", "clicked", "revenue"), stats, strict=True)),
        }  # fmt: skip
        state.store(SCHEDULE_KIND)[schedule_id] = schedule
