"""Opportunity and pipeline actions against the simulator: CRUD, upsert, search, stage moves by
name, status with lost reasons, and analytics that agree with a search of the same deals."""

from __future__ import annotations

from typing import Any

from tests.contract.actions.conftest import Acts


async def _contact(acts: Acts, name: str = "Deal") -> str:
    out = await acts.run("contacts.create", {"firstName": name})
    return str(out["contact"]["id"])


async def _pipelines(acts: Acts) -> list[dict[str, Any]]:
    return list((await acts.run("pipelines.list", {}))["items"])


async def _opportunity(acts: Acts, pipeline_id: str, **fields: Any) -> dict[str, Any]:
    contact_id = await _contact(acts)
    body = {"pipelineId": pipeline_id, "contactId": contact_id, "name": "Deal", **fields}
    out = await acts.run("opportunities.create", body)
    return dict(out["opportunity"])


async def test_pipelines_list_with_stage_names(acts: Acts) -> None:
    pipelines = await _pipelines(acts)
    assert [p["id"] for p in pipelines] == acts.seed["pipelines"]
    assert [s["name"] for s in pipelines[0]["stages"]][:2] == ["New Lead", "Contacted"]
    assert await acts.invalid("pipelines.list", {"surprise": 1}) == ["surprise"]


async def test_create_get_update_delete(acts: Acts) -> None:
    sales = (await _pipelines(acts))[0]
    contacted = next(s for s in sales["stages"] if s["name"] == "Contacted")
    made = await _opportunity(
        acts,
        sales["id"],
        stage="contacted",
        monetaryValue=500,
        customFields=[{"name": "Project Budget", "value": 9000}],
    )
    assert made["pipelineStageId"] == contacted["id"] and made["status"] == "open"
    got = (await acts.run("opportunities.get", {"opportunityId": made["id"]}))["opportunity"]
    assert got["monetaryValue"] == 500
    assert [f["fieldValue"] for f in got["customFields"]] == [9000]
    changed = await acts.run(
        "opportunities.update",
        {
            "opportunityId": made["id"],
            "name": "Bigger deal",
            "monetaryValue": 750,
            "stage": "Closed",
        },
    )
    assert changed["opportunity"]["name"] == "Bigger deal"
    assert changed["opportunity"]["monetaryValue"] == 750
    assert changed["opportunity"]["pipelineStageId"] == sales["stages"][-1]["id"]
    gone = await acts.run("opportunities.delete", {"opportunityId": made["id"]})
    assert gone == {"id": made["id"], "deleted": True}
    missing = await acts.refused("opportunities.get", {"opportunityId": made["id"]})
    assert missing.code == "not_found"
    again = await acts.refused("opportunities.delete", {"opportunityId": made["id"]})
    assert again.code == "not_found"


async def test_create_and_update_refusals(acts: Acts) -> None:
    sales = acts.seed["pipelines"][0]
    assert await acts.invalid("opportunities.create", {"name": "x", "contactId": "c1"}) == [
        "pipelineId"
    ]
    bad_status = {"pipelineId": sales, "contactId": "c1", "name": "x", "status": "pending"}
    assert await acts.invalid("opportunities.create", bad_status) == ["status"]
    nobody = {"pipelineId": sales, "contactId": "nope123", "name": "x"}
    assert (await acts.refused("opportunities.create", nobody)).code == "not_found"
    contact_id = await _contact(acts)
    unknown_stage = await acts.refused(
        "opportunities.create",
        {"pipelineId": sales, "contactId": contact_id, "name": "x", "stage": "Nirvana"},
    )
    assert unknown_stage.code == "validation_error"
    assert "New Lead" in unknown_stage.details["known"]
    made = await _opportunity(acts, sales)
    nothing = await acts.refused("opportunities.update", {"opportunityId": made["id"]})
    assert nothing.code == "validation_error"
    ghost = await acts.refused("opportunities.update", {"opportunityId": "nope123", "name": "y"})
    assert ghost.code == "not_found"


