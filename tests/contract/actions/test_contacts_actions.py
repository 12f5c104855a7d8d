"""Contact, custom-field, custom-value and tag actions against the simulator: each succeeds on
good input and fails clearly on bad input or at GHL."""

from __future__ import annotations

from typing import Any

from tests.contract.actions.conftest import Acts


async def _contact(acts: Acts, **fields: Any) -> str:
    out = await acts.run("contacts.create", {"firstName": "Ada", **fields})
    return str(out["contact"]["id"])


async def test_create_get_update_delete(acts: Acts) -> None:
    contact_id = await _contact(acts, email="ada@example.com", tags=["lead"])
    got = await acts.run("contacts.get", {"contactId": contact_id})
    assert got["contact"]["email"] == "ada@example.com"
    changed = await acts.run("contacts.update", {"contactId": contact_id, "lastName": "Lovelace"})
    assert changed["contact"]["lastName"] == "Lovelace"
    gone = await acts.run("contacts.delete", {"contactId": contact_id})
    assert gone == {"id": contact_id, "deleted": True}
    assert (await acts.refused("contacts.get", {"contactId": contact_id})).code == "not_found"


async def test_create_refuses_nameless_and_typos(acts: Acts) -> None:
    assert await acts.invalid("contacts.create", {}) == ["(root)"]
    assert await acts.invalid("contacts.create", {"firstName": "A", "emial": "x@y.co"}) == ["emial"]
    assert await acts.invalid("contacts.create", {"email": "not-an-email"}) == ["email"]


async def test_update_needs_a_change_and_a_real_contact(acts: Acts) -> None:
    contact_id = await _contact(acts)
    assert (await acts.refused("contacts.update", {"contactId": contact_id})).code == (
        "validation_error"
    )
    missing = await acts.refused("contacts.update", {"contactId": "nope123", "city": "Oslo"})
    assert missing.code == "not_found"
    assert (await acts.refused("contacts.delete", {"contactId": "nope123"})).code == "not_found"


async def test_upsert_matches_on_email(acts: Acts) -> None:
    first = await acts.run("contacts.upsert", {"email": "u@example.com", "firstName": "U"})
    again = await acts.run("contacts.upsert", {"email": "u@example.com", "city": "Oslo"})
    assert first["new"] is True and again["new"] is False
    assert again["contact"]["id"] == first["contact"]["id"]
    assert await acts.invalid("contacts.upsert", {"firstName": "no match key"}) == ["(root)"]


async def test_search_pages_through_and_truncates(acts: Acts) -> None:
    for n in range(5):
        await _contact(acts, email=f"s{n}@search.example", tags=["searchme"])
    filters = [{"field": "tags", "operator": "eq", "value": "searchme"}]
    out = await acts.run("contacts.search", {"filters": filters, "limit": 3})
    assert out["count"] == 3 and out["truncated"] is True
    every = await acts.run("contacts.search", {"filters": filters})
    assert every["count"] == 5 and every["truncated"] is False
    bad = await acts.refused(
        "contacts.search", {"filters": [{"field": "nonsense", "operator": "eq", "value": 1}]}
    )
    assert bad.code == "ghl_error" and bad.status in (400, 422)
    assert bad.details["traceId"]


async def test_find_duplicate(acts: Acts) -> None:
    contact_id = await _contact(acts, email="dup@example.com")
    found = await acts.run("contacts.find_duplicate", {"email": "dup@example.com"})
    assert found["contact"]["id"] == contact_id
    assert await acts.run("contacts.find_duplicate", {"email": "none@example.com"}) == {}
    assert await acts.invalid("contacts.find_duplicate", {}) == ["(root)"]


async def test_tags_add_remove_and_bulk(acts: Acts) -> None:
    a, b = await _contact(acts), await _contact(acts)
    added = await acts.run("contacts.add_tags", {"contactId": a, "tags": ["x", "y"]})
    assert {"x", "y"} <= set(added["tags"])
    left = await acts.run("contacts.remove_tags", {"contactId": a, "tags": ["x"]})
    assert "x" not in left["tags"]
    bulk = await acts.run(
        "contacts.bulk_update_tags", {"contactIds": [a, b, "nope123"], "add": ["z"]}
    )
    assert (bulk["succeeded"], bulk["failed"]) == (2, 1)
    assert [r["ok"] for r in bulk["results"]] == [True, True, False]
    assert await acts.invalid("contacts.add_tags", {"contactId": a, "tags": []}) == ["tags"]
    assert await acts.invalid("contacts.bulk_update_tags", {"contactIds": [a]}) == ["(root)"]
    missing = await acts.refused("contacts.remove_tags", {"contactId": "nope123", "tags": ["x"]})
    assert missing.code == "not_found"


