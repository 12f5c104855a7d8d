"""Processing stored webhook events (the ``webhook.process`` job): route by type, mark the row.

At-least-once: a job may run twice (redelivery, a crashed worker), so handlers are idempotent
and an already-processed event is a no-op.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import structlog

from ghl_bridge.jobs.port import Job, PermanentFailure
from ghl_bridge.store.audit import NO_AUDIT, WEBHOOK, ConnectionAudit, acting_as
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.models import Connection, WebhookEvent

log = structlog.get_logger("ghl_bridge.events")

EventHandler = Callable[[WebhookEvent, dict[str, Any]], Awaitable[None]]


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
    ) -> None:
        self._inbox = inbox
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

    async def __call__(self, job: Job) -> dict[str, Any]:
        event_id = str(job.data.get("eventId") or "")
        event = await self._inbox.get(event_id) if event_id else None
        if event is None:
            raise PermanentFailure(f"no webhook event {event_id!r}")
        if event.status == "processed":
            return {"eventId": event.id, "status": "processed", "repeat": True}
        handler = self._routes.get(event.event_type)
        try:
            if handler is not None:
                with acting_as(WEBHOOK, event.tenant_id):  # what a handler does, GHL asked for
                    await handler(event, json.loads(event.payload))
        except Exception as exc:
            await self._inbox.mark_failed(event.id, f"{type(exc).__name__}: {exc}")
            raise
        await self._inbox.mark_processed(event.id)
        log.info(
            "webhook.processed",
            event_id=event.id,
            type=event.event_type,
            routed=handler is not None,
        )
        return {"eventId": event.id, "status": "processed", "type": event.event_type}

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
