"""Typed admin resources against the simulator: locations, custom fields/values, tags, users,
businesses, snapshots and the location snippets, with agency calls on the agency's token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.contract.conftest import Sim

from ghl_bridge.client import (
    BadRequestError,
    ClientOptions,
    GHLClient,
    PermissionDeniedError,
    StaticTokens,
    UnprocessableEntityError,
)


@pytest.fixture
async def ghl(sim: Sim) -> AsyncIterator[GHLClient]:
    """Location calls use the first location's PIT, company calls the agency's."""
    agency = sim.seed["agency"]
    tokens = StaticTokens({agency["companyId"]: agency["pit"]}, default=sim.pit)
    async with GHLClient(tokens=tokens, options=ClientOptions(base_url=sim.url)) as client:
        yield client


def company(sim: Sim) -> str:
    return str(sim.seed["agency"]["companyId"])


async def test_location_lifecycle_and_search(ghl: GHLClient, sim: Sim) -> None:
    detail = await ghl.locations.get(sim.location_id)
    assert detail["location"]["id"] == sim.location_id
    made = await ghl.locations.create(company(sim), {"name": "Contract Clinic", "city": "Reno"})
    updated = await ghl.locations.update(company(sim), made["id"], {"name": "Contract Clinic 2"})
    assert updated["name"] == "Contract Clinic 2"
    names = [loc["name"] async for loc in ghl.locations.iter_search(company(sim), limit=1)]
    assert names == sorted(names, key=str.casefold) and "Contract Clinic 2" in names
    assert len(names) == 3  # the two seeded locations and the new one, one page each
    zones = await ghl.locations.timezones(sim.location_id)
    assert "America/Los_Angeles" in zones["timeZones"]
    found = await ghl.locations.search_tasks(sim.location_id, {"completed": True})
    assert [t["title"] for t in found["tasks"]] == ["Send intake forms"]
    deleted = await ghl.locations.delete(company(sim), made["id"])
    assert deleted["success"] is True
    with pytest.raises(BadRequestError):
        await ghl.locations.update(company(sim), made["id"], {"name": "Ghost"})


async def test_custom_fields_values_and_tags(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    field = (
        await ghl.custom_fields.create(
            location, {"name": "Deal Size", "dataType": "MONETORY", "model": "opportunity"}
        )
    )["customField"]
    assert field["fieldKey"] == "opportunity.deal_size"
    await ghl.custom_fields.update(location, field["id"], {"name": "Deal Value"})
    assert (await ghl.custom_fields.get(location, field["id"]))["customField"]["name"] == (
        "Deal Value"
    )
    listed = await ghl.custom_fields.list(location, model="opportunity")
    assert field["id"] in [f["id"] for f in listed["customFields"]]
    await ghl.custom_fields.delete(location, field["id"])

    value = (await ghl.custom_values.create(location, "Promo Code", "SPRING"))["customValue"]
    await ghl.custom_values.update(location, value["id"], {"name": "Promo Code", "value": "FALL"})
    assert (await ghl.custom_values.get(location, value["id"]))["customValue"]["value"] == "FALL"
    assert value["id"] in [
        v["id"] for v in (await ghl.custom_values.list(location))["customValues"]
    ]
    await ghl.custom_values.delete(location, value["id"])

    tag = (await ghl.tags.create(location, "Contract Tag"))["tag"]
    with pytest.raises(BadRequestError):
        await ghl.tags.create(location, "contract tag")
    await ghl.tags.update(location, tag["id"], "contract tag renamed")
    assert (await ghl.tags.get(location, tag["id"]))["tag"]["name"] == "contract tag renamed"
    assert tag["id"] in [t["id"] for t in (await ghl.tags.list(location))["tags"]]
    await ghl.tags.delete(location, tag["id"])
    with pytest.raises(PermissionDeniedError):
        await ghl.tags.list(sim.seed["locations"][1]["id"])


async def test_users(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    assert len((await ghl.users.list(location))["users"]) == 3
    everyone = [u async for u in ghl.users.iter_search(company(sim), limit=2)]
    assert len(everyone) == 5 and len({u["id"] for u in everyone}) == 5
    admins = [u async for u in ghl.users.iter_search(company(sim), {"role": "admin"}, limit=2)]
    assert {u["roles"]["role"] for u in admins} == {"admin"}
    body = {
        "firstName": "Cora", "lastName": "Tract", "email": "cora@example.com",
        "password": "Contract-1234", "type": "account", "role": "user",
        "locationIds": [location],
    }  # fmt: skip
    made = await ghl.users.create(company(sim), body)
    await ghl.users.update(company(sim), made["id"], {"lastName": "Signed"})
    assert (await ghl.users.get(location, made["id"]))["name"] == "Cora Signed"
    with pytest.raises(BadRequestError):
        await ghl.users.create(company(sim), body)
    deleted = await ghl.users.delete(company(sim), made["id"])
    assert deleted["succeded"] is True


async def test_businesses(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    seeded = [b async for b in ghl.businesses.iter_list(location, limit=1)]
    assert [b["name"] for b in seeded] == ["Brightline Logistics", "Northwind Traders"]
    made = (await ghl.businesses.create(location, {"name": "Contract Co"}))["buiseness"]
    await ghl.businesses.update(location, made["id"], {"website": "https://contract.example"})
    got = (await ghl.businesses.get(location, made["id"]))["business"]
    assert got["website"] == "https://contract.example"
    assert (await ghl.businesses.delete(location, made["id"]))["success"] is True
    with pytest.raises(UnprocessableEntityError):  # the spec allows "", GHL's DTO does not
        await ghl.businesses.create(location, {"name": ""})


async def test_snapshots(ghl: GHLClient, sim: Sim) -> None:
    listed = (await ghl.snapshots.list(company(sim)))["snapshots"]
    imported = next(s for s in listed if s["type"] == "imported")
    link = await ghl.snapshots.share_link(
        company(sim), {"snapshot_id": imported["id"], "share_type": "link"}
    )
    assert link["shareLink"].endswith(link["id"])
    history = [
        p
        async for p in ghl.snapshots.iter_pushes(
            company(sim), imported["id"], "2025-01-01", "2027-01-01", limit=1
        )
    ]
    assert len(history) == 2 and len({p["id"] for p in history}) == 2
    latest = await ghl.snapshots.latest_push(company(sim), imported["id"], sim.location_id)
    assert latest["data"]["status"] == "completed"


async def test_location_snippets(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    snippets = await ghl.email_templates.list_snippets(location, company(sim))
    assert snippets["totalCount"] == 3
    first = snippets["templates"][0]["id"]
    await ghl.email_templates.delete_snippet(location, first)
    after = await ghl.email_templates.list_snippets(location, company(sim))
    assert first not in [t["id"] for t in after["templates"]]
