"""Campaign actions against the simulator: listing, enrolling and removing contacts, a pause that
is a removal we remember, a resume that needs one, and email campaign statistics.

GHL's API (and so the simulator) shows no contact's campaigns, so enrolment is checked by what
GHL admitted (the simulator's journal of POSTs), by GHL's refusals, and by our own records.
"""

from __future__ import annotations

from typing import Any

from tests.contract.actions.conftest import Acts


async def _contact(acts: Acts) -> str:
    out = await acts.run("contacts.create", {"firstName": "Camp"})
    return str(out["contact"]["id"])


async def _posts(acts: Acts, operation: str) -> int:
    summary: dict[str, Any] = (await acts.sim.http.get(f"{acts.sim.url}/_sim/journal")).json()
    return int(summary["posts"].get(operation, 0))


async def test_list_campaigns(acts: Acts) -> None:
    listed = await acts.run("campaigns.list", {})
    assert [c["id"] for c in listed["items"]] == acts.seed["campaigns"]
    published = await acts.run("campaigns.list", {"status": "published"})
    assert published["count"] == 2 and {c["status"] for c in published["items"]} == {"published"}
    assert await acts.invalid("campaigns.list", {"campaignId": "x"}) == ["campaignId"]


async def test_add_and_remove_contact(acts: Acts) -> None:
    campaign_id, contact_id = acts.seed["campaigns"][0], await _contact(acts)
    before = await _posts(acts, "add-contact-to-campaign")
    added = await acts.run(
        "campaigns.add_contact", {"contactId": contact_id, "campaignId": campaign_id}
    )
    assert added == {"contactId": contact_id, "campaignId": campaign_id, "inCampaign": True}
    assert await _posts(acts, "add-contact-to-campaign") == before + 1
    removed = await acts.run(
        "campaigns.remove_contact", {"contactId": contact_id, "campaignId": campaign_id}
    )
    assert removed["inCampaign"] is False
    everywhere = await acts.run("campaigns.remove_contact_from_all", {"contactId": contact_id})
    assert everywhere == {"contactId": contact_id, "inCampaign": False}


async def test_enrolment_refusals(acts: Acts) -> None:
    contact_id = await _contact(acts)
    unknown = await acts.refused(
        "campaigns.add_contact", {"contactId": contact_id, "campaignId": "nope123"}
    )
    assert unknown.code == "not_found" and "nope123" in unknown.message
    nobody = await acts.refused(
        "campaigns.remove_contact",
        {"contactId": "nope123", "campaignId": acts.seed["campaigns"][0]},
    )
    assert nobody.code == "not_found"
    assert (
        await acts.refused("campaigns.remove_contact_from_all", {"contactId": "nope123"})
    ).code == "not_found"
    assert await acts.invalid("campaigns.add_contact", {"contactId": contact_id}) == ["campaignId"]
    assert await acts.invalid("campaigns.remove_contact_from_all", {"contactId": "a b"}) == [
        "contactId"
    ]


async def test_pause_is_a_remembered_removal_and_resume_re_adds(acts: Acts) -> None:
    campaign_id, contact_id = acts.seed["campaigns"][1], await _contact(acts)
    await acts.run("campaigns.add_contact", {"contactId": contact_id, "campaignId": campaign_id})
    pair = {"contactId": contact_id, "campaignId": campaign_id}
    paused = await acts.run("campaigns.pause_contact", pair)
    assert paused["inCampaign"] is False and paused["pausedAt"]
    records = acts.service.support.records
    assert records is not None
    fact = await records.get(
        acts.tenant_id, acts.location_id, "campaign_pause", f"{campaign_id}:{contact_id}"
    )
    assert fact is not None and fact.data["pausedAt"] == paused["pausedAt"]
    twice = await acts.run("campaigns.pause_contact", pair)
    assert twice["pausedAt"] == paused["pausedAt"]  # the first pause's time is kept

    before = await _posts(acts, "add-contact-to-campaign")
    resumed = await acts.run("campaigns.resume_contact", pair)
    assert resumed["inCampaign"] is True
    assert await _posts(acts, "add-contact-to-campaign") == before + 1
    assert (
        await records.get(
            acts.tenant_id, acts.location_id, "campaign_pause", f"{campaign_id}:{contact_id}"
        )
        is None
    )
    not_paused = await acts.refused("campaigns.resume_contact", pair)
    assert not_paused.code == "conflict" and not_paused.status == 409
    assert not_paused.details == pair
    unknown = await acts.refused(
        "campaigns.pause_contact", {"contactId": contact_id, "campaignId": "nope123"}
    )
    assert unknown.code == "not_found"
    assert (
        await records.get(
            acts.tenant_id, acts.location_id, "campaign_pause", f"nope123:{contact_id}"
        )
        is None
    )


async def test_dry_run_pause_records_nothing(acts: Acts) -> None:
    pair = {"contactId": await _contact(acts), "campaignId": acts.seed["campaigns"][0]}
    out = await acts.run("campaigns.pause_contact", pair, dry_run=True)
    assert out["request"]["method"] == "DELETE"
    refused = await acts.refused("campaigns.resume_contact", pair)
    assert refused.code == "conflict"


async def test_email_campaign_stats(acts: Acts) -> None:
    out = await acts.run("campaigns.stats", {})
    by_name = {c["name"]: c for c in out["items"]}
    spring = by_name["Spring Newsletter"]
    assert (spring["delivered"], spring["opened"], spring["clicked"]) == (412, 187, 43)
    assert spring["openRate"] == round(187 / 412, 4)
    assert "openRate" not in by_name["Summer Promo"]  # nothing delivered: no rate
    assert out["totals"]["delivered"] == sum(c["delivered"] for c in out["items"])
    drafts = await acts.run("campaigns.stats", {"status": "draft"})
    assert {c["status"] for c in drafts["items"]} == {"draft"}
    named = await acts.run("campaigns.stats", {"name": "spring", "limit": 1})
    assert [c["name"] for c in named["items"]] == ["Spring Newsletter"]
    one = await acts.run("campaigns.stats", {"limit": 1})
    assert one["count"] == 1 and one["truncated"] is (out["count"] > 1)
    assert await acts.invalid("campaigns.stats", {"status": "sending"}) == ["status"]
