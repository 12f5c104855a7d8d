"""Conformance walk for the admin areas: every implemented operation hit at least once.

Company-level operations run with the seed's agency PIT, the rest with the second location's:
each PIT has its own rate-limit bucket, and the other walks spend the first location's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.simulator.conformance_areas import Hitter
from tests.simulator.conftest import SimClient

AREAS: tuple[str, ...] = ("locations", "users", "businesses", "snapshots")
WIRE_EXCEPTIONS: dict[str, str] = {
    "task-search": "the spec types each task as an array ({tasks: [[...]]}); GHL answers task "
    "objects, get-task's shape",
    "GET-all-or-email-sms-templates": "each template must match exactly one of the SMS and "
    "email schemas (oneOf), but the two accept the same objects, so no template can pass",
}


@dataclass
class _WithToken:
    """A Hitter whose calls default to `token` instead of the first location's PIT."""

    rec: Hitter
    token: str

    async def hit(self, op_id: str, path: str, *, token: str | None = None, **kwargs: Any) -> Any:
        return await self.rec.hit(op_id, path, token=token or self.token, **kwargs)


async def exercise(rec: _WithToken, sim: SimClient) -> None:
    """Hit each admin operation with a 2xx, in an order that creates what later calls need."""
    agency = sim.seed["agency"]
    company, agency_pit = str(agency["companyId"]), str(agency["pit"])
    hitter, location = _WithToken(rec, sim.pit(1)), sim.other_location_id
    snapshot_id = await _snapshots(hitter, company, agency_pit, location)
    await _locations(hitter, company, agency_pit, location, snapshot_id)
    await _custom_fields(hitter, location)
    await _tags_and_templates(hitter, location, company)
    await _users(hitter, company, agency_pit, location)
    await _businesses(hitter, location)


async def _snapshots(rec: _WithToken, company: str, token: str, location: str) -> str:
    query = {"companyId": company}
    found = await rec.hit("get-custom-snapshots", "/snapshots/", token=token, params=query)
    # The imported snapshot was pushed to every seeded location; the own ones to their source.
    snapshot_id = next(str(s["id"]) for s in found["snapshots"] if s["type"] == "imported")
    await rec.hit(
        "create-snapshot-share-link", "/snapshots/share/link", token=token, params=query,
        json={"snapshot_id": snapshot_id, "share_type": "agency_link",
              "relationship_number": "0-128-926"},
    )  # fmt: skip
    window = {**query, "from": "2025-01-01", "to": "2027-01-01", "lastDoc": "", "limit": "5"}
    status_path = f"/snapshots/snapshot-status/{snapshot_id}"
    await rec.hit("get-snapshot-push", status_path, token=token, params=window)
    await rec.hit(
        "get-latest-snapshot-push", f"{status_path}/location/{location}", token=token,
        params=query,
    )  # fmt: skip
    return str(found["snapshots"][0]["id"])


async def _locations(
    rec: _WithToken, company: str, token: str, location: str, snapshot_id: str
) -> None:
    await rec.hit("get-location", f"/locations/{location}")
    await rec.hit(
        "search-locations", "/locations/search", token=token, params={"companyId": company}
    )
    body: dict[str, Any] = {
        "name": "Spec Sub-Account", "companyId": company, "address": "1 Spec Way",
        "city": "Austin", "state": "TX", "country": "US", "postalCode": "78701",
        "phone": "+15550100999", "website": "https://spec.test",
        "timezone": "America/Chicago", "settings": {"allowDuplicateContact": True},
        "social": {"youtube": "https://youtube.com/spec"}, "snapshotId": snapshot_id,
        "prospectInfo": {"firstName": "Pat", "lastName": "Spec", "email": "pat@example.com"},
    }  # fmt: skip
    made = await rec.hit("create-location", "/locations/", token=token, json=body)
    path = f"/locations/{made['id']}"
    update = {"companyId": company, "name": "Spec Renamed",
              "snapshot": {"id": snapshot_id, "override": True}}  # fmt: skip
    await rec.hit("put-location", path, token=token, json=update)
    await rec.hit("get-timezones", f"/locations/{location}/timezones")
    await rec.hit("task-search", f"/locations/{location}/tasks/search", json={"completed": False})
    await rec.hit("delete-location", path, token=token, params={"deleteTwilioAccount": "false"})


