"""Workflow actions against the simulator: listing, enrolling a contact (with custom fields set
first), removing it, and the record of both that we keep because GHL keeps none we can read."""

from __future__ import annotations

from typing import Any

from tests.contract.actions.conftest import Acts


async def _contact(acts: Acts) -> str:
    out = await acts.run("contacts.create", {"firstName": "Flow"})
    return str(out["contact"]["id"])


async def _in_workflow(acts: Acts, workflow_id: str) -> set[str]:
    """Contacts GHL shows in the workflow (its contact search filters on activeWorkflows)."""
    filters = [{"field": "activeWorkflows", "operator": "eq", "value": workflow_id}]
    found = await acts.run("contacts.search", {"filters": filters})
    return {c["id"] for c in found["items"]}


def _field_values(contact: dict[str, Any]) -> dict[str, Any]:
    return {f["id"]: f.get("value") for f in contact.get("customFields", [])}


async def test_list_workflows(acts: Acts) -> None:
    listed = await acts.run("workflows.list", {})
    assert [w["id"] for w in listed["items"]] == acts.seed["workflows"]
    drafts = await acts.run("workflows.list", {"status": "draft"})
    assert [w["name"] for w in drafts["items"]] == ["Review Request"]
    assert await acts.invalid("workflows.list", {"status": "paused"}) == ["status"]


async def test_trigger_sets_fields_enrols_and_records(acts: Acts) -> None:
    workflow_id, contact_id = acts.seed["workflows"][0], await _contact(acts)
    fields = (await acts.run("custom_fields.list", {}))["items"]
    score = next(f for f in fields if f["name"] == "Lead Score")
    source = next(f for f in fields if f["name"] == "Referral Source")
    start = "2030-06-01T09:00:00+01:00"
    out = await acts.run(
        "workflows.trigger",
        {
            "workflowId": workflow_id,
            "contactId": contact_id,
            "eventStartTime": start,
            "customFields": {"lead score": 87, "contact.referral_source": "podcast"},
        },
    )
    assert out["status"] == "enrolled" and out["eventStartTime"] == start and out["at"]
    assert contact_id in await _in_workflow(acts, workflow_id)
    contact = (await acts.run("contacts.get", {"contactId": contact_id}))["contact"]
    values = _field_values(contact)
    assert values[score["id"]] == 87 and values[source["id"]] == "podcast"

    status = await acts.run("workflows.enrollment_status", {"contactId": contact_id})
    assert status["source"] == "ours" and "no workflow execution status" in status["note"]
    (record,) = status["items"]
    assert record["workflowId"] == workflow_id and record["status"] == "enrolled"
    assert record["eventStartTime"] == start
    assert record["customFields"] == {"lead score": 87, "contact.referral_source": "podcast"}


async def test_trigger_refusals(acts: Acts) -> None:
    contact_id = await _contact(acts)
    unknown = await acts.refused(
        "workflows.trigger", {"workflowId": "nope123", "contactId": contact_id}
    )
    assert unknown.code == "not_found"
    no_field = await acts.refused(
        "workflows.trigger",
        {
            "workflowId": acts.seed["workflows"][0],
            "contactId": contact_id,
            "customFields": {"Shoe Size": 44},
        },
    )
    assert no_field.code == "validation_error" and no_field.details["unknown"] == ["Shoe Size"]
    assert contact_id not in await _in_workflow(acts, acts.seed["workflows"][0])
    bad_time = {
        "workflowId": acts.seed["workflows"][0],
        "contactId": contact_id,
        "eventStartTime": "tomorrow",
    }
    assert await acts.invalid("workflows.trigger", bad_time) == ["eventStartTime"]
    status = await acts.run("workflows.enrollment_status", {"contactId": contact_id})
    assert status["items"] == [] and status["count"] == 0


async def test_remove_contact_and_status_by_workflow(acts: Acts) -> None:
    first, second = acts.seed["workflows"][:2]
    a, b = await _contact(acts), await _contact(acts)
    for contact_id in (a, b):
        await acts.run("workflows.trigger", {"workflowId": first, "contactId": contact_id})
    await acts.run("workflows.trigger", {"workflowId": second, "contactId": a})
    removed = await acts.run("workflows.remove_contact", {"workflowId": first, "contactId": a})
    assert removed["status"] == "removed" and removed["enrolledAt"]
    assert await _in_workflow(acts, first) >= {b} and a not in await _in_workflow(acts, first)
    assert a in await _in_workflow(acts, second)

    by_workflow = await acts.run("workflows.enrollment_status", {"workflowId": first})
    assert {(r["contactId"], r["status"]) for r in by_workflow["items"]} == {
        (a, "removed"),
        (b, "enrolled"),
    }
    one = await acts.run("workflows.enrollment_status", {"workflowId": second, "contactId": a})
    assert [r["status"] for r in one["items"]] == ["enrolled"]
    by_contact = await acts.run("workflows.enrollment_status", {"contactId": a})
    assert {r["workflowId"] for r in by_contact["items"]} == {first, second}

    ghost = await acts.refused(
        "workflows.remove_contact", {"workflowId": "nope123", "contactId": a}
    )
    assert ghost.code == "not_found"
    assert await acts.invalid("workflows.enrollment_status", {}) == ["(root)"]
    assert await acts.invalid("workflows.remove_contact", {"workflowId": first}) == ["contactId"]


async def test_dry_run_trigger_records_nothing(acts: Acts) -> None:
    contact_id = await _contact(acts)
    out = await acts.run(
        "workflows.trigger",
        {"workflowId": acts.seed["workflows"][0], "contactId": contact_id},
        dry_run=True,
    )
    assert out["request"]["method"] == "POST"
    assert out["request"]["path"].endswith(f"/workflow/{acts.seed['workflows'][0]}")
    status = await acts.run("workflows.enrollment_status", {"contactId": contact_id})
    assert status["count"] == 0