async def test_upsert_creates_then_matches(acts: Acts) -> None:
    onboarding = acts.seed["pipelines"][1]
    contact_id = await _contact(acts, "Upsert")
    body = {"pipelineId": onboarding, "contactId": contact_id, "name": "Onboard", "stage": "Live"}
    first = await acts.run("opportunities.upsert", body)
    again = await acts.run(
        "opportunities.upsert",
        {"pipelineId": onboarding, "contactId": contact_id, "monetaryValue": 42},
    )
    assert first["new"] is True and again["new"] is False
    assert again["opportunity"]["id"] == first["opportunity"]["id"]
    assert again["opportunity"]["monetaryValue"] == 42
    by_id = await acts.run(
        "opportunities.upsert",
        {"pipelineId": onboarding, "opportunityId": first["opportunity"]["id"], "status": "won"},
    )
    assert by_id["opportunity"]["status"] == "won"
    assert await acts.invalid("opportunities.upsert", {"pipelineId": onboarding}) == ["(root)"]
    ghost = {"pipelineId": onboarding, "opportunityId": "nope123", "name": "x"}
    assert (await acts.refused("opportunities.upsert", ghost)).code == "not_found"


async def test_search_filters_pages_and_truncates(acts: Acts) -> None:
    onboarding = acts.seed["pipelines"][1]
    made = [await _opportunity(acts, onboarding, monetaryValue=n) for n in (1, 2, 3)]
    found = await acts.run(
        "opportunities.search", {"pipelineId": onboarding, "status": "open", "limit": 500}
    )
    ids = {o["id"] for o in found["items"]}
    assert {m["id"] for m in made} <= ids
    assert all(o["pipelineId"] == onboarding for o in found["items"])
    few = await acts.run("opportunities.search", {"pipelineId": onboarding, "limit": 2})
    assert few["count"] == 2 and few["truncated"] is True
    by_grammar = await acts.run(
        "opportunities.search",
        {"filters": [{"field": "monetary_value", "operator": "eq", "value": 3}]},
    )
    assert made[2]["id"] in {o["id"] for o in by_grammar["items"]}
    bad = await acts.refused(
        "opportunities.search", {"filters": [{"field": "nonsense", "operator": "eq", "value": 1}]}
    )
    assert bad.code == "ghl_error" and bad.status in (400, 422)
    assert await acts.invalid("opportunities.search", {"limit": 0}) == ["limit"]


async def test_move_stage_by_name_or_id(acts: Acts) -> None:
    sales, onboarding = await _pipelines(acts)
    made = await _opportunity(acts, sales["id"])
    moved = await acts.run(
        "opportunities.move_stage", {"opportunityId": made["id"], "stage": "proposal sent"}
    )
    proposal = next(s for s in sales["stages"] if s["name"] == "Proposal Sent")
    assert moved["opportunity"]["pipelineStageId"] == proposal["id"]
    got = (await acts.run("opportunities.get", {"opportunityId": made["id"]}))["opportunity"]
    assert got["pipelineStageId"] == proposal["id"]
    live = onboarding["stages"][-1]
    across = await acts.run(
        "opportunities.move_stage",
        {"opportunityId": made["id"], "stage": live["id"], "pipelineId": onboarding["id"]},
    )
    assert across["opportunity"]["pipelineId"] == onboarding["id"]
    assert across["opportunity"]["pipelineStageId"] == live["id"]
    unknown = await acts.refused(
        "opportunities.move_stage", {"opportunityId": made["id"], "stage": "Contacted"}
    )
    assert unknown.code == "validation_error"
    assert unknown.details["known"] == [s["name"] for s in onboarding["stages"]]
    ghost = await acts.refused(
        "opportunities.move_stage", {"opportunityId": "nope123", "stage": "Live"}
    )
    assert ghost.code == "not_found"
    assert await acts.invalid("opportunities.move_stage", {"opportunityId": made["id"]}) == [
        "stage"
    ]


