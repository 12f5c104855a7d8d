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
from functools import cache
from typing import Any

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Counter

from ghl_bridge.errors import WebhookRejected
from ghl_bridge.events.verify import SignatureChecker, WebhookKeys, check_freshness
from ghl_bridge.jobs.inprocess import InProcessQueue
from ghl_bridge.jobs.names import WEBHOOK_PROCESS_JOB
from ghl_bridge.jobs.payload import encode_payload
from ghl_bridge.jobs.port import DEFAULT_RETRY, Queue
from ghl_bridge.store.inbox_writer import (
    InboxEntry,
    InboxSaturated,
    InboxWriter,
    UnknownResource,
    job_values,
)
from ghl_bridge.store.jobs import record_of

log = structlog.get_logger("ghl_bridge.webhooks")

MAX_BODY_BYTES = 1024 * 1024  # GHL events are a few KB; anything near this is not GHL
MAX_ID_CHARS = 64  # the width of the inbox's location and company columns
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


class WebhookMetrics:
    """Deliveries by outcome: ``accepted``, ``duplicate``, or the rejection's reason code."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.received = Counter(
            "ghl_webhooks_received",
            "GHL webhook deliveries by outcome (accepted, duplicate or the rejection reason)",
            ["outcome"],
            registry=registry,
        )
        self._children: dict[str, Any] = {}

    def count(self, outcome: str) -> None:
        child = self._children.get(outcome)
        if child is None:  # labels() locks and validates; the outcome set is small and fixed
            child = self._children[outcome] = self.received.labels(outcome)
        child.inc()


@cache
def webhook_metrics(registry: CollectorRegistry = REGISTRY) -> WebhookMetrics:
    """One metric set per registry (several runtimes in one process share the global one)."""
    return WebhookMetrics(registry)


class WebhookReceiver:
    """Checks a delivery, then hands it to the `InboxWriter` (group commit) and enqueues it.

    With the in-process queue the job row is written in the inbox batch's own transaction, so
    a stored event is always queued; with BullMQ it is enqueued after the commit, and the
    sweeper re-enqueues any event whose enqueue failed.
    """

    def __init__(
        self,
        keys: WebhookKeys,
        writer: InboxWriter,
        queue: Queue,
        *,
        allowlist: Sequence[IPNetwork] = (),
        trusted_proxies: Sequence[IPNetwork] = (),
        clock: Callable[[], float] = time.time,
        metrics: WebhookMetrics | None = None,
    ) -> None:
        self.signatures = SignatureChecker(keys)
        self.writer = writer
        self._queue = queue
        self._allowlist = tuple(allowlist)
        self.trusted_proxies = tuple(trusted_proxies)
        self._clock = clock
        self._metrics = metrics or webhook_metrics()
        self._enqueue_after_commit = not isinstance(queue, InProcessQueue)
        if isinstance(queue, InProcessQueue):
            rows = _JobRows(queue)
            writer.in_same_transaction(rows.rows, rows.committed)

    async def receive(
        self,
        raw: bytes,
        headers: Mapping[str, str],
        *,
        client_ip: str | None,
        path_location: str | None = None,
    ) -> Accepted:
        """Accept one delivery or raise WebhookRejected with the status to answer."""
        try:
            accepted = await self._receive(raw, headers, client_ip, path_location)
        except WebhookRejected as exc:
            self._metrics.count(exc.reason)
            raise
        self._metrics.count("duplicate" if accepted.duplicate else "accepted")
        return accepted

    async def _receive(
        self,
        raw: bytes,
        headers: Mapping[str, str],
        client_ip: str | None,
        path_location: str | None,
    ) -> Accepted:
        self._check_ip(client_ip)
        scheme = await self.signatures.check(raw, headers)
        body = _parse(raw)
        check_freshness(body, self._clock())
        webhook_id = body.get("webhookId")
        if not isinstance(webhook_id, str) or not webhook_id or len(webhook_id) > 128:
            raise WebhookRejected(400, "missing_webhook_id")
        location_id = _opt_str(body.get("locationId"))
        if path_location and location_id and path_location != location_id:
            raise WebhookRejected(400, "location_mismatch")
        location_id = location_id or path_location
        company_id = _opt_str(body.get("companyId"))
        if len(location_id or "") > MAX_ID_CHARS or len(company_id or "") > MAX_ID_CHARS:
            raise WebhookRejected(400, "invalid_location_id")  # no connection has such an id
        entry = InboxEntry(
            webhook_id=webhook_id,
            event_type=str(body.get("type") or "unknown")[:128],
            location_id=location_id,
            company_id=company_id,
            payload=raw.decode("utf-8"),
            signature_scheme=scheme,
            received_at=datetime.fromtimestamp(self._clock(), UTC),
        )
        return await self._store(entry)

    async def _store(self, entry: InboxEntry) -> Accepted:
        try:
            stored = await self.writer.submit(entry)
        except UnknownResource:
            # GHL-signed, but no tenant holds this location (or company): nobody could ever
            # see the event, so we keep none of its data. Not 429: a retry would not help.
            log.info("webhook.unknown_location", location=entry.location_id or entry.company_id)
            raise WebhookRejected(404, "unknown_location") from None
        except InboxSaturated:
            log.warning("webhook.inbox_saturated", webhook_id=entry.webhook_id)
            raise WebhookRejected(429, "store_busy") from None
        except Exception as exc:
            # 429 is the only status GHL redelivers on: the event comes back later.
            log.error("webhook.store_failed", webhook_id=entry.webhook_id, error=type(exc).__name__)
            raise WebhookRejected(429, "store_unavailable") from exc
        if stored.created and self._enqueue_after_commit:
            await self._enqueue(stored.event_id)
        return Accepted(stored.event_id, duplicate=not stored.created)

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


class _JobRows:
    """The in-process queue's ``webhook.process`` jobs, written with the batch's inbox rows:
    the rows `InProcessQueue.enqueue` would write (id ``wh-<eventId>``, the job's retry policy).

    While this process runs the queue's worker and it has room, the rows are written already
    leased to it and handed to it once committed (`InProcessWorker.adopt`): the inbox's
    transaction is the claim, so an event goes from commit to handler without a claim
    transaction on the one SQLite writer. Rows past its room are written waiting and claimed
    as usual; a crash leaves leased rows to expire and be claimed again, as any claimed job.
    """

    def __init__(self, queue: InProcessQueue) -> None:
        self._queue = queue

    def rows(self, event_ids: Sequence[str]) -> list[dict[str, Any]]:
        queue = self._queue
        now = queue.clock()
        attempts, backoff_s = queue.policies.get(WEBHOOK_PROCESS_JOB, DEFAULT_RETRY).resolve(
            None, None
        )
        worker = queue.local_worker
        room = worker.room() if worker is not None else 0
        until = worker.lease_until() if worker is not None and room else None
        return [
            job_values(
                queue.name,
                WEBHOOK_PROCESS_JOB,
                encode_payload({"eventId": event_id}),
                f"wh-{event_id}",
                now,
                max_attempts=attempts,
                backoff_s=backoff_s,
                leased_until=until if n < room else None,
            )
            for n, event_id in enumerate(event_ids)
        ]

    def committed(self, rows: list[dict[str, Any]]) -> None:
        leased = [row for row in rows if row["locked_until"] is not None]
        worker = self._queue.local_worker
        if leased and (worker is None or not worker.adopt([record_of(r) for r in leased])):
            # Leased to a worker that stopped meanwhile: they wait for their lease to expire.
            log.info("webhook.jobs_left_to_lease_expiry", jobs=len(leased))
        if len(leased) < len(rows):
            # Only rows written waiting need a claim: on SQLite an idle claim is a write
            # transaction, and one per batch took a quarter of the writer's time.
            self._queue.notify_workers()


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
