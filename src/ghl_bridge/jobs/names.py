"""Queue and job names: data shared with producers outside this codebase.

`ACTIONS_QUEUE` is a public contract (DESIGN §3): a Node.js workflow engine adds jobs named
`action` with data `{"tenant", "locationId", "action", "input", "idempotencyKey"}` through its
own BullMQ client, and reads the action's output as the job's return value. Renaming anything
here breaks those producers.
"""

from __future__ import annotations

from typing import Final

ACTIONS_QUEUE: Final = "ghl-bridge-actions"
ACTION_JOB: Final = "action"
ACTION_DATA_KEYS: Final = ("tenant", "locationId", "action", "input", "idempotencyKey")

EVENTS_QUEUE: Final = "ghl-bridge-events"
WEBHOOK_PROCESS_JOB: Final = "webhook.process"
WEBHOOK_PROCESS_DATA_KEYS: Final = ("eventId",)

# Attempts one outbound delivery (a subscription's webhook POST or action run). On the actions
# queue: it is outbound I/O like an action, and a slow subscriber must not hold up the events
# queue, where inbound webhooks wait to be processed.
OUTBOUND_DELIVERY_JOB: Final = "subscription.deliver"
OUTBOUND_DELIVERY_DATA_KEYS: Final = ("deliveryId", "generation")
