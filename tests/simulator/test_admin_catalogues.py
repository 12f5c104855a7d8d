"""A location's catalogues: custom fields, custom values, tags and SMS/email snippets."""

from __future__ import annotations

from typing import Any

from tests.simulator.conftest import SimClient


def base(sim: SimClient) -> str:
    return f"/locations/{sim.location_id}"


async def listing(sim: SimClient, path: str, key: str, **params: str) -> list[dict[str, Any]]:
    resp = await sim.call("GET", f"{base(sim)}{path}", params=params)
    assert resp.status_code == 200, resp.text
    return list(resp.json()[key])


async def test_seeded_custom_fields_and_model_filter(sim: SimClient) -> None:
    fields = await listing(sim, "/customFields", "customFields")
    assert [f["fieldKey"] for f in fields] == [
        "contact.lead_score", "contact.preferred_contact_method", "contact.referral_source",
        "opportunity.project_budget",
    ]  # fmt: skip
    assert fields[1]["picklistOptions"] == ["Email", "Phone", "SMS"]
    contact_only = await listing(sim, "/customFields", "customFields", model="contact")
    assert len(contact_only) == 3
    bad = await sim.call("GET", f"{base(sim)}/customFields", params={"model": "deal"})
    assert bad.status_code == 422
    foreign = await sim.call("GET", f"/locations/{sim.other_location_id}/customFields")
    assert foreign.status_code == 403


async def test_custom_field_lifecycle(sim: SimClient) -> None:
    body = {"name": "Pet Name", "dataType": "TEXT", "placeholder": "Rex"}
    made = await sim.call("POST", f"{base(sim)}/customFields", json=body)
    assert made.status_code == 201, made.text
    field = made.json()["customField"]
    assert (field["fieldKey"], field["model"], field["position"]) == (
        "contact.pet_name",
        "contact",
        200,
    )
    path = f"{base(sim)}/customFields/{field['id']}"
    renamed = await sim.call("PUT", path, json={"name": "Pet's Name", "position": 10})
    assert renamed.json()["customField"]["fieldKey"] == "contact.pet_name"  # keys are fixed
    assert (await sim.call("GET", path)).json()["customField"]["name"] == "Pet's Name"
    dup = await sim.call("POST", f"{base(sim)}/customFields", json=body)
    assert (dup.status_code, dup.json()["message"]) == (
        400,
        "Custom field with key contact.pet_name already exists",
    )
    model = await sim.call("PUT", path, json={"name": "x", "model": "opportunity"})
    assert model.status_code == 400
    assert (await sim.call("DELETE", path)).json()["succeded"] is True
    assert (await sim.call("GET", path)).status_code == 400


async def test_custom_field_validation(sim: SimClient) -> None:
    url = f"{base(sim)}/customFields"
    cases = [
        ({"dataType": "TEXT"}, ["name must be a string", "name should not be empty"]),
        ({"name": "A", "dataType": "COLOUR"}, None),
        ({"name": "A", "dataType": "TEXT", "options": ["x"]}, None),
        ({"name": "A", "dataType": "TEXT", "colour": "red"}, ["property colour should not exist"]),
    ]
    for body, messages in cases:
        resp = await sim.call("POST", url, json=body)
        assert resp.status_code == 422, body
        if messages is not None:
            assert resp.json()["message"] == messages
    update = await sim.call("PUT", f"{url}/anything", json={"name": "x", "dataType": "TEXT"})
    assert update.json()["message"] == ["property dataType should not exist"]


async def test_field_ids_are_looked_up_in_the_path_location(sim: SimClient) -> None:
    theirs = await sim.call(
        "GET", f"/locations/{sim.other_location_id}/customFields", token=sim.pit(1)
    )
    their_id = theirs.json()["customFields"][0]["id"]
    mine = await sim.call("GET", f"{base(sim)}/customFields/{their_id}")
    assert mine.status_code == 400


async def test_deleting_a_field_drops_its_values_from_contacts(sim: SimClient) -> None:
    field = (await listing(sim, "/customFields", "customFields"))[0]
    body = {
        "locationId": sim.location_id, "email": "cf@example.com",
        "customFields": [{"id": field["id"], "field_value": "42"}],
    }  # fmt: skip
    contact = (await sim.call("POST", "/contacts/", json=body)).json()["contact"]
    assert contact["customFields"] == [{"id": field["id"], "value": "42"}]
    await sim.call("DELETE", f"{base(sim)}/customFields/{field['id']}")
    after = (await sim.call("GET", f"/contacts/{contact['id']}")).json()["contact"]
    assert after.get("customFields", []) == []


