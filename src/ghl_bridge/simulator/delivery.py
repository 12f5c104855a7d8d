"""What happens to an outbound message after it is accepted: delivery and scheduled release.

A sent message is `pending`, then `delivered` after `SimConfig.message_delivery_delay_s` (real
time) with an OutboundMessage event, like a carrier's delivery receipt. A message sent with a
future `scheduledTimestamp` is `scheduled` until that instant on the simulator's clock. The
clock may be a test's fake one that no timer follows, so a due message is released lazily:
every read of it (get, thread listing, export, cancel) first turns it `pending` and queues its
delivery, exactly as if the scheduler had fired on time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ghl_bridge.simulator.context import Simulator
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["event_view", "queue_delivery", "release_due"]

Record = dict[str, Any]
_EVENT = (
    "attachments", "body", "contactId", "contentType", "conversationId", "dateAdded",
    "direction", "messageType", "status", "userId", "source", "conversationProviderId",
)  # fmt: skip


def event_view(message: Record) -> Record:
    """The InboundMessage / OutboundMessage webhook fields (webhook-events.json)."""
    fields = {key: message[key] for key in _EVENT if message.get(key) is not None}
    return {**fields, "messageId": message["id"]}


def _deliver(sim: Simulator, message_id: str) -> None:
    message = sim.state.store("messages").get(message_id)
    if message is None or message["status"] != "pending":
        return
    message.update(status="delivered", dateUpdated=iso_ms(sim.now()))
    sim.webhooks.emit("OutboundMessage", message["locationId"], event_view(message))


def queue_delivery(sim: Simulator, message_id: str) -> None:
    """Turn the `pending` message `delivered` after the configured delay (unless it changed)."""
    sim.webhooks.later(sim.config.message_delivery_delay_s, lambda: _deliver(sim, message_id))


def release_due(sim: Simulator, messages: Iterable[Record]) -> None:
    """Send every scheduled message whose time has come (see the module docstring)."""
    now = sim.now()
    for message in messages:
        if message.get("status") == "scheduled" and message.get("scheduledAt", now) <= now:
            message.update(status="pending", dateUpdated=iso_ms(message["scheduledAt"]))
            queue_delivery(sim, message["id"])
