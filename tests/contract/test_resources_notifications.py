"""Typed resources against the simulator: a calendar's event notifications and replies to
Google Business reviews."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.contract.conftest import Sim
from tests.support.stack import free_port

from ghl_bridge.cli import servers
from ghl_bridge.client import ClientOptions, GHLClient, StaticTokens
from ghl_bridge.client.errors import GHLAPIError
from ghl_bridge.client.validation import RequestValidationError
from ghl_bridge.simulator import SimConfig
from ghl_bridge.simulator import create_app as create_sim_app
from ghl_bridge.simulator.review_replies import receive_review
from ghl_bridge.simulator.timefmt import iso_ms

REMINDER = {"receiverType": "contact", "channel": "email", "notificationType": "reminder",
            "beforeTime": [{"timeOffset": 2, "unit": "hours"}], "subject": "Soon"}  # fmt: skip
FOLLOW_UP = {"receiverType": "contact", "channel": "sms", "notificationType": "followup",
             "afterTime": [{"timeOffset": 1, "unit": "days"}], "body": "How was it?"}  # fmt: skip


@dataclass
class Served:
    """A simulator on loopback plus its app, for records that arrive behind the API (reviews)."""

    sim: Sim
    app: Any

    def review(self, contact_id: str, comment: str) -> dict[str, Any]:
        simulator = self.app.state.sim
        contact = simulator.state.find_contact(contact_id)
        return dict(receive_review(simulator.state, contact, comment, 4, iso_ms(simulator.now())))


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    app = create_sim_app(SimConfig())
    port = free_port()
    server = servers.make_server(app, "127.0.0.1", port)
    task = await servers.start(server)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            url = f"http://127.0.0.1:{port}"
            seed = (await http.get(f"{url}/_sim/seed")).json()
            yield Served(Sim(url, seed, http), app)
    finally:
        await servers.stop([server], [task])


def _client(served: Served, index: int = 0) -> GHLClient:
    pit = served.sim.seed["locations"][index]["pit"]
    return GHLClient(
        tokens=StaticTokens(default=pit), options=ClientOptions(base_url=served.sim.url)
    )


async def test_calendar_notifications(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    calendar = sim.seed["locations"][0]["calendars"][0]
    made = await ghl.calendars.create_notifications(location, calendar, [REMINDER, FOLLOW_UP])
    reminder, follow_up = made["data"]
    assert (reminder["notificationType"], follow_up["afterTime"]) == (
        "reminder", [{"timeOffset": 1, "unit": "days"}],
    )  # fmt: skip
    listed = await ghl.calendars.list_notifications(location, calendar)
    assert listed["data"] == [reminder, follow_up]
    paged = await ghl.calendars.list_notifications(location, calendar, limit=1, skip=1)
    assert paged["data"] == [follow_up]
    got = await ghl.calendars.get_notification(location, calendar, reminder["_id"])
    assert got["_id"] == reminder["_id"] and got["subject"] == "Soon"
    changed = await ghl.calendars.update_notification(
        location, calendar, reminder["_id"], {"isActive": False}
    )
    assert changed["message"]
    inactive = await ghl.calendars.list_notifications(location, calendar, is_active=False)
    assert [n["_id"] for n in inactive["data"]] == [reminder["_id"]]
    assert (await ghl.calendars.delete_notification(location, calendar, follow_up["_id"]))[
        "message"
    ]
    gone = await ghl.calendars.list_notifications(location, calendar, deleted=True)
    assert [n["_id"] for n in gone["data"]] == [follow_up["_id"]]


async def test_calendar_notification_refusals(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    calendar = sim.seed["locations"][0]["calendars"][0]
    with pytest.raises(RequestValidationError):  # the spec's enum, caught before sending
        await ghl.calendars.create_notifications(location, calendar, [{**REMINDER, "channel": "x"}])
    with pytest.raises(GHLAPIError) as unknown:
        await ghl.calendars.get_notification(location, calendar, "nope")
    assert unknown.value.status == 400
    other = sim.seed["locations"][1]
    with pytest.raises(GHLAPIError) as foreign:
        await ghl.calendars.list_notifications(location, other["calendars"][0])
    assert foreign.value.status == 403


async def test_review_reply(served: Served) -> None:
    sim = served.sim
    async with _client(served) as ghl:
        contact = (await ghl.contacts.create(sim.location_id, {"firstName": "Gail"}))["contact"]
        review = served.review(contact["id"], "Quick and kind")
        answer = await ghl.conversations.review_reply(
            sim.location_id, review["conversationId"], "Thanks, Gail!"
        )
        assert answer["conversationId"] == review["conversationId"]
        got = await ghl.conversations.get_message(sim.location_id, answer["messageId"])
        assert (got["message"]["messageType"], got["message"]["body"]) == (
            "TYPE_REVIEW", "Thanks, Gail!",
        )  # fmt: skip
        with pytest.raises(GHLAPIError) as blank:  # the spec allows it; GHL's DTO does not
            await ghl.conversations.review_reply(sim.location_id, review["conversationId"], " ")
        assert blank.value.status == 422
        with pytest.raises(GHLAPIError) as unknown:
            await ghl.conversations.review_reply(sim.location_id, "nope", "Thanks")
        assert unknown.value.status == 400
    async with _client(served, index=1) as other:
        with pytest.raises(GHLAPIError) as foreign:
            await other.conversations.review_reply(
                sim.seed["locations"][1]["id"], review["conversationId"], "Not mine"
            )
        assert foreign.value.status == 403