async def test_set_status_with_lost_reason(acts: Acts) -> None:
    made = await _opportunity(acts, acts.seed["pipelines"][0])
    won = await acts.run("opportunities.set_status", {"opportunityId": made["id"], "status": "won"})
    assert won == {"id": made["id"], "status": "won"}
    lost = await acts.run(
        "opportunities.set_status",
        {"opportunityId": made["id"], "status": "lost", "lostReason": "price too high"},
    )
    got = (await acts.run("opportunities.get", {"opportunityId": made["id"]}))["opportunity"]
    assert got["status"] == "lost" and got["lostReasonId"] == lost["lostReasonId"]
    assert await acts.invalid(
        "opportunities.set_status",
        {"opportunityId": made["id"], "status": "won", "lostReasonId": "r1"},
    ) == ["(root)"]
    unknown = await acts.refused(
        "opportunities.set_status",
        {"opportunityId": made["id"], "status": "lost", "lostReason": "Alien abduction"},
    )
    assert unknown.code == "validation_error" and "Bad timing" in unknown.details["known"]
    ghost = await acts.refused(
        "opportunities.set_status", {"opportunityId": "nope123", "status": "won"}
    )
    assert ghost.code == "not_found"


async def test_analytics_agrees_with_search(acts: Acts) -> None:
    sales, onboarding = await _pipelines(acts)
    await _opportunity(acts, onboarding["id"], monetaryValue=100.5, stage="Kickoff")
    lost = await _opportunity(acts, onboarding["id"], monetaryValue=20, stage="Kickoff")
    await acts.run("opportunities.set_status", {"opportunityId": lost["id"], "status": "lost"})
    deals = (
        await acts.run("opportunities.search", {"pipelineId": onboarding["id"], "limit": 10_000})
    )["items"]
    out = await acts.run("pipelines.analytics", {"pipelineId": onboarding["id"]})
    assert out["counted"] == len(deals) and out["truncated"] is False
    (tally,) = out["pipelines"]
    assert tally["name"] == "Onboarding" and tally["count"] == len(deals)
    assert tally["value"] == round(sum(d.get("monetaryValue") or 0 for d in deals), 2)
    kickoff = next(s for s in tally["byStage"] if s["name"] == "Kickoff")
    in_kickoff = [d for d in deals if d["pipelineStageId"] == kickoff["stageId"]]
    assert kickoff["count"] == len(in_kickoff) >= 2
    assert kickoff["byStatus"]["lost"]["count"] >= 1
    assert tally["byStatus"]["lost"]["value"] >= 20
    assert [s["name"] for s in tally["byStage"]] == [s["name"] for s in onboarding["stages"]]
    everything = await acts.run("pipelines.analytics", {})
    assert {p["id"] for p in everything["pipelines"]} == {sales["id"], onboarding["id"]}
    assert sum(p["count"] for p in everything["pipelines"]) == everything["counted"]
    capped = await acts.run("pipelines.analytics", {"limit": 1})
    assert capped["counted"] == 1 and capped["truncated"] is True
    unknown = await acts.refused("pipelines.analytics", {"pipelineId": "nope123"})
    assert unknown.code == "not_found" and unknown.details["known"]
    assert await acts.invalid("pipelines.analytics", {"limit": 0}) == ["limit"]


async def test_dry_run_resolves_the_stage_and_sends_nothing(acts: Acts) -> None:
    made = await _opportunity(acts, acts.seed["pipelines"][0])
    out = await acts.run(
        "opportunities.move_stage", {"opportunityId": made["id"], "stage": "Closed"}, dry_run=True
    )
    assert out["request"]["method"] == "PUT"
    assert (
        out["request"]["body"]["pipelineStageId"] == (await _pipelines(acts))[0]["stages"][-1]["id"]
    )
    got = (await acts.run("opportunities.get", {"opportunityId": made["id"]}))["opportunity"]
    assert got["pipelineStageId"] == made["pipelineStageId"]
