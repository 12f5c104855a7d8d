"""Sub-account, snapshot, user, business and usage actions against the simulator.

Agency actions run with the agency's company id as their location (``agency_acts``, whose
tenant holds the agency's connection); the plain ``acts`` tenant holds one location only, which
is how the tests show an agency action refused to a tenant without the agency.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.contract.actions.conftest import Acts, AgencyActs, connect

from ghl_bridge.store.audit import AuditEntry
from ghl_bridge.store.tenants import TenantRepo


async def _sub_account(agency_acts: AgencyActs, name: str, **fields: object) -> str:
    out = await agency_acts.run(
        "locations.create", {"name": name, **fields}, location_id=agency_acts.company_id
    )
    return str(out["location"]["id"])


async def _ids(agency_acts: AgencyActs) -> set[str]:
    found = await agency_acts.run("locations.search", {}, location_id=agency_acts.company_id)
    return {loc["id"] for loc in found["items"]}


async def test_create_update_search_delete_a_sub_account(agency_acts: AgencyActs) -> None:
    co = agency_acts.company_id
    new = await _sub_account(
        agency_acts, "Harbor Physio", timezone="Europe/London", country="GB", city="Leeds"
    )
    assert new in await _ids(agency_acts)
    changed = await agency_acts.run(
        "locations.update",
        {"locationId": new, "city": "Bristol", "settings": {"allowDuplicateContact": True}},
        location_id=co,
    )
    assert changed["location"]["city"] == "Bristol"
    assert changed["location"]["settings"]["allowDuplicateContact"] is True
    limited = await agency_acts.run("locations.search", {"limit": 1}, location_id=co)
    assert limited["count"] == 1 and limited["truncated"] is True
    gone = await agency_acts.run("locations.delete", {"locationId": new}, location_id=co)
    assert gone == {"id": new, "deleted": True}
    assert new not in await _ids(agency_acts)
    again = await agency_acts.refused("locations.delete", {"locationId": new}, location_id=co)
    assert again.code == "not_found"
    refused = await agency_acts.refused(
        "locations.update", {"locationId": new, "city": "Bath"}, location_id=co
    )
    assert refused.code == "not_found"


async def test_location_inputs_are_checked(agency_acts: AgencyActs) -> None:
    co = agency_acts.company_id
    assert await agency_acts.invalid("locations.create", {"city": "Leeds"}) == ["name"]
    assert await agency_acts.invalid("locations.update", {"locationId": "x", "country": "usa"}) == [
        "country"
    ]
    empty = await agency_acts.refused("locations.update", {"locationId": "x"}, location_id=co)
    assert empty.code == "validation_error"
    itself = await agency_acts.refused("locations.delete", {"locationId": co}, location_id=co)
    assert itself.code == "validation_error"
    assert await agency_acts.invalid("locations.search", {"order": "sideways"}) == ["order"]
    bad_zone = await agency_acts.refused(
        "locations.create", {"name": "Nowhere", "timezone": "Mars/Olympus"}, location_id=co
    )
    assert bad_zone.code == "ghl_error" and bad_zone.status == 422


async def test_agency_actions_need_the_agency_connection(acts: Acts) -> None:
    company = acts.sim.seed["agency"]["companyId"]
    # A tenant without the agency's connection cannot name the company at all...
    assert (await acts.refused("snapshots.list", {}, location_id=company)).code == "forbidden"
    assert (await acts.refused("users.search", {}, location_id=company)).code == "forbidden"
    # ...and its location's own token is not an agency token: GHL refuses it.
    assert (await acts.refused("locations.search", {})).code == "ghl_error"
    made = await acts.refused("locations.create", {"name": "Sneaky"})
    assert made.code == "ghl_error" and made.details["ghlStatus"] == 401


async def test_sub_accounts_of_another_tenant_are_refused(agency_acts: AgencyActs) -> None:
    co = agency_acts.company_id
    foreign = await _sub_account(agency_acts, "Someone Else's Bakery")
    other, _ = await TenantRepo(agency_acts.sessions).create("other")
    assert agency_acts.connections is not None
    await connect(agency_acts.connections, other.id, co, foreign)
    for name, data in (
        ("locations.update", {"locationId": foreign, "city": "Hull"}),
        ("locations.delete", {"locationId": foreign}),
        ("users.search", {"locationId": foreign}),
        ("snapshots.push_status", {"snapshotId": "anything", "locationId": foreign}),
    ):
        refused = await agency_acts.refused(name, data, location_id=co)
        assert refused.code == "forbidden", name
    assert foreign in await _ids(agency_acts)  # nothing was deleted


async def test_get_the_location(acts: Acts) -> None:
    got = await acts.run("locations.get")
    assert got["location"]["id"] == acts.location_id
    assert got["location"]["name"] == acts.seed["name"]
    assert await acts.invalid("locations.get", {"locationId": "x"}) == ["locationId"]


async def test_snapshots_list_load_and_push_status(agency_acts: AgencyActs) -> None:
    co = agency_acts.company_id
    listed = await agency_acts.run("snapshots.list", {}, location_id=co)
    assert listed["count"] == 3
    snapshot = next(s for s in listed["items"] if s["type"] == "own")["id"]
    new = await _sub_account(agency_acts, "Snapshot Dental", snapshotId=snapshot)
    status = await agency_acts.run(
        "snapshots.push_status", {"snapshotId": snapshot, "locationId": new}, location_id=co
    )
    latest = status["latest"]
    assert latest["locationId"] == new and latest["status"] in ("processing", "completed")
    assert "custom_fields" in latest["completed"] + latest["pending"]
    history = await agency_acts.run(
        "snapshots.push_status", {"snapshotId": snapshot}, location_id=co
    )
    assert new in {p["locationId"] for p in history["pushes"]}
    unknown = await agency_acts.refused(
        "snapshots.push_status", {"snapshotId": "nope123"}, location_id=co
    )
    assert unknown.code == "not_found"
    backwards = {"snapshotId": snapshot, "since": "2026-02-01", "until": "2026-01-01"}
    wrong_way = await agency_acts.refused("snapshots.push_status", backwards, location_id=co)
    assert wrong_way.code == "validation_error"
    bad = await agency_acts.refused(
        "locations.create", {"name": "X", "snapshotId": "nope123"}, location_id=co
    )
    assert bad.code == "not_found"


async def test_share_link(agency_acts: AgencyActs) -> None:
    co = agency_acts.company_id
    listed = await agency_acts.run("snapshots.list", {}, location_id=co)
    snapshot = listed["items"][0]["id"]
    body = {"snapshotId": snapshot, "shareType": "permanent_link"}
    first = await agency_acts.run("snapshots.share_link", body, location_id=co)
    again = await agency_acts.run("snapshots.share_link", body, location_id=co)
    assert first == again and first["shareLink"].startswith("https://")
    scoped = await agency_acts.run(
        "snapshots.share_link",
        {"snapshotId": snapshot, "shareType": "location_link", "locationIds": ["abc", "def"]},
        location_id=co,
    )
    assert scoped["id"] != first["id"]
    assert await agency_acts.invalid(
        "snapshots.share_link", {"snapshotId": snapshot, "shareType": "agency_link"}
    ) == ["(root)"]
    unknown = await agency_acts.refused(
        "snapshots.share_link", {"snapshotId": "nope123", "shareType": "link"}, location_id=co
    )
    assert unknown.code == "not_found"


async def test_copy_assets_creates_what_is_missing_and_skips_the_rest(
    agency_acts: AgencyActs,
) -> None:
    target = agency_acts.other_location_id
    await agency_acts.run("custom_fields.create", {"name": "Copy Me", "dataType": "TEXT"})
    await agency_acts.run("custom_values.set", {"name": "Copied Value", "value": "42"})
    await agency_acts.run("tags.create", {"name": "copy-me-tag"})
    preview = await agency_acts.run(
        "locations.copy_assets", {"targetLocationId": target}, dry_run=True
    )
    assert preview["request"]["method"] == "POST"  # reads made, the first create held back
    out = await agency_acts.run("locations.copy_assets", {"targetLocationId": target})
    status = {(r["kind"], r["name"]): r["status"] for r in out["results"]}
    assert status[("custom_fields", "Copy Me")] == "created"
    assert status[("custom_values", "Copied Value")] == "created"
    assert status[("tags", "copy-me-tag")] == "created"
    assert status[("custom_fields", "Lead Score")] == "skipped"  # seeded in both
    assert out["failed"] == 0 and out["created"] >= 3
    fields = await agency_acts.run("custom_fields.list", {"model": "all"}, location_id=target)
    assert "Copy Me" in {f["name"] for f in fields["items"]}
    values = await agency_acts.run("custom_values.list", {}, location_id=target)
    assert {"Copied Value": "42"}.items() <= {
        v["name"]: v["value"] for v in values["items"]
    }.items()
    tags = await agency_acts.run("tags.list", {}, location_id=target)
    assert "copy-me-tag" in {t["name"] for t in tags["items"]}
    again = await agency_acts.run(
        "locations.copy_assets", {"targetLocationId": target, "assets": ["tags"]}
    )
    assert again["created"] == 0 and again["failed"] == 0 and again["skipped"] > 0


async def test_copy_assets_refuses_targets_the_tenant_does_not_own(acts: Acts) -> None:
    other = acts.sim.seed["locations"][1]["id"]
    refused = await acts.refused("locations.copy_assets", {"targetLocationId": other})
    assert refused.code == "forbidden"
    itself = await acts.refused("locations.copy_assets", {"targetLocationId": acts.location_id})
    assert itself.code == "validation_error"
    assert await acts.invalid(
        "locations.copy_assets", {"targetLocationId": other, "assets": ["widgets"]}
    ) == ["assets/0"]


def _entry(status: str, location_id: str, at: datetime) -> AuditEntry:
    return AuditEntry(at=at, kind="ghl_call", actor="key:test", operation="get-contact",
                      status=status, resource_id=location_id)  # fmt: skip


async def test_usage_counts_our_audited_calls(acts: Acts) -> None:
    audit = acts.service.support.audit
    assert audit is not None
    now, loc = datetime.now(UTC), acts.location_id
    mine = ["200", "200", "201", "429", "429", "500", "timeout"]
    rows = [_entry(s, loc, now - timedelta(minutes=5)).row(acts.tenant_id) for s in mine]
    rows.append(_entry("200", loc, now - timedelta(hours=30)).row(acts.tenant_id))
    rows.append(_entry("500", loc, now).row("someone-else"))  # another tenant's: never counted
    await audit.insert_many(rows)
    await acts.run("locations.get")  # a real call, so the budget has been seen
    day = await acts.run("locations.usage")
    assert (day["calls"], day["rateLimited"], day["errors"]) == (7, 2, 2)
    assert day["byStatus"] == {"200": 2, "201": 1, "429": 2, "500": 1, "timeout": 1}
    assert isinstance(day["budget"], dict) and day["budget"]
    week = await acts.run("locations.usage", {"hours": 72})
    assert week["calls"] == 8
    assert await acts.invalid("locations.usage", {"hours": 0}) == ["hours"]


async def test_usage_without_an_audit_log(acts: Acts, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(acts.service.support, "audit", None)
    refused = await acts.refused("locations.usage", {})
    assert refused.code == "conflict" and "audit" in refused.message


async def test_users_search(agency_acts: AgencyActs) -> None:
    co, loc = agency_acts.company_id, agency_acts.location_id
    found = await agency_acts.run("users.search", {"locationId": loc}, location_id=co)
    assert found["count"] >= 3  # two seeded users plus the agency owner
    assert all(loc in u["roles"]["locationIds"] for u in found["items"])
    jordan = await agency_acts.run(
        "users.search", {"query": "jordan", "locationId": loc}, location_id=co
    )
    assert [u["firstName"] for u in jordan["items"]] == ["Jordan"]
    admins = await agency_acts.run("users.search", {"role": "admin", "limit": 1}, location_id=co)
    assert admins["count"] == 1 and admins["items"][0]["roles"]["role"] == "admin"
    assert await agency_acts.invalid("users.search", {"role": "boss"}) == ["role"]


async def test_businesses_crud(acts: Acts) -> None:
    seeded = await acts.run("businesses.list")
    assert seeded["count"] == 2
    made = await acts.run(
        "businesses.create", {"name": "Harbor Freight Co", "city": "Tacoma", "email": "hi@hf.co"}
    )
    business_id = made["business"]["id"]
    got = await acts.run("businesses.get", {"businessId": business_id})
    assert got["business"]["name"] == "Harbor Freight Co"
    changed = await acts.run("businesses.update", {"businessId": business_id, "city": "Olympia"})
    assert changed["business"]["city"] == "Olympia"
    assert (await acts.run("businesses.list", {"limit": 2}))["truncated"] is True
    gone = await acts.run("businesses.delete", {"businessId": business_id})
    assert gone == {"id": business_id, "deleted": True}
    missing = await acts.refused("businesses.get", {"businessId": business_id})
    assert missing.code == "not_found"


async def test_business_inputs_and_refusals(acts: Acts) -> None:
    assert await acts.invalid("businesses.create", {"city": "Tacoma"}) == ["name"]
    assert await acts.invalid("businesses.create", {"name": "X", "email": "nope"}) == ["email"]
    empty = await acts.refused("businesses.update", {"businessId": "abc123"})
    assert empty.code == "validation_error"
    unknown = await acts.refused("businesses.update", {"businessId": "nope123", "city": "X"})
    assert unknown.code == "not_found"
    assert (await acts.refused("businesses.delete", {"businessId": "nope123"})).code == (
        "not_found"
    )
    assert await acts.invalid("businesses.list", {"limit": 0}) == ["limit"]
