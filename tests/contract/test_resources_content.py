"""Typed resources against the simulator: trigger links, funnels and redirects, forms and
surveys, the social planner, and the email builder's templates and campaigns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.contract.conftest import Sim

from ghl_bridge.client import GHLClient
from ghl_bridge.simulator.seed_content import (
    FORM_SUBMISSIONS_PER_LOCATION,
    SURVEY_SUBMISSIONS_PER_LOCATION,
)

SEEDED_MONTH = {"startAt": "2026-03-01", "endAt": "2026-03-31"}


async def test_trigger_links(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    made = (await ghl.links.create(location, "Promo A", "https://x.test/a"))["link"]
    await ghl.links.create(location, "Promo B", "https://x.test/b")
    assert (await ghl.links.get(location, made["id"]))["link"] == made
    await ghl.links.update(
        location, made["id"], {"name": "Promo A2", "redirectTo": made["redirectTo"]}
    )
    found = [link["name"] async for link in ghl.links.iter_search(location, "promo", limit=1)]
    assert found == ["Spring promo", "Promo A2", "Promo B"]
    await ghl.links.delete(location, made["id"])
    assert made["id"] not in {link["id"] for link in (await ghl.links.list(location))["links"]}


async def test_funnels_pages_and_redirects(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    funnels = [f async for f in ghl.funnels.iter_list(location, limit=2)]
    assert len(funnels) == 3
    promo = next(f for f in funnels if f["name"] == "Spring Promo Funnel")
    pages = await ghl.funnels.list_pages(location, promo["_id"], limit=3, offset=1)
    assert [p["name"] for p in pages["data"]] == ["Order Form", "Upsell", "Thank You"]
    every = [p["name"] async for p in ghl.funnels.iter_pages(location, promo["_id"], limit=3)]
    assert every == ["Landing", "Order Form", "Upsell", "Thank You"]
    assert (await ghl.funnels.page_count(location, promo["_id"]))["count"] == 4
    data = {
        "domain": "shop.example.com",
        "path": "/old",
        "target": "https://x.test",
        "action": "url",
    }
    redirect = (await ghl.funnels.create_redirect(location, data))["data"]
    changed = await ghl.funnels.update_redirect(
        location, redirect["id"], {"target": "https://x.test/new", "action": "url"}
    )
    assert changed["data"]["target"] == "https://x.test/new"
    listed = await ghl.funnels.list_redirects(location, limit=10)
    assert redirect["id"] in {r["id"] for r in listed["data"]["data"]}
    assert (await ghl.funnels.delete_redirect(location, redirect["id"]))["data"] == {"status": "ok"}


async def test_forms_and_surveys_with_their_submissions(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    forms = [f async for f in ghl.forms.iter_list(location, limit=2)]
    assert len(forms) == 3
    submissions = [s async for s in ghl.forms.iter_submissions(location, SEEDED_MONTH, limit=3)]
    assert len(submissions) == FORM_SUBMISSIONS_PER_LOCATION
    first_form = {**SEEDED_MONTH, "formId": forms[0]["id"]}
    assert {s["formId"] async for s in ghl.forms.iter_submissions(location, first_form)} == {
        forms[0]["id"]
    }
    surveys = [s async for s in ghl.surveys.iter_list(location)]
    assert len(surveys) == 2
    answers = [s async for s in ghl.surveys.iter_submissions(location, SEEDED_MONTH, limit=2)]
    assert len(answers) == SURVEY_SUBMISSIONS_PER_LOCATION


async def test_social_planner(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    accounts = (await ghl.social_posts.accounts(location))["results"]["accounts"]
    body = {"accountIds": [accounts[0]["id"]], "type": "post", "userId": "u" * 20,
            "summary": "From the client"}  # fmt: skip
    post = (await ghl.social_posts.create(location, body))["results"]["post"]
    assert (await ghl.social_posts.get(location, post["_id"]))["results"]["post"] == post
    await ghl.social_posts.update(location, post["_id"], {"type": "post", "summary": "Edited"})
    now = datetime.now(UTC)
    window = ((now - timedelta(days=1)).isoformat(), (now + timedelta(days=1)).isoformat())
    listed = [p async for p in ghl.social_posts.iter_list(location, *window, limit=1)]
    assert [p["summary"] for p in listed] == ["Edited"]
    seeded = [
        p async for p in ghl.social_posts.iter_list(location, "2026-01-01", "2032-01-01", limit=4)
    ]
    assert len(seeded) == 7
    stats = await ghl.social_posts.statistics(location, [accounts[0]["profileId"]])
    assert stats["results"]["breakdowns"]["posts"]["total"] == 1
    await ghl.social_posts.delete(location, post["_id"])
    doomed = [p["_id"] for p in seeded if p["_id"] != post["_id"]][:2]
    deleted = await ghl.social_posts.bulk_delete(location, doomed)
    assert deleted["results"]["deletedCount"] == 2


async def test_email_builder_templates_and_campaigns(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    before = [t async for t in ghl.email_templates.iter_list(location, limit=2)]
    assert len(before) == 3
    # No importProvider: GHL needs it only for imports (a relaxation of the spec's check).
    made = await ghl.email_templates.create(location, {"type": "html", "title": "From the client"})
    template_id = made["redirect"]
    saved = await ghl.email_templates.update(
        location,
        {"templateId": template_id, "updatedBy": "u" * 20, "html": "<p>Hi</p>",
         "editorType": "html"},
    )  # fmt: skip
    assert saved["ok"] == "true"
    names = [t["name"] async for t in ghl.email_templates.iter_list(location)]
    assert names[0] == "From the client" and len(names) == 4
    await ghl.email_templates.delete(location, template_id)
    schedules = [s async for s in ghl.email_templates.iter_schedules(location, limit=2)]
    assert [s["name"] for s in schedules] == [
        "Spring Newsletter", "Summer Promo", "Draft Announcement",
    ]  # fmt: skip
