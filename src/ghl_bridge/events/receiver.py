"""The webhook receiver: raw bytes → checks → durable inbox → enqueue an id → 200.

No GHL calls and no business logic here: GHL gives up on slow endpoints, and it redelivers
*only* on 429, so the one thing this path must never do is lose an event it answered 2xx for.
Hence: store first, answer 200 only once the row is committed, and answer 429 if it could not be.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from ghl_bridge.errors import WebhookRejected
from ghl_bridge.events.verify import WebhookKeys, check_freshness, verify_signature
from ghl_bridge.jobs.names import WEBHOOK_PROCESS_JOB
from ghl_bridge.jobs.port import Queue
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.inbox import InboxRepo

log = structlog.get_logger("ghl_bridge.webhooks")

MAX_BODY_BYTES = 1024 * 1024  # GHL events are a few KB; anything near this is not GHL
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """CIDRs from a comma-separated setting; a bad entry fails start-up, not a request."""
    return tuple(ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip())


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]
) -> str | None:
    """The delivering client's address, seen through our own proxies only.

    ``X-Forwarded-For`` is read right to left while the hop is one of our trusted proxies; the
    first untrusted address is the client. A header from an untrusted peer is ignored, so a
    caller cannot forge its way past the allowlist.
    """
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _within(address: str | None, networks: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in net for net in networks)


@dataclass(frozen=True, slots=True)
class Accepted:
    event_id: str
    duplicate: bool


class WebhookReceiver:
    def __init__(
        self,
        keys: WebhookKeys,
        inbox: InboxRepo,
        connections: ConnectionRepo,
        queue: Queue,
        *,
        allowlist: Sequence[IPNetwork] = (),
        trusted_proxies: Sequence[IPNetwork] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._inbox = inbox
        self._connections = connections
        self._queue = queue
        self._allowlist = tuple(allowlist)
        self.trusted_proxies = tuple(trusted_proxies)
        self._clock = clock

    async def receive(
        self,
        raw: bytes,
        headers: Mapping[str, str],
        *,
        client_ip: str | None,
        path_location: str | None = None,
    ) -> Accepted:
        """Accept one delivery or raise WebhookRejected with the status to answer."""
        self._check_ip(client_ip)
        scheme = verify_signature(raw, headers, self._keys)
        body = _parse(raw)
        check_freshness(body, self._clock())
        webhook_id = body.get("webhookId")
        if not isinstance(webhook_id, str) or not webhook_id or len(webhook_id) > 200:
            raise WebhookRejected(400, "missing_webhook_id")
        location_id = _opt_str(body.get("locationId"))
        if path_location and location_id and path_location != location_id:
            raise WebhookRejected(400, "location_mismatch")
        location_id = location_id or path_location
        company_id = _opt_str(body.get("companyId"))
        return await self._store(webhook_id, body, raw, scheme, location_id, company_id)

    async def _store(
        self,
        webhook_id: str,
        body: Mapping[str, Any],
        raw: bytes,
        scheme: str,
        location_id: str | None,
        company_id: str | None,
    ) -> Accepted:
        try:
            owner = await self._connections.owner_of(location_id or company_id or "")
            event_id, created = await self._inbox.record(
                webhook_id=webhook_id,
                event_type=str(body.get("type") or "unknown"),
                location_id=location_id,
                company_id=company_id,
                tenant_id=owner,
                payload=raw.decode("utf-8"),
                signature_scheme=scheme,
                received_at=datetime.fromtimestamp(self._clock(), UTC),
            )
        except Exception as exc:
            # 429 is the only status GHL redelivers on: the event comes back later.
            log.error("webhook.store_failed", webhook_id=webhook_id, error=type(exc).__name__)
            raise WebhookRejected(429, "store_unavailable") from exc
        if created:
            await self._enqueue(event_id)
        log.info(
            "webhook.accepted", event_id=event_id, webhook_id=webhook_id, duplicate=not created
        )
        return Accepted(event_id, duplicate=not created)

    async def _enqueue(self, event_id: str) -> None:
        try:
            await self._queue.enqueue(
                WEBHOOK_PROCESS_JOB, {"eventId": event_id}, job_id=f"wh-{event_id}"
            )
        except Exception as exc:  # the row is durable; the sweeper re-enqueues pending events
            log.warning("webhook.enqueue_failed", event_id=event_id, error=type(exc).__name__)

    def _check_ip(self, client_ip: str | None) -> None:
        if self._allowlist and not _within(client_ip, self._allowlist):
            raise WebhookRejected(403, "ip_not_allowed")


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected(400, "invalid_json") from None
    if not isinstance(body, dict):
        raise WebhookRejected(400, "invalid_json")
    return body


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