async def test_custom_fields_by_name_or_key(acts: Acts) -> None:
    made = await acts.run("custom_fields.create", {"name": "Favourite Colour", "dataType": "TEXT"})
    assert made["created"] is True
    key = made["customField"]["fieldKey"]
    again = await acts.run("custom_fields.create", {"name": "favourite colour", "dataType": "TEXT"})
    assert again["created"] is False and again["customField"]["id"] == made["customField"]["id"]
    listed = await acts.run("custom_fields.list", {})
    assert made["customField"]["id"] in {f["id"] for f in listed["items"]}
    contact_id = await _contact(acts)
    by_name = await acts.run(
        "contacts.set_custom_fields",
        {"contactId": contact_id, "values": {"Favourite Colour": "teal"}},
    )
    by_key = await acts.run(
        "contacts.set_custom_fields", {"contactId": contact_id, "values": {key: "amber"}}
    )
    values = {f["id"]: f.get("value") for f in by_key["contact"].get("customFields", [])}
    assert values[made["customField"]["id"]] == "amber", (by_name, by_key)
    created = await acts.run(
        "contacts.create",
        {"firstName": "F", "customFields": [{"name": "Favourite Colour", "value": "red"}]},
    )
    assert created["contact"]["id"]
    unknown = await acts.refused(
        "contacts.set_custom_fields", {"contactId": contact_id, "values": {"No Such": 1}}
    )
    assert unknown.code == "validation_error" and unknown.details["unknown"] == ["No Such"]
    assert await acts.invalid("custom_fields.create", {"name": "x", "dataType": "BLOB"}) == [
        "dataType"
    ]


async def test_notes_tasks_and_activity(acts: Acts) -> None:
    contact_id = await _contact(acts)
    note = await acts.run("contacts.add_note", {"contactId": contact_id, "body": "called"})
    task = await acts.run(
        "contacts.create_task",
        {"contactId": contact_id, "title": "Call back", "dueDate": "2030-01-01T10:00:00Z"},
    )
    done = await acts.run(
        "contacts.complete_task", {"contactId": contact_id, "taskId": task["task"]["id"]}
    )
    assert done["task"]["completed"] is True
    timeline = await acts.run("contacts.activity", {"contactId": contact_id})
    kinds = {(item["type"], item["id"]) for item in timeline["items"]}
    assert ("note", note["note"]["id"]) in kinds and ("task", task["task"]["id"]) in kinds
    assert await acts.invalid("contacts.add_note", {"contactId": contact_id, "body": ""}) == [
        "body"
    ]
    assert await acts.invalid(
        "contacts.create_task", {"contactId": contact_id, "title": "x", "dueDate": "tomorrow"}
    ) == ["dueDate"]
    missing = await acts.refused(
        "contacts.complete_task", {"contactId": contact_id, "taskId": "nope123"}
    )
    assert missing.code == "not_found"
    assert (await acts.refused("contacts.activity", {"contactId": "nope123"})).code == "not_found"


async def test_custom_values_and_tags_are_set_once(acts: Acts) -> None:
    first = await acts.run("custom_values.set", {"name": "Promo Code", "value": "A1"})
    second = await acts.run("custom_values.set", {"name": "promo code", "value": "B2"})
    assert first["created"] is True and second["created"] is False
    assert second["customValue"]["value"] == "B2"
    listed = await acts.run("custom_values.list", {})
    assert sum(v["name"].casefold() == "promo code" for v in listed["items"]) == 1
    tag = await acts.run("tags.create", {"name": "Contract Gold"})
    again = await acts.run("tags.create", {"name": "contract gold"})
    assert tag["created"] is True and again["created"] is False
    assert any(
        t["name"].casefold() == "contract gold" for t in (await acts.run("tags.list", {}))["items"]
    )
    assert await acts.invalid("custom_values.set", {"name": "x"}) == ["value"]
    assert await acts.invalid("tags.create", {"name": ""}) == ["name"]
    assert await acts.invalid("tags.list", {"surprise": 1}) == ["surprise"]
    assert await acts.invalid("custom_values.list", {"surprise": 1}) == ["surprise"]
    assert await acts.invalid("custom_fields.list", {"model": "deal"}) == ["model"]


async def test_dry_run_returns_the_request_and_sends_nothing(acts: Acts) -> None:
    out = await acts.run("contacts.create", {"email": "dry@example.com"}, dry_run=True)
    assert out["request"]["method"] == "POST" and out["request"]["path"] == "/contacts/"
    assert out["request"]["body"]["email"] == "dry@example.com"
    assert await acts.run("contacts.find_duplicate", {"email": "dry@example.com"}) == {}
    read = await acts.run("contacts.get", {"contactId": "abc123"}, dry_run=True)
    assert read["request"]["method"] == "GET" and read["request"]["path"] == "/contacts/abc123"
