"""Every paging style the simulator serves, walked to the end: no gaps, no overlaps."""

from __future__ import annotations

from tests.contract.conftest import Sim

from ghl_bridge.client import GHLClient
from ghl_bridge.client.pagination import PageNumber, paginate


async def _contacts(ghl: GHLClient, location: str, count: int) -> list[str]:
    return [
        (await ghl.contacts.create(location, {"firstName": f"W{n}", "email": f"w{n}@walk.co"}))[
            "contact"
        ]["id"]
        for n in range(count)
    ]


async def test_contacts_page_numbers_and_search_after_agree(ghl: GHLClient, sim: Sim) -> None:
    await _contacts(ghl, sim.location_id, 17)
    total = (await ghl.contacts.search(sim.location_id, {"pageLimit": 1}))["total"]
    by_cursor = [c["id"] async for c in ghl.contacts.iter_search(sim.location_id, page_limit=4)]
    by_page = [
        c["id"]
        async for c in paginate(
            lambda body: ghl.contacts.search(sim.location_id, body),
            PageNumber("contacts", 4, limit_param="pageLimit"),
        )
    ]
    assert len(by_cursor) == len(set(by_cursor)) == total
    assert by_page == by_cursor  # same default order, so the same sequence
    some = [c async for c in ghl.contacts.iter_search(sim.location_id, page_limit=4, max_items=6)]
    assert len(some) == 6


async def _opportunities(ghl: GHLClient, location: str, count: int) -> set[str]:
    pipelines = (await ghl.pipelines.list(location))["pipelines"]
    contacts = await _contacts(ghl, location, count)
    made = set()
    for n, contact_id in enumerate(contacts):
        pipeline = pipelines[n % len(pipelines)]
        created = await ghl.opportunities.create(
            location,
            {
                "pipelineId": pipeline["id"],
                "name": f"Deal {n}",
                "status": "open",
                "contactId": contact_id,
            },
        )
        made.add(created["opportunity"]["id"])
    return made


async def test_opportunities_sort_cursor_and_meta_cursor_walks(ghl: GHLClient, sim: Sim) -> None:
    made = await _opportunities(ghl, sim.location_id, 12)
    by_sort = [o["id"] async for o in ghl.opportunities.iter_search(sim.location_id, limit=5)]
    by_meta = [o["id"] async for o in ghl.opportunities.iter_list(sim.location_id, limit=5)]
    assert len(by_sort) == len(set(by_sort)) and made <= set(by_sort)
    assert len(by_meta) == len(set(by_meta)) and set(by_meta) == set(by_sort)


async def test_conversation_messages_and_search_walks(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    contacts = await _contacts(ghl, location, 5)
    conversation_id = ""
    for n in range(7):
        sent = await ghl.conversations.send(
            location, {"type": "SMS", "contactId": contacts[0], "message": f"m{n}"}
        )
        conversation_id = sent["conversationId"]
    for contact_id in contacts[1:]:
        await ghl.conversations.send(
            location, {"type": "SMS", "contactId": contact_id, "message": "hi"}
        )
    messages = [
        m["id"] async for m in ghl.conversations.iter_messages(location, conversation_id, limit=3)
    ]
    assert len(messages) == len(set(messages)) == 7
    conversations = [c["id"] async for c in ghl.conversations.iter_search(location, limit=2)]
    assert len(conversations) == len(set(conversations)) == 5
