"""The ``subscription.deliver`` job: one attempt at one delivery, then settle or reschedule.

A webhook target gets a Standard Webhooks POST (``webhook-id`` = the delivery id, so a receiver
dedupes replays and retries of one delivery; signed with every live secret of the subscription)
through an aiohttp session whose resolver refuses private addresses, under a circuit per target
host. An action target runs its action under the grant of the key that created it. 2xx (or the
action's success) → delivered; a refused target, a template hole or an action the key may not
run → failed; anything else waits the schedule's next step (or the target's Retry-After on
429/503) and tries again, and is dead once the schedule is spent.

The job parks itself (`RetryLater`) between attempts, so a delivery is one job per generation;
the database row, not the queue, says what is due (`DeliverySweeper` re-queues what a lost
queue forgot).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import aiohttp
import structlog
from standardwebhooks import Webhook

from ghl_bridge.client.errors import CircuitOpenError
from ghl_bridge.client.resilience.circuit import CircuitBreakers
from ghl_bridge.events.routing import TemplateError, render
from ghl_bridge.events.schedule import (
    DEFAULT_SCHEDULE,
    enqueue_delivery,
    next_delay,
    parse_schedule,
    retry_after_s,
)
from ghl_bridge.events.subscriptions import SubscriptionService
from ghl_bridge.events.targets import GuardedResolver, TargetRefused, host_of, parse_target
from ghl_bridge.failures import describe
from ghl_bridge.jobs.port import Job, Queue, RetryLater
from ghl_bridge.store.audit import acting_as
from ghl_bridge.store.deliveries import DeliveryRepo
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.models import Delivery, Subscription, WebhookEvent
from ghl_bridge.store.types import utcnow

log = structlog.get_logger("ghl_bridge.outbound")

MAX_RESPONSE_READ = 64 * 1024  # read (and drop) this much of an answer, to reuse the connection
USER_AGENT = "ghl-bridge-webhooks/0.1"


class ActionRunner(Protocol):
    """Runs an action for a subscription, bounded by the creating key's scopes and lists."""

    async def run(
        self,
        tenant_id: str,
        name: str,
        location_id: str,
        data: dict[str, Any],
        *,
        idempotency_key: str,
        scopes: Sequence[str],
        actions: Sequence[str] | None,
        locations: Sequence[str] | None,
    ) -> Any: ...

    def retry_safe(self, name: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Attempt:
    ok: bool
    status: int | None
    error: str | None
    latency_ms: float
    retry_after: float | None = None
    final: bool = False  # retrying cannot help

    @property
    def host_down(self) -> bool:
        """Counts against the target's circuit: no answer, 5xx or 429 (4xx is the request)."""
        return not self.ok and not self.final and (self.status is None or self.status >= 429)


class _HostDown(Exception):
    def __init__(self, attempt: Attempt) -> None:
        super().__init__(attempt.error)
        self.attempt = attempt


def sign(secrets: Sequence[str], msg_id: str, when: datetime, body: str) -> dict[str, str]:
    """Standard Webhooks headers; one ``v1,`` signature per live secret (rotation). ``when`` is
    made UTC first: standardwebhooks replaces the zone instead of converting (deps.md)."""
    when = when.astimezone(UTC)
    signatures = " ".join(Webhook(secret).sign(msg_id, when, body) for secret in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signatures,
    }


def envelope(event: WebhookEvent, payload: dict[str, Any]) -> str:
    """The body sent: Standard Webhooks' type/timestamp/data, GHL's event as ``data``."""
    return json.dumps(
        {
            "type": event.event_type,
            "timestamp": event.received_at.astimezone(UTC).isoformat(),
            "eventId": event.id,
            "locationId": event.location_id,
            "data": payload,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


class OutboundDeliverer:
    """The job handler. ``schedule`` is the retry waits in seconds (see events.schedule)."""

    def __init__(
        self,
        deliveries: DeliveryRepo,
        subscriptions: SubscriptionService,
        inbox: InboxRepo,
        *,
        runner: ActionRunner | None = None,
        schedule: Sequence[float] = parse_schedule(DEFAULT_SCHEDULE),
        timeout_s: float = 15.0,
        circuits: CircuitBreakers | None = None,
        circuit_ttl_s: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._deliveries = deliveries
        self._subscriptions = subscriptions
        self._inbox = inbox
        self._runner = runner
        self.schedule = tuple(schedule)
        self._timeout_s = timeout_s
        self._circuit_ttl_s = circuit_ttl_s
        self._circuits = circuits or CircuitBreakers(threshold=5, ttl_s=circuit_ttl_s)
        self._clock = clock
        self._rand = rand
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"OutboundDeliverer(schedule={self.schedule!r})"

    async def __call__(self, job: Job) -> dict[str, Any]:
        delivery_id, generation = str(job.data.get("deliveryId") or ""), job.data.get("generation")
        delivery = await self._deliveries.get(delivery_id) if delivery_id else None
        if delivery is None or not isinstance(generation, int):
            return {"deliveryId": delivery_id, "status": "gone"}
        if delivery.status != "pending" or delivery.generation != generation:
            return {"deliveryId": delivery.id, "status": delivery.status, "stale": True}
        now = self._clock()
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
            raise RetryLater((delivery.next_attempt_at - now).total_seconds(), "not due yet")
        subscription = await self._subscriptions.repo.get(delivery.subscription_id)
        event = await self._inbox.get(delivery.event_id)
        if subscription is None or event is None:  # deleted meanwhile (cascade)
            return {"deliveryId": delivery.id, "status": "gone"}
        if subscription.target_kind == "webhook":
            attempt = await self._webhook(delivery, subscription, event)
        else:
            attempt = await self._action(delivery, subscription, event)
        if attempt is None:  # another worker took this attempt
            return {"deliveryId": delivery.id, "status": "pending", "stale": True}
        return await self._settle(delivery, attempt)

    async def _webhook(
        self, delivery: Delivery, sub: Subscription, event: WebhookEvent
    ) -> Attempt | None:
        circuit = f"outbound:{host_of(sub.url or '')}"
        try:
            async with self._circuits.guard(circuit):
                if not await self._deliveries.claim(
                    delivery.id, delivery.generation, delivery.attempts
                ):
                    return None
                attempt = await self._post(delivery, sub, event)
                if attempt.host_down:
                    raise _HostDown(attempt)
                return attempt
        except _HostDown as down:
            return down.attempt
        except CircuitOpenError:
            # The host failed again and again: wait for the circuit instead of spending one of
            # this delivery's attempts on a request that would not be sent.
            until = self._clock() + timedelta(seconds=self._circuit_ttl_s)
            await self._deliveries.defer(delivery.id, delivery.generation, until)
            raise RetryLater(self._circuit_ttl_s, "the target's circuit is open") from None

    async def _post(self, delivery: Delivery, sub: Subscription, event: WebhookEvent) -> Attempt:
        url, started = sub.url or "", time.monotonic()
        now = self._clock()
        try:
            parse_target(url, allow_private=self._subscriptions.allow_private)
            body = envelope(event, json.loads(event.payload))
            secrets = self._subscriptions.signing_secrets(sub, now)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "webhook-attempt": str(delivery.attempts + 1),
                **sign(secrets, delivery.id, now, body),
            }
            session = self._http()
            async with session.post(
                url, data=body.encode("utf-8"), headers=headers, allow_redirects=False
            ) as resp:
                status, wait = resp.status, resp.headers.get("Retry-After")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    await resp.content.read(MAX_RESPONSE_READ)  # the status is what counts
        except TargetRefused as exc:
            return Attempt(False, None, exc.message, _ms(started), final=True)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Attempt(False, None, _describe(exc, url), _ms(started))
        if 200 <= status < 300:
            return Attempt(True, status, None, _ms(started))
        retry_after = retry_after_s(wait, self._clock()) if status in (429, 503) else None
        return Attempt(
            False, status, f"the target answered HTTP {status}", _ms(started), retry_after
        )

    async def _action(
        self, delivery: Delivery, sub: Subscription, event: WebhookEvent
    ) -> Attempt | None:
        if not await self._deliveries.claim(delivery.id, delivery.generation, delivery.attempts):
            return None
        started = time.monotonic()
        payload = json.loads(event.payload)
        location = event.location_id or payload.get("locationId")
        if self._runner is None or not sub.action:
            return Attempt(False, None, "actions cannot run in this process", 0.0, final=True)
        if not isinstance(location, str) or not location:
            return Attempt(False, None, "the event names no location to act on", 0.0, final=True)
        if await self._subscriptions.repo.creator_revoked(sub):
            reason = "the API key that created this subscription was revoked"
            return Attempt(False, 403, reason, 0.0, final=True)
        try:
            data = render(json.loads(sub.action_input or "{}"), payload)
            with acting_as(f"subscription:{sub.id}", sub.tenant_id):
                await self._runner.run(
                    sub.tenant_id,
                    sub.action,
                    location,
                    data,
                    idempotency_key=f"{delivery.id}-g{delivery.generation}",
                    scopes=sub.scopes.split(),
                    actions=None if sub.allowed_actions is None else sub.allowed_actions.split(),
                    locations=None
                    if sub.allowed_locations is None
                    else sub.allowed_locations.split(),
                )
        except TemplateError as exc:
            return Attempt(False, 422, exc.message, _ms(started), final=True)
        except Exception as exc:
            return self._action_failure(exc, sub.action, started)
        return Attempt(True, 200, None, _ms(started))

    def _action_failure(self, exc: Exception, action: str, started: float) -> Attempt:
        failure = describe(exc)
        if failure is None:  # a bug of ours: worth the schedule's retries, and visible
            return Attempt(False, None, f"internal_error: {type(exc).__name__}", _ms(started))
        retryable = failure.code in ("rate_limited", "circuit_open", "conflict")
        if failure.code == "ghl_unavailable":  # GHL may have done it: only if safe twice
            retryable = self._runner is not None and self._runner.retry_safe(action)
        wait = failure.headers.get("Retry-After")
        return Attempt(
            False,
            failure.status,
            failure.reason(),
            _ms(started),
            retry_after=float(wait) if wait and retryable else None,
            final=not retryable,
        )

    async def _settle(self, delivery: Delivery, attempt: Attempt) -> dict[str, Any]:
        number = delivery.attempts + 1
        now = self._clock()
        delay: float | None = None
        if attempt.ok:
            status = "delivered"
        elif attempt.final:
            status = "failed"
        else:
            delay = next_delay(self.schedule, number, self._rand)
            if delay is not None and attempt.retry_after is not None:
                delay = attempt.retry_after  # the target said when; the schedule still bounds
            status = "dead" if delay is None else "pending"
        entry = {
            "at": now.isoformat(),
            "attempt": number,
            "generation": delivery.generation,
            "status": attempt.status,
            "latencyMs": round(attempt.latency_ms, 1),
            "error": attempt.error,
            "outcome": "retry" if status == "pending" else status,
        }
        await self._deliveries.record(
            delivery.id,
            delivery.generation,
            status=status,
            entry=entry,
            status_code=attempt.status,
            error=attempt.error,
            next_attempt_at=None if delay is None else now + timedelta(seconds=delay),
        )
        log.info(
            "delivery.attempted",
            delivery_id=delivery.id,
            attempt=number,
            status=attempt.status,
            outcome=entry["outcome"],
        )
        if delay is not None:
            raise RetryLater(delay, f"attempt {number} failed; next in {delay:.0f}s")
        return {"deliveryId": delivery.id, "status": status, "attempts": number}

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            resolver = GuardedResolver(allow_private=self._subscriptions.allow_private)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=resolver, limit=100, limit_per_host=10),
                timeout=aiohttp.ClientTimeout(
                    total=self._timeout_s, connect=min(5.0, self._timeout_s)
                ),
                trust_env=False,  # never through a proxy from the environment
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


def _describe(exc: BaseException, url: str) -> str:
    """The transport error, without the URL (its path or query may hold a token)."""
    text = str(exc).replace(url, host_of(url)) if url else str(exc)
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


class DeliverySweeper:
    """Re-queue pending deliveries whose attempt is overdue: their job was lost (Redis restarted
    without its data) or never queued. Job ids are per generation, so a job that still exists
    is not added twice."""

    def __init__(
        self,
        deliveries: DeliveryRepo,
        queue: Queue,
        *,
        older_than_s: float = 60.0,
        interval_s: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._deliveries = deliveries
        self._queue = queue
        self._older_than = timedelta(seconds=older_than_s)
        self._interval_s = interval_s
        self._clock = clock

    async def sweep_once(self) -> int:
        overdue = await self._deliveries.overdue(self._clock() - self._older_than)
        for delivery in overdue:
            job = await enqueue_delivery(self._queue, delivery.id, delivery.generation)
            # A job that failed for good (a worker without this handler, during an upgrade)
            # still holds its id: run it again rather than leave the delivery pending forever.
            info = await self._queue.get(job)
            replay = getattr(self._queue, "replay", None)
            if info is not None and info.state == "failed" and replay is not None:
                await replay(job)
        if overdue:
            log.info("delivery_sweeper.requeued", count=len(overdue))
        return len(overdue)

    async def run(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception as exc:  # keep sweeping; the next round retries
                log.warning("delivery_sweeper.failed", error=type(exc).__name__)
            await asyncio.sleep(self._interval_s)