async def test_custom_values(sim: SimClient) -> None:
    values = await listing(sim, "/customValues", "customValues")
    assert values[0]["fieldKey"] == "{{ custom_values.company_name }}"
    assert values[0]["value"] == "Lakeside Dental Studio"
    made = await sim.call(
        "POST", f"{base(sim)}/customValues", json={"name": "Office Hours", "value": "9-5"}
    )
    assert made.status_code == 201, made.text
    value = made.json()["customValue"]
    assert value["fieldKey"] == "{{ custom_values.office_hours }}"
    path = f"{base(sim)}/customValues/{value['id']}"
    again = await sim.call(
        "POST", f"{base(sim)}/customValues", json={"name": "office hours", "value": "x"}
    )
    assert again.status_code == 400
    missing = await sim.call("PUT", path, json={"name": "Office Hours"})
    assert missing.json()["message"] == ["value must be a string", "value should not be empty"]
    await sim.call("PUT", path, json={"name": "Office Hours", "value": "8-6"})
    assert (await sim.call("GET", path)).json()["customValue"]["value"] == "8-6"
    await sim.call("DELETE", path)
    assert (await sim.call("GET", path)).status_code == 400


async def test_tag_catalogue_follows_contacts(sim: SimClient) -> None:
    tags = await listing(sim, "/tags", "tags")
    contacts = await sim.call(
        "POST", "/contacts/search", json={"locationId": sim.location_id, "pageLimit": 50}
    )
    carried = {t for c in contacts.json()["contacts"] for t in c["tags"]}
    assert carried <= {t["name"] for t in tags}
    body = {"locationId": sim.location_id, "email": "tagged@example.com", "tags": ["Gold Member"]}
    made = await sim.call("POST", "/contacts/", json=body)
    contact_id = made.json()["contact"]["id"]
    gold = next(t for t in await listing(sim, "/tags", "tags") if t["name"] == "gold member")
    path = f"{base(sim)}/tags/{gold['id']}"
    assert (await sim.call("GET", path)).json()["tag"]["name"] == "gold member"
    renamed = await sim.call("PUT", path, json={"name": "Platinum"})
    assert renamed.json()["tag"]["name"] == "platinum"
    contact = (await sim.call("GET", f"/contacts/{contact_id}")).json()["contact"]
    assert contact["tags"] == ["platinum"]
    await sim.call("DELETE", path)
    contact = (await sim.call("GET", f"/contacts/{contact_id}")).json()["contact"]
    assert contact.get("tags", []) == []
    assert "platinum" not in {t["name"] for t in await listing(sim, "/tags", "tags")}


async def test_tag_names_are_unique_per_location(sim: SimClient) -> None:
    made = await sim.call("POST", f"{base(sim)}/tags", json={"name": "  Spring Promo "})
    assert made.json()["tag"]["name"] == "spring promo"
    dup = await sim.call("POST", f"{base(sim)}/tags", json={"name": "SPRING PROMO"})
    assert (dup.status_code, dup.json()["message"]) == (
        400,
        "Tag with name spring promo already exists",
    )
    other = await sim.call("POST", f"{base(sim)}/tags", json={"name": "autumn"})
    clash = await sim.call(
        "PUT", f"{base(sim)}/tags/{other.json()['tag']['id']}", json={"name": "spring promo"}
    )
    assert clash.status_code == 400
    theirs = await sim.call(
        "POST", f"/locations/{sim.other_location_id}/tags", token=sim.pit(1),
        json={"name": "spring promo"},
    )  # fmt: skip
    assert theirs.status_code == 200
    blank = await sim.call("POST", f"{base(sim)}/tags", json={"name": "   "})
    assert blank.status_code == 422
    assert (await sim.call("GET", f"{base(sim)}/tags/nope")).status_code == 400


async def test_snippets_list_filter_page_and_soft_delete(sim: SimClient) -> None:
    origin = {"originId": str(sim.seed["agency"]["companyId"])}
    url = f"{base(sim)}/templates"
    everything = await sim.call("GET", url, params=origin)
    body = everything.json()
    assert body["totalCount"] == 3 and len(body["templates"]) == 3
    email = await sim.call("GET", url, params={**origin, "type": "email"})
    assert [t["template"]["subject"] for t in email.json()["templates"]] == [
        "Welcome to Lakeside Dental Studio"
    ]
    page = await sim.call("GET", url, params={**origin, "skip": "1", "limit": "1"})
    assert page.json()["templates"] == [body["templates"][1]]
    assert page.json()["totalCount"] == 3
    first = body["templates"][0]["id"]
    assert (await sim.call("DELETE", f"{url}/{first}")).status_code == 200
    live = (await sim.call("GET", url, params=origin)).json()
    deleted = (await sim.call("GET", url, params={**origin, "deleted": "true"})).json()
    assert (live["totalCount"], [t["id"] for t in deleted["templates"]]) == (2, [first])
    assert (await sim.call("DELETE", f"{url}/{first}")).status_code == 400
    no_origin = await sim.call("GET", url)
    assert (no_origin.status_code, no_origin.json()["message"]) == (
        422,
        ["originId should not be empty"],
    )
    bad_type = await sim.call("GET", url, params={**origin, "type": "fax"})
    assert bad_type.status_code == 422
