"""Processing stored webhook events (the ``webhook.process`` job): route by type, mark the row.

At-least-once: a job may run twice (redelivery, a crashed worker), so handlers are idempotent
and an already-processed event is a no-op.

Jobs that run at the same time share their database work: loading the event and marking it
processed each go through a `Batcher`, one query for every job that asked while the previous
one ran. One event at a time cost a round trip per step (and, on SQLite, a hop to the driver's
thread per cursor call), which capped the embedded worker at ~130 events/s; batched, the
worker's concurrency turns into throughput (docs/benchmarks.md, bench.webhook_ingest).

Retries are the queue's (the job's `RetryPolicy`: attempts and exponential backoff); this side
records each failed attempt on the event (its count and last error) and, when the job says the
attempt was its last (`Job.is_last_attempt`) or retrying cannot help (`PermanentFailure`, a
payload that is not JSON), dead-letters the event: status ``dead``, listed by
``GET /v1/dead-letters`` and ``ghl-bridge dlq list`` until replayed (events/replay.py). A
handler's `RetryLater` (e.g. GHL's Retry-After) is no failure and is not counted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import structlog

from ghl_bridge.batching import Batcher
from ghl_bridge.jobs.port import Job, JobDone, PermanentFailure, RetryLater, describe_failure
from ghl_bridge.store.audit import NO_AUDIT, WEBHOOK, ConnectionAudit, acting_as
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.errors import NotFound
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.models import Connection, WebhookEvent

log = structlog.get_logger("ghl_bridge.events")

EventHandler = Callable[[WebhookEvent, dict[str, Any]], Awaitable[None]]
# Called for every event after its type's handler: tenant subscriptions (routing rules, outbound
# webhooks, action triggers) plug in here. Must be idempotent, like handlers.
EventSink = Callable[[WebhookEvent, dict[str, Any]], Awaitable[None]]


@runtime_checkable
class BatchSink(Protocol):
    """A sink that can also route many events in one call (the routing sink: one look-up of
    the tenants' subscriptions for all). Per event, None or the error its routing raised,
    event by event as ``__call__`` would. It runs outside any event's `acting_as`, so it must
    not call GHL itself (routing records deliveries and queues jobs; those run later)."""

    async def __call__(self, event: WebhookEvent, body: dict[str, Any]) -> None: ...

    async def route_many(
        self, events: Sequence[tuple[WebhookEvent, dict[str, Any]]]
    ) -> list[Exception | None]: ...


def _event_id(job: Job) -> str:
    return str(job.data.get("eventId") or "")


def _body(event: WebhookEvent) -> dict[str, Any]:
    """The stored payload as JSON; one that is not a JSON object can never be processed."""
    try:
        body = json.loads(event.payload)
    except ValueError as exc:
        raise PermanentFailure(f"the stored payload is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise PermanentFailure("the stored payload is not a JSON object")
    return body


class ConnectionKeeper(Protocol):
    """What lifecycle events ask of the token provider (`ConnectionTokens`)."""

    async def adopt_location(self, tenant_id: str, location_id: str) -> bool: ...

    async def revoke(self, resource_id: str) -> Connection | None: ...


class EventProcessor:
    def __init__(
        self,
        inbox: InboxRepo,
        connections: ConnectionRepo,
        routes: Mapping[str, EventHandler] | None = None,
        *,
        audit: ConnectionAudit = NO_AUDIT,
        adopter: ConnectionKeeper | None = None,
        sinks: Sequence[EventSink] = (),
        loads: InboxRepo | None = None,
    ) -> None:
        self._inbox = inbox
        self._reads = loads or inbox  # where events are loaded from (SQLite: a reader)
        self._sinks = tuple(sinks)
        # Events of a type with no handler of its own go through the sinks a batch at a time
        # when every sink can take one (`_route_batch`).
        self._sinks_batch = all(isinstance(sink, BatchSink) for sink in self._sinks)
        self._audit = audit
        self._connections = connections
        self._adopter = adopter
        self._routes: dict[str, EventHandler] = {
            "UNINSTALL": self._on_uninstall,
            "INSTALL": self._on_install,
            "LocationCreate": self._on_location_create,
            "PLAN_CHANGE": self._on_plan_change,
        }
        self._routes.update(routes or {})
        self._loads: Batcher[str, WebhookEvent | None] = Batcher(self._load, name="event-loads")
        self._marks: Batcher[str, None] = Batcher(self._mark, name="event-marks")

    async def _load(self, event_ids: Sequence[str]) -> list[WebhookEvent | None]:
        found = await self._reads.get_many(event_ids)
        return [found.get(event_id) for event_id in event_ids]

    async def _mark(self, event_ids: Sequence[str]) -> list[BaseException | None]:
        marked = await self._inbox.mark_processed_many(event_ids)
        return [None if i in marked else NotFound("webhook event", i) for i in event_ids]

    async def __call__(self, job: Job) -> dict[str, Any]:
        event_id = _event_id(job)
        return await self._process(job, await self._loads.submit(event_id) if event_id else None)

    async def run_batch(self, jobs: Sequence[Job], done: JobDone | None = None) -> list[Any]:
        """The in-process worker's claimed batch: one query loads every event, then each is
        processed as `__call__` would, and reported ``done`` as it ends: a slow one (an
        INSTALL waiting on GHL) holds back no other job's completion.

        Events whose type has no handler of its own (all but the lifecycle events) are routed
        together when the sinks allow (`BatchSink`): one subscription look-up, one mark, no
        task or future per event (~10 % of the embedded mode's time went to those). The
        rest, one task each, share their look-ups and marks through the batchers."""
        found = await self._reads.get_many([i for i in map(_event_id, jobs) if i])
        results: list[Any] = [None] * len(jobs)

        def report(index: int, result: Any) -> None:
            results[index] = result
            if done is not None:
                done(index, result)

        together: list[tuple[int, Job, WebhookEvent]] = []
        alone: list[tuple[int, Job, WebhookEvent | None]] = []
        for index, job in enumerate(jobs):
            event = found.get(_event_id(job))
            if (
                self._sinks_batch
                and event is not None
                and event.status != "processed"
                and event.event_type not in self._routes
            ):
                together.append((index, job, event))
            else:
                alone.append((index, job, event))

        async def one(index: int, job: Job, event: WebhookEvent | None) -> None:
            try:
                result: Any = await self._process(job, event)
            except Exception as exc:
                result = exc
            report(index, result)

        await asyncio.gather(self._route_batch(together, report), *(one(*a) for a in alone))
        return results

    async def _route_batch(
        self, items: Sequence[tuple[int, Job, WebhookEvent]], report: JobDone
    ) -> None:
        """`_process` for events with no handler of their own, all at once: the sinks'
        `route_many`, then one mark for those routed; a failure is its event's alone."""
        routed: list[tuple[int, Job, WebhookEvent, dict[str, Any]]] = []
        for index, job, event in items:
            try:
                routed.append((index, job, event, _body(event)))
            except PermanentFailure as exc:
                report(index, await self._failed(event, job, exc))
        errors = await self._through_sinks([(event, body) for _, _, event, body in routed])
        ok: list[tuple[int, WebhookEvent]] = []
        for (index, job, event, _), error in zip(routed, errors, strict=True):
            if error is None:
                ok.append((index, event))
            else:
                report(index, await self._failed(event, job, error))
        if ok:
            await self._mark_routed(ok, report)

    async def _through_sinks(
        self, events: list[tuple[WebhookEvent, dict[str, Any]]]
    ) -> list[Exception | None]:
        """Each event through every sink in turn (`BatchSink.route_many`), as far as it gets:
        per event, None or the first error."""
        errors: list[Exception | None] = [None] * len(events)
        for sink in self._sinks:
            live = [n for n, error in enumerate(errors) if error is None]
            if not live:
                break
            batch_sink: Any = sink  # every sink is a BatchSink (`_sinks_batch`)
            try:
                got = await batch_sink.route_many([events[n] for n in live])
                if len(got) != len(live):
                    raise RuntimeError(f"route_many gave {len(got)} outcomes for {len(live)}")
            except Exception as exc:
                got = [exc] * len(live)
            for n, error in zip(live, got, strict=True):
                errors[n] = error
        return errors

    async def _mark_routed(self, ok: list[tuple[int, WebhookEvent]], report: JobDone) -> None:
        try:
            missing = await self._mark([event.id for _, event in ok])
        except Exception as exc:
            missing = [exc] * len(ok)
        for (index, event), error in zip(ok, missing, strict=True):
            if error is not None:
                report(index, error)
                continue
            log.debug("webhook.processed", event_id=event.id, type=event.event_type, routed=False)
            report(index, {"eventId": event.id, "status": "processed", "type": event.event_type})

    async def _failed(self, event: WebhookEvent, job: Job, exc: Exception) -> Exception:
        """What a failed event's job reports: its error, once recorded on the event (a
        `RetryLater` is no failure and is not recorded), or the error recording it raised."""
        if isinstance(exc, RetryLater):
            return exc
        try:
            await self._record_failure(event, job, exc)
        except Exception as recording:
            return recording
        return exc

    async def _process(self, job: Job, event: WebhookEvent | None) -> dict[str, Any]:
        if event is None:
            raise PermanentFailure(f"no webhook event {_event_id(job)!r}")
        if event.status == "processed":
            return {"eventId": event.id, "status": "processed", "repeat": True}
        handler = self._routes.get(event.event_type)
        try:
            body = _body(event)
            with acting_as(WEBHOOK, event.tenant_id):  # what a handler does, GHL asked for
                if handler is not None:
                    await handler(event, body)
                for sink in self._sinks:
                    await sink(event, body)
        except RetryLater:
            raise  # being told to wait is not a failure: the queue parks the job uncounted
        except Exception as exc:
            await self._record_failure(event, job, exc)
            raise
        await self._marks.submit(event.id)
        log.debug(  # the inbox row records it; a line per event is noise at ~1,000/s
            "webhook.processed",
            event_id=event.id,
            type=event.event_type,
            routed=handler is not None,
        )
        return {"eventId": event.id, "status": "processed", "type": event.event_type}

    def add_route(self, event_type: str, handler: EventHandler) -> None:
        """Handle ``event_type`` with ``handler`` (replacing any), for wiring done after
        construction. Like every handler it must be idempotent."""
        self._routes[event_type] = handler

    async def _record_failure(self, event: WebhookEvent, job: Job, exc: Exception) -> None:
        dead = isinstance(exc, PermanentFailure) or job.is_last_attempt
        await self._inbox.record_failure(event.id, describe_failure(exc), dead=dead)
        log.warning(
            "webhook.dead_lettered" if dead else "webhook.attempt_failed",
            event_id=event.id,
            type=event.event_type,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            error=type(exc).__name__,
        )

    async def _on_install(self, event: WebhookEvent, body: dict[str, Any]) -> None:
        """A sub-account install under an agency we hold: connect it now, not on first use; and
        keep the install's plan (paid apps)."""
        if body.get("installType") == "Location" or body.get("locationId"):
            await self._adopt(body.get("companyId"), body.get("locationId"))
        if isinstance(body.get("planId"), str):
            await self._on_plan_change(event, {**body, "newPlanId": body["planId"]})

    async def _on_plan_change(self, event: WebhookEvent, body: dict[str, Any]) -> None:
        """The customer moved to another plan of the app: remember it on the connection."""
        resource, plan = body.get("locationId") or body.get("companyId"), body.get("newPlanId")
        conn = await self._connections.get_by_resource(str(resource)) if resource else None
        if conn is not None and isinstance(plan, str) and plan and conn.plan_id != plan:
            await self._connections.set_plan(conn.id, plan)
            log.info("connection.plan_changed", connection=conn.id, plan=plan)

    async def _on_location_create(self, event: WebhookEvent, body: dict[str, Any]) -> None:
        """An agency that installed to future locations created one: connect it now."""
        await self._adopt(body.get("companyId"), body.get("id"))

    async def _adopt(self, company_id: Any, location_id: Any) -> None:
        """Idempotent: a location already connected (by anyone) is left alone."""
        if self._adopter is None or not isinstance(location_id, str) or not location_id:
            return
        if not isinstance(company_id, str) or not company_id:
            return
        company = await self._connections.get_by_resource(company_id)
        if company is None or company.user_type != "Company" or company.status != "active":
            return  # not an agency install of ours
        if await self._connections.owner_of(location_id) is not None:
            return
        if await self._adopter.adopt_location(company.tenant_id, location_id):
            log.info("connection.adopted", location=location_id, company=company_id)

    async def _on_uninstall(self, event: WebhookEvent, body: dict[str, Any]) -> None:
        """The app was removed: the stored tokens are dead. Stop using them and forget them
        (idempotent)."""
        resource = body.get("locationId") or body.get("companyId")
        if resource and self._adopter is not None:
            conn = await self._adopter.revoke(str(resource))
            if conn is not None:
                log.info("connection.revoked", connection=conn.id, reason="UNINSTALL")
            return
        conn = await self._connections.get_by_resource(str(resource)) if resource else None
        if conn is not None and conn.status != "revoked":
            await self._connections.set_status(conn.id, "revoked")
            log.info("connection.revoked", connection=conn.id, reason="UNINSTALL")
            self._audit.connection_changed(
                tenant_id=conn.tenant_id,
                resource_id=conn.resource_id,
                change="revoked",
                status="revoked",
            )
