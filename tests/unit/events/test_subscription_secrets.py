"""Signing secrets: sealed, bound to their subscription, expired ones dropped, never shown."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ghl_bridge.events.schedule import enqueue_delivery
from ghl_bridge.events.subscriptions import SubscriptionService, new_secret, seal_context
from ghl_bridge.store.models import Subscription
from ghl_bridge.vault import KeyRing, Vault, VaultError

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _service(vault: Vault) -> SubscriptionService:
    return SubscriptionService(None, None, vault, None)  # type: ignore[arg-type]


def _row(vault: Vault, entries: list[dict[str, Any]], sub_id: str = "sub_1") -> Subscription:
    sealed = vault.seal(json.dumps(entries), context=seal_context(sub_id))
    return Subscription(id=sub_id, url="https://hooks.example.com/t/TOKEN", secrets_sealed=sealed)


def test_live_secrets_current_first_expired_dropped() -> None:
    vault = Vault(KeyRing.parse(KeyRing.generate("k1")))
    current, grace, gone = new_secret(), new_secret(), new_secret()
    row = _row(
        vault,
        [
            {"secret": current, "expiresAt": None},
            {"secret": grace, "expiresAt": (NOW + timedelta(hours=1)).isoformat()},
            {"secret": gone, "expiresAt": (NOW - timedelta(seconds=1)).isoformat()},
        ],
    )
    assert _service(vault).signing_secrets(row, NOW) == [current, grace]


def test_sealed_secrets_do_not_move_between_subscriptions() -> None:
    vault = Vault(KeyRing.parse(KeyRing.generate("k1")))
    row = _row(vault, [{"secret": new_secret(), "expiresAt": None}])
    row.id = "sub_2"  # someone copied the sealed column onto another row
    with pytest.raises(VaultError):
        _service(vault).signing_secrets(row, NOW)


def test_reprs_hold_no_secret_or_url() -> None:
    vault = Vault(KeyRing.parse(KeyRing.generate("k1")))
    secret = new_secret()
    row = _row(vault, [{"secret": secret, "expiresAt": None}])
    for text in (repr(row), repr(_service(vault))):
        assert secret not in text and "TOKEN" not in text and row.secrets_sealed not in text


async def test_delivery_jobs_carry_ids_only() -> None:
    sent: dict[str, Any] = {}

    class Queue:
        async def enqueue(self, name: str, data: dict[str, Any], **options: Any) -> str:
            sent.update(name=name, data=data, **options)
            return "j"

    await enqueue_delivery(Queue(), "dlv_1", 3)  # type: ignore[arg-type]
    assert sent["data"] == {"deliveryId": "dlv_1", "generation": 3}
    assert sent["job_id"] == "dlv_1-g3"
