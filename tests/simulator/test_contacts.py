"""Contacts: create/get/update/delete, duplicates, upsert, tags, notes and tasks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.simulator.conftest import SimClient


async def create(sim: SimClient, **fields: Any) -> dict[str, Any]:
    resp = await sim.call("POST", "/contacts/", json={"locationId": sim.location_id, **fields})
    assert resp.status_code == 201, resp.text
    return dict(resp.json()["contact"])


async def test_create_then_get_render_ghl_shapes(sim: SimClient) -> None:
    made = await create(
        sim,
        firstName="Nia",
        lastName="Okoro",
        email="Nia.Okoro@Example.com",
        phone="(503) 555-0142",
        tags=["VIP ", "vip", "Follow-Up"],
        customFields=[{"id": "cf1", "field_value": "gold"}],
        dateOfBirth="1990/09/25",
    )
    assert len(made["id"]) == 20 and made["id"].isalnum()
    assert made["phone"] == "+15035550142"
    assert made["tags"] == ["vip", "follow-up"]
    assert made["emailLowerCase"] == "nia.okoro@example.com"
    assert made["fullNameLowerCase"] == "nia okoro"
    assert made["customFields"] == [{"id": "cf1", "value": "gold"}]
    assert made["dateOfBirth"] == "1990-09-25T00:00:00.000Z"
    assert (made["deleted"], made["validEmail"]) == (False, None)
    got = (await sim.call("GET", f"/contacts/{made['id']}")).json()
    assert set(got) == {"contact", "traceId"}
    contact = got["contact"]
    assert contact["email"] == "Nia.Okoro@Example.com"
    assert "city" not in contact  # unset fields are omitted on get (recorded)
    assert "deleted" not in contact


async def test_name_splits_into_first_and_last(sim: SimClient) -> None:
    made = await create(sim, name="Ada Byron King", email="ada@example.com")
    assert (made["firstName"], made["lastName"]) == ("Ada", "Byron King")


async def test_duplicate_email_or_phone_is_400_with_meta(sim: SimClient) -> None:
    first = await create(
        sim, firstName="Dup", lastName="One", email="dup@example.com", phone="+15550001111"
    )
    for clash, field in (
        ({"email": "DUP@example.com"}, "email"),
        ({"phone": "+1 555 000 1111"}, "phone"),
    ):
        resp = await sim.call("POST", "/contacts/", json={"locationId": sim.location_id, **clash})
        body = resp.json()
        assert resp.status_code == 400
        assert body["message"] == "This location does not allow duplicated contacts."
        assert body["meta"] == {
            "contactId": first["id"],
            "contactName": "Dup One",
            "matchingField": field,
        }
    # Another location may hold the same email.
    other = await sim.call(
        "POST", "/contacts/", token=sim.pit(1),
        json={"locationId": sim.other_location_id, "email": "dup@example.com"},
    )  # fmt: skip
    assert other.status_code == 201


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"email": "not-an-email"}, "email must be an email"),
        ({"dateOfBirth": "someday"}, "dateOfBirth must be a valid date"),
        ({"tags": ["ok", 3]}, "each value in tags must be a string"),
        ({"dnd": "yes"}, "dnd must be a boolean value"),
        (
            {"dndSettings": {"SMS": {"status": "maybe"}}},
            "dndSettings.SMS.status must be one of the following values: "
            "active, inactive, permanent",
        ),
    ],
)
async def test_create_validation(sim: SimClient, body: dict[str, Any], message: str) -> None:
    resp = await sim.call("POST", "/contacts/", json={"locationId": sim.location_id, **body})
    assert resp.status_code == 422
    assert message in resp.json()["message"]


async def test_update_is_partial_and_tags_replace(sim: SimClient) -> None:
    made = await create(
        sim, firstName="Up", lastName="Date", email="up@example.com", tags=["a", "b"], city="Bend"
    )
    resp = await sim.call(
        "PUT", f"/contacts/{made['id']}", json={"lastName": "Dated", "tags": ["c"], "city": None}
    )
    body = resp.json()
    assert resp.status_code == 200
    assert body["succeded"] is True and body["succeeded"] is True
    contact = body["contact"]
    assert (contact["firstName"], contact["lastName"], contact["tags"]) == ("Up", "Dated", ["c"])
    assert "city" not in contact
    assert contact["dateUpdated"] >= made["dateUpdated"]


async def test_update_cannot_steal_another_contacts_email(sim: SimClient) -> None:
    await create(sim, email="taken@example.com")
    mine = await create(sim, email="mine@example.com")
    resp = await sim.call("PUT", f"/contacts/{mine['id']}", json={"email": "taken@example.com"})
    assert resp.status_code == 400
    assert (await sim.call("GET", f"/contacts/{mine['id']}")).json()["contact"][
        "email"
    ] == "mine@example.com"


async def test_update_rejects_unknown_fields(sim: SimClient) -> None:
    made = await create(sim, email="strict@example.com")
    resp = await sim.call("PUT", f"/contacts/{made['id']}", json={"locationId": sim.location_id})
    assert resp.status_code == 422
    assert resp.json()["message"] == ["property locationId should not exist"]


async def test_delete_then_get_is_400(sim: SimClient) -> None:
    made = await create(sim, email="gone@example.com")
    deleted = await sim.call("DELETE", f"/contacts/{made['id']}")
    assert deleted.status_code == 200 and deleted.json()["succeded"] is True
    missing = await sim.call("GET", f"/contacts/{made['id']}")
    assert missing.status_code == 400
    assert missing.json()["message"] == f"Contact with id {made['id']} not found"
    assert (await sim.call("DELETE", f"/contacts/{made['id']}")).status_code == 400


async def test_upsert_creates_then_matches_by_email_then_phone(sim: SimClient) -> None:
    body = {"locationId": sim.location_id, "email": "ups@example.com", "firstName": "Ups"}
    created = (await sim.call("POST", "/contacts/upsert", json=body)).json()
    assert created["new"] is True
    again = (
        await sim.call(
            "POST", "/contacts/upsert", json={**body, "lastName": "Sert", "phone": "+15557770000"}
        )
    ).json()
    assert again["new"] is False
    assert again["contact"]["id"] == created["contact"]["id"]
    assert again["contact"]["lastName"] == "Sert"
    by_phone = (
        await sim.call(
            "POST",
            "/contacts/upsert",
            json={"locationId": sim.location_id, "phone": "555-777-0000", "city": "Salem"},
        )
    ).json()
    assert (by_phone["new"], by_phone["contact"]["id"]) == (False, created["contact"]["id"])
    assert by_phone["contact"]["city"] == "Salem"


async def test_upsert_prefers_email_and_ignores_a_phone_owned_by_another(sim: SimClient) -> None:
    by_email = await create(sim, email="first@example.com")
    by_phone = await create(sim, phone="+15551230000")
    resp = await sim.call(
        "POST", "/contacts/upsert",
        json={"locationId": sim.location_id, "email": "first@example.com", "phone": "+15551230000"},
    )  # fmt: skip
    contact = resp.json()["contact"]
    assert contact["id"] == by_email["id"]
    assert "phone" not in contact
    assert (await sim.call("GET", f"/contacts/{by_phone['id']}")).json()["contact"][
        "phone"
    ] == "+15551230000"


async def test_tags_add_and_remove(sim: SimClient) -> None:
    made = await create(sim, email="tags@example.com", tags=["one"])
    added = await sim.call("POST", f"/contacts/{made['id']}/tags", json={"tags": ["Two", "one"]})
    assert added.status_code == 201
    assert (added.json()["tags"], added.json()["tagsAdded"]) == (["one", "two"], ["two"])
    removed = await sim.call("DELETE", f"/contacts/{made['id']}/tags", json={"tags": ["ONE"]})
    assert (removed.status_code, removed.json()["tags"]) == (200, ["two"])
    empty = await sim.call("POST", f"/contacts/{made['id']}/tags", json={})
    assert empty.status_code == 422
    assert empty.json()["message"] == ["tags must be an array", "tags should not be empty"]


async def test_duplicate_lookup(sim: SimClient) -> None:
    made = await create(sim, email="look@example.com", phone="+15559990000")
    params = {"locationId": sim.location_id, "number": "+15559990000"}
    found = (await sim.call("GET", "/contacts/search/duplicate", params=params)).json()
    assert found["contact"]["id"] == made["id"]
    params = {"locationId": sim.location_id, "email": "nobody@example.com"}
    assert (await sim.call("GET", "/contacts/search/duplicate", params=params)).json()[
        "contact"
    ] is None


async def test_notes_crud(sim: SimClient) -> None:
    contact = await create(sim, email="notes@example.com")
    base = f"/contacts/{contact['id']}/notes"
    made = await sim.call("POST", base, json={"body": "Called, left voicemail"})
    assert made.status_code == 201
    note = made.json()["note"]
    assert (note["body"], note["contactId"], note["pinned"]) == (
        "Called, left voicemail",
        contact["id"],
        False,
    )
    assert "userId" not in note
    updated = await sim.call(
        "PUT", f"{base}/{note['id']}", json={"body": "Called back", "pinned": True}
    )
    assert (
        updated.json()["note"]["body"] == "Called back" and updated.json()["note"]["pinned"] is True
    )
    assert (await sim.call("GET", f"{base}/{note['id']}")).json()["note"]["body"] == "Called back"
    assert [n["id"] for n in (await sim.call("GET", base)).json()["notes"]] == [note["id"]]
    assert (await sim.call("DELETE", f"{base}/{note['id']}")).json()["succeded"] is True
    assert (await sim.call("GET", f"{base}/{note['id']}")).status_code == 400
    assert (await sim.call("POST", base, json={"title": "no body"})).status_code == 422


async def test_tasks_crud_and_completion(sim: SimClient) -> None:
    contact = await create(sim, email="tasks@example.com")
    base = f"/contacts/{contact['id']}/tasks"
    made = await sim.call(
        "POST",
        base,
        json={"title": "Send quote", "dueDate": "2026-07-20T10:00:00Z", "completed": False},
    )
    assert made.status_code == 201
    task = made.json()["task"]
    assert task["dueDate"] == "2026-07-20T10:00:00.000Z"  # normalised as GHL does (recorded)
    done = await sim.call("PUT", f"{base}/{task['id']}/completed", json={"completed": True})
    assert done.json()["task"]["completed"] is True
    edited = await sim.call("PUT", f"{base}/{task['id']}", json={"title": "Send final quote"})
    assert edited.json()["task"]["title"] == "Send final quote"
    assert len((await sim.call("GET", base)).json()["tasks"]) == 1
    assert (await sim.call("DELETE", f"{base}/{task['id']}")).status_code == 200
    assert (await sim.call("GET", f"{base}/{task['id']}")).status_code == 400
    invalid = await sim.call("POST", base, json={"title": "x"})
    assert invalid.status_code == 422
    assert "dueDate should not be empty" in invalid.json()["message"]
    bad_date = await sim.call(
        "POST", base, json={"title": "x", "dueDate": "soon", "completed": False}
    )
    assert bad_date.json()["message"] == ["dueDate must be a valid ISO 8601 date string"]


async def test_deleting_a_contact_deletes_its_notes(sim: SimClient) -> None:
    contact = await create(sim, email="cascade@example.com")
    await sim.call("POST", f"/contacts/{contact['id']}/notes", json={"body": "x"})
    await sim.call("DELETE", f"/contacts/{contact['id']}")
    assert (await sim.call("GET", f"/contacts/{contact['id']}/notes")).status_code == 400


async def test_seed_is_deterministic_per_seed(make_sim: Any) -> None:
    async with make_sim(seed=7) as a, make_sim(seed=7) as b, make_sim(seed=8) as c:
        assert a.seed == b.seed
        assert a.seed["app"] != c.seed["app"]
        search = {"locationId": a.location_id, "pageLimit": 100}
        first = (await a.call("POST", "/contacts/search", json=search)).json()["contacts"]
        second = (await b.call("POST", "/contacts/search", json=search)).json()["contacts"]
        assert first == second and len(first) == 6
        made_a, made_b = (
            await create(a, email="same@example.com"),
            await create(b, email="same@example.com"),
        )
        assert made_a["id"] == made_b["id"]


async def test_seed_shape(sim: SimClient) -> None:
    seed = sim.seed
    client_id = seed["app"]["clientId"]
    app_id, _, suffix = client_id.partition("-")
    assert app_id == seed["app"]["appId"] and len(app_id) == 24 and len(suffix) == 8
    assert seed["agency"]["pit"].startswith("pit-")
    assert [len(loc["id"]) for loc in seed["locations"]] == [20, 20]
    assert all(loc["pit"].startswith("pit-") and loc["name"] for loc in seed["locations"])
    assert seed["webhookKeys"]["ed25519"].startswith("-----BEGIN PUBLIC KEY-----")
    assert seed["webhookKeys"]["rsa"].startswith("-----BEGIN PUBLIC KEY-----")
    first = seed["locations"][0]
    assert [len(first[kind]) for kind in ("pipelines", "calendars", "campaigns", "workflows")] == [
        2, 2, 3, 3,
    ]  # fmt: skip
