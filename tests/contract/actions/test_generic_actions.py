"""``ghl.request``: any spec operation by id, validated, confined to the action's location, and
needing as much of the key as the operation does."""

from __future__ import annotations

from tests.contract.actions.conftest import Acts


async def test_any_operation_by_id(acts: Acts) -> None:
    made = await acts.run(
        "ghl.request",
        {
            "operationId": "create-contact",
            "body": {"locationId": acts.location_id, "firstName": "R"},
        },
    )
    contact_id = made["response"]["contact"]["id"]
    got = await acts.run(
        "ghl.request", {"operationId": "get-contact", "pathParams": {"contactId": contact_id}}
    )
    assert got == {"operationId": "get-contact", "response": got["response"]}
    assert got["response"]["contact"]["firstName"] == "R"
    # {locationId} in the path is filled from the action's location.
    tags = await acts.run("ghl.request", {"operationId": "get-location-tags"})
    assert "tags" in tags["response"]


async def test_refused_before_sending(acts: Acts) -> None:
    unknown = await acts.refused("ghl.request", {"operationId": "get-contactz"})
    assert unknown.code == "validation_error" and "get-contact" in unknown.details["suggestions"]
    missing = await acts.refused("ghl.request", {"operationId": "get-contact"})
    assert missing.code == "validation_error"
    assert any("contactId" in p["path"] for p in missing.details)
    other = await acts.refused(
        "ghl.request", {"operationId": "get-location", "pathParams": {"locationId": "elsewhere1"}}
    )
    assert other.code == "forbidden"
    assert await acts.invalid("ghl.request", {"operationId": "x y"}) == ["operationId"]


async def test_the_key_needs_what_the_operation_needs(acts: Acts) -> None:
    read_only = acts.policy("read")
    ok = await acts.run("ghl.request", {"operationId": "get-location-tags"}, policy=read_only)
    assert "tags" in ok["response"]
    delete = {"operationId": "delete-contact", "pathParams": {"contactId": "abc123"}}
    refused = await acts.refused("ghl.request", delete, policy=acts.policy("read", "write"))
    assert refused.code == "action_not_allowed" and refused.details["kind"] == "destructive"
    send = {"operationId": "send-a-new-message", "body": {"type": "SMS", "contactId": "abc123"}}
    refused = await acts.refused("ghl.request", send, policy=acts.policy("read", "write"))
    assert refused.details["kind"] == "outbound"
    dry = await acts.run("ghl.request", delete, dry_run=True)
    assert dry["request"]["method"] == "DELETE" and dry["request"]["path"] == "/contacts/abc123"
