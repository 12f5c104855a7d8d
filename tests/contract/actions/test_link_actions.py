"""Trigger link actions against the simulator: CRUD, the retry-safe create, and refusals."""

from __future__ import annotations

from tests.contract.actions.conftest import Acts


async def test_list_and_filter(acts: Acts) -> None:
    every = await acts.run("links.list", {})
    assert {"Book a consult", "Spring promo"} <= {link["name"] for link in every["items"]}
    assert all(link["fieldKey"].startswith("{{trigger_link.") for link in every["items"])
    promo = await acts.run("links.list", {"query": "PROMO"})
    assert [link["name"] for link in promo["items"]] == ["Spring promo"]
    assert await acts.invalid("links.list", {"search": "x"}) == ["search"]


async def test_create_is_retry_safe(acts: Acts) -> None:
    link = {"name": "Webinar", "redirectTo": "https://example.com/webinar"}
    made = await acts.run("links.create", link)
    assert made["created"] is True and made["link"]["redirectTo"] == link["redirectTo"]
    again = await acts.run("links.create", {**link, "name": "webinar"})
    assert again == {**made, "created": False}
    other = await acts.run("links.create", {**link, "redirectTo": "https://example.com/w2"})
    assert other["created"] is True and other["link"]["id"] != made["link"]["id"]
    listed = await acts.run("links.list", {"query": "webinar"})
    assert listed["count"] == 2
    # A dry run reads the links to decide, and shows the create it would send, unsent.
    dry = await acts.run("links.create", {**link, "name": "Dry"}, dry_run=True)
    assert dry["request"]["body"]["name"] == "Dry", dry
    assert (await acts.run("links.list", {"query": "dry"}))["count"] == 0
    found = await acts.run("links.create", link, dry_run=True)
    assert found["request"] is None
    assert await acts.invalid("links.create", {"name": "No target"}) == ["redirectTo"]
    assert await acts.invalid("links.create", {"name": "", "redirectTo": "https://e.x"}) == ["name"]


async def test_update_keeps_what_is_not_given_then_delete(acts: Acts) -> None:
    made = await acts.run("links.create", {"name": "Old", "redirectTo": "https://example.com/o"})
    link_id = made["link"]["id"]
    renamed = await acts.run("links.update", {"linkId": link_id, "name": "New"})
    assert renamed["link"] == {**made["link"], "name": "New"}
    moved = await acts.run(
        "links.update", {"linkId": link_id, "redirectTo": "https://example.com/n"}
    )
    assert (moved["link"]["name"], moved["link"]["redirectTo"]) == ("New", "https://example.com/n")
    assert await acts.invalid("links.update", {"linkId": link_id}) == ["(root)"]
    missing = await acts.refused("links.update", {"linkId": "nolink00000000000001", "name": "X"})
    assert missing.code == "not_found"
    gone = await acts.run("links.delete", {"linkId": link_id})
    assert gone == {"id": link_id, "deleted": True}
    assert link_id not in {link["id"] for link in (await acts.run("links.list", {}))["items"]}
    again = await acts.refused("links.delete", {"linkId": link_id})
    assert again.code == "not_found"