async def _custom_fields(rec: _WithToken, location: str) -> None:
    base = f"/locations/{location}"
    await rec.hit("get-custom-fields", f"{base}/customFields", params={"model": "all"})
    field = {"name": "Spec Choice", "dataType": "SINGLE_OPTIONS", "model": "contact",
             "placeholder": "Pick one", "options": ["a", "b"]}  # fmt: skip
    made = await rec.hit("locations.create-custom-field", f"{base}/customFields", json=field)
    field_path = f"{base}/customFields/{made['customField']['id']}"
    await rec.hit("get-custom-field", field_path)
    await rec.hit("locations.update-custom-field", field_path, json={"name": "Spec Choice 2"})
    await rec.hit("locations.delete-custom-field", field_path)
    await rec.hit("get-custom-values", f"{base}/customValues")
    value = {"name": "Spec Value", "value": "v"}
    made = await rec.hit("create-custom-value", f"{base}/customValues", json=value)
    value_path = f"{base}/customValues/{made['customValue']['id']}"
    await rec.hit("get-custom-value", value_path)
    await rec.hit("update-custom-value", value_path, json={"name": "Spec Value", "value": "w"})
    await rec.hit("delete-custom-value", value_path)


async def _tags_and_templates(rec: _WithToken, location: str, company: str) -> None:
    base = f"/locations/{location}"
    await rec.hit("get-location-tags", f"{base}/tags")
    made = await rec.hit("create-tag", f"{base}/tags", json={"name": "Spec Tag"})
    tag_path = f"{base}/tags/{made['tag']['id']}"
    await rec.hit("get-tag-by-id", tag_path)
    await rec.hit("update-tag", tag_path, json={"name": "spec tag 2"})
    await rec.hit("delete-tag", tag_path)
    listed = await rec.hit(
        "GET-all-or-email-sms-templates", f"{base}/templates", params={"originId": company}
    )
    snippet_id = listed["templates"][0]["id"]
    await rec.hit("DELETE-an-email-sms-template", f"{base}/templates/{snippet_id}")


async def _users(rec: _WithToken, company: str, token: str, location: str) -> None:
    await rec.hit("get-user-by-location", "/users/", params={"locationId": location})
    await rec.hit("search-users", "/users/search", token=token, params={"companyId": company})
    body = {"companyId": company, "firstName": "Spec", "lastName": "User",
            "email": "spec.user@example.com", "password": "S3cret!pass", "type": "account",
            "role": "user", "locationIds": [location], "phone": "+15550100998",
            "permissions": {"campaignsEnabled": False}}  # fmt: skip
    made = await rec.hit("create-user", "/users/", token=token, json=body)
    path = f"/users/{made['id']}"
    await rec.hit("get-user", path, token=token)
    await rec.hit("update-user", path, token=token, json={"role": "admin", "lastName": "Admin"})
    await rec.hit("delete-user", path, token=token)


async def _businesses(rec: _WithToken, location: str) -> None:
    query = {"locationId": location}
    listed = await rec.hit("get-businesses-by-location", "/businesses/", params=query)
    seeded = listed["businesses"][0]["id"]
    await rec.hit("get-contacts-by-businessId", f"/contacts/business/{seeded}", params=query)
    body = {"name": "Spec Biz", "locationId": location, "city": "Austin", "country": "US"}
    made = await rec.hit("create-business", "/businesses/", json=body)
    path = f"/businesses/{made['buiseness']['id']}"
    await rec.hit("get-business", path)
    await rec.hit("update-business", path, json={"phone": "+15550100997", "city": None})
    await rec.hit("delete-Business", path)
