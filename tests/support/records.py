"""Rows tests build again and again, in one place."""

from __future__ import annotations

import json
from datetime import datetime

from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.models import Subscription, new_id


def action_subscription(
    tenant_id: str, name: str = "all", *, event_types: str = '["*"]', active: bool = True
) -> Subscription:
    """A tenant's subscription that runs ``contacts.get`` for every matching event."""
    return Subscription(
        id=new_id("sub_"),
        tenant_id=tenant_id,
        name=name,
        event_types=event_types,
        predicates="[]",
        target_kind="action",
        action="contacts.get",
        action_input="{}",
        scopes="read write",
        active=active,
    )


async def contact_event(
    inbox: InboxRepo, webhook_id: str, *, tenant_id: str | None, received_at: datetime
) -> str:
    """Store a ``ContactCreate`` delivery of ``loc1`` for the tenant; its event id."""
    event_id, _ = await inbox.record(
        webhook_id,
        event_type="ContactCreate",
        location_id="loc1",
        company_id=None,
        tenant_id=tenant_id,
        payload=json.dumps({"type": "ContactCreate"}),
        signature_scheme="ed25519",
        received_at=received_at,
    )
    return event_id
