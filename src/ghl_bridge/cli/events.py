"""`ghl-bridge events list|replay` and `ghl-bridge dlq list|replay`: the webhook inbox and its
dead letters, for operators (every tenant's events; ``--tenant`` narrows to one).

A replay resets the event to ``pending`` and queues it (events/replay.py says what that means
for each state); the running worker picks it up, from the database queue or from Redis alike.
Exit codes: 0 done, 1 nothing to act on (no such event or tenant), 2 bad arguments.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from ghl_bridge.runtime import Runtime
    from ghl_bridge.store.models import WebhookEvent

T = TypeVar("T")
STATUSES = ("pending", "processed", "failed", "dead")
REPLAY_ALL_BATCH = 200

events_app = typer.Typer(no_args_is_help=True, help="Webhook events received from GHL.")
dlq_app = typer.Typer(no_args_is_help=True, help="Dead letters: events whose attempts ran out.")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class _Stop(Exception):
    """Ends a command with a message and an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@asynccontextmanager
async def _runtime() -> AsyncIterator[Runtime]:
    """The service's parts without workers: the queue a replay adds to is the configured one."""
    from ghl_bridge.cli.main import load_settings  # cli.main imports this module
    from ghl_bridge.runtime import Runtime

    runtime = await Runtime.start(load_settings(), with_worker=False)
    try:
        yield runtime
    finally:
        await runtime.close()


def _run(work: Callable[[Runtime], Awaitable[T]]) -> T:
    from ghl_bridge import logs

    logs.configure(level="WARNING", cache=False)  # stdout is for the listing (or its JSON)

    async def main() -> T:
        async with _runtime() as runtime:
            return await work(runtime)

    try:
        return asyncio.run(main())
    except _Stop as stop:
        err.print(f"[red]{escape(str(stop))}[/red]", highlight=False)
        raise typer.Exit(stop.code) from None


async def _tenant_id(runtime: Runtime, name: str | None) -> str | None:
    if name is None:
        return None
    tenant = await runtime.tenants.get_by_name(name)
    if tenant is None:
        raise _Stop(f"no tenant named {name!r}", 1)
    return tenant.id


def _row(e: WebhookEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "webhookId": e.webhook_id,
        "type": e.event_type,
        "tenantId": e.tenant_id,
        "locationId": e.location_id,
        "status": e.status,
        "receivedAt": e.received_at.isoformat(),
        "processedAt": e.processed_at.isoformat() if e.processed_at else None,
        "attempts": e.retry_count,
        "lastError": e.last_error,
        "deadAt": e.dead_at.isoformat() if e.dead_at else None,
        "replays": e.replays,
    }


def _print(rows: list[dict[str, Any]], as_json: bool, *, dead: bool = False) -> None:
    if as_json:
        out.print_json(json.dumps(rows))
        return
    when = "deadAt" if dead else "receivedAt"
    table = Table("id", "type", "location", "status", "attempts", "last error", when)
    for r in rows:
        table.add_row(
            r["id"],
            r["type"],
            r["locationId"] or "",
            r["status"],
            str(r["attempts"]),
            escape((r["lastError"] or "")[:80]),
            r[when] or "",
        )
    out.print(table)


TenantOpt = Annotated[str | None, typer.Option("--tenant", help="Only this tenant (its name).")]
JsonOpt = Annotated[bool, typer.Option("--json")]


@events_app.command("list")
def events_list(
    status: Annotated[
        str | None, typer.Option("--status", help="pending, processed, failed or dead.")
    ] = None,
    tenant: TenantOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List webhook events, newest first."""
    if status is not None and status not in STATUSES:
        err.print(f"[red]--status must be one of {', '.join(STATUSES)}[/red]")
        raise typer.Exit(2)

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        tenant_id = await _tenant_id(runtime, tenant)
        rows = await runtime.inbox.list(status=status, limit=limit, tenant_id=tenant_id)
        return [_row(e) for e in rows]

    _print(_run(work), as_json)


async def _replay_one(runtime: Runtime, event_id: str) -> dict[str, Any]:
    from ghl_bridge.events.replay import EventReplayer

    done = await EventReplayer(runtime.inbox, runtime.events_queue).replay(event_id, tenant_id=None)
    if done is None:
        raise _Stop(f"no event {event_id!r}", 1)
    return {**_row(done.event), "queued": done.queued}


def _report_replays(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(rows))
        return
    for r in rows:
        note = "queued" if r["queued"] else "already pending (nothing more queued)"
        out.print(f"event {r['id']} ({r['type']}) replayed: {note}", highlight=False)


def _check_id(event_id: str) -> str:
    event_id = event_id.strip()
    if not event_id.startswith("evt_") or not 4 < len(event_id) <= 64:
        err.print(f"[red]not an event id: {escape(event_id[:80])!r} (evt_…)[/red]")
        raise typer.Exit(2)
    return event_id


@events_app.command("replay")
def events_replay(
    event_id: Annotated[str, typer.Argument(help="The event's id (evt_…).")],
    as_json: JsonOpt = False,
) -> None:
    """Run an event through processing again (reset to pending and queued)."""
    checked = _check_id(event_id)

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        return [await _replay_one(runtime, checked)]

    _report_replays(_run(work), as_json)


@dlq_app.command("list")
def dlq_list(
    tenant: TenantOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List dead events, most recently dead first, with attempts and last error."""

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        tenant_id = await _tenant_id(runtime, tenant)
        page = await runtime.inbox.dead_page(tenant_id=tenant_id, limit=limit)
        return [_row(e) for e in page.events]

    _print(_run(work), as_json, dead=True)


@dlq_app.command("replay")
def dlq_replay(
    event_id: Annotated[str | None, typer.Argument(help="The event's id (evt_…).")] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Every dead event.")] = False,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replay one dead event, or with --all every dead one (of --tenant, if given)."""
    if (event_id is None) == (not replay_all):
        err.print("[red]give an event id or --all (not both)[/red]")
        raise typer.Exit(2)
    if event_id is not None and tenant is not None:
        err.print("[red]--tenant goes with --all[/red]")
        raise typer.Exit(2)
    checked = None if event_id is None else _check_id(event_id)

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        if checked is not None:
            return [await _replay_one(runtime, checked)]
        tenant_id = await _tenant_id(runtime, tenant)
        # The dead list as it is now: an event that dies again meanwhile is not replayed twice.
        ids: list[str] = []
        cursor: str | None = None
        while True:
            page = await runtime.inbox.dead_page(
                tenant_id=tenant_id, limit=REPLAY_ALL_BATCH, cursor=cursor
            )
            ids += [e.id for e in page.events]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return [await _replay_one(runtime, event_id) for event_id in ids]

    rows = _run(work)
    _report_replays(rows, as_json)
    if not as_json and replay_all:
        out.print(f"{len(rows)} dead event(s) replayed", highlight=False)
