"""Rows tests build again and again, in one place."""

from __future__ import annotations

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
