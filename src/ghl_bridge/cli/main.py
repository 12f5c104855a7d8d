"""``ghl-bridge``: serve, worker, sim, demo, db, tenants, connections, actions.

Settings are read here, once, from the environment (GHL_BRIDGE_*), and passed down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from ghl_bridge import logs
from ghl_bridge.cli.events import dlq_app, events_app
from ghl_bridge.cli.keys import keys_app
from ghl_bridge.config import ConfigError, Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
tenants_app = typer.Typer(no_args_is_help=True, help="Tenants and their API keys.")
connections_app = typer.Typer(no_args_is_help=True, help="GHL connections.")
actions_app = typer.Typer(no_args_is_help=True, help="The action catalogue.")
app.add_typer(db_app, name="db")
app.add_typer(tenants_app, name="tenants")
app.add_typer(connections_app, name="connections")
app.add_typer(actions_app, name="actions")
app.add_typer(keys_app, name="keys")
app.add_typer(events_app, name="events")
app.add_typer(dlq_app, name="dlq")
out = Console()
err = Console(stderr=True)


def load_settings() -> Settings:
    """Read GHL_BRIDGE_* once; a bad value exits with the variable's name, not a traceback."""
    try:
        return Settings()
    except (ValidationError, ConfigError) as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="API only; run `worker` apart.")
    ] = False,
) -> None:
    """Run the REST API and webhook receiver (and, unless --no-worker, the workers)."""
    import uvicorn

    from ghl_bridge.api import create_app

    settings = load_settings()
    logs.configure(json=settings.env == "prod")
    from ghl_bridge.cli.servers import AccessLog

    app = create_app(settings, with_worker=not no_worker, freeze_heap=True)
    # Access lines come from AccessLog, in the service's format (none per accepted delivery).
    config = uvicorn.Config(
        AccessLog(app), host=host, port=port, log_level="info", access_log=False
    )
    with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run does
        uvicorn.Server(config).run()


@app.command()
def worker() -> None:
    """Run the event and action workers (and the inbox sweeper) without the API."""
    from ghl_bridge.runtime import Runtime

    settings = load_settings()
    logs.configure(json=settings.env == "prod")

    async def main() -> None:
        from ghl_bridge.api.app import freeze_startup_heap
        from ghl_bridge.cli.servers import install_stop_handler

        runtime = await Runtime.start(settings, with_worker=True)
        freeze_startup_heap()
        stop = asyncio.Event()
        install_stop_handler(stop)
        err.print(f"worker running ({settings.queue_kind} queue); Ctrl-C stops it")
        try:
            await stop.wait()
        finally:
            await runtime.close()

    asyncio.run(main())


@app.command()
def sim(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8700,
    seed: Annotated[int, typer.Option(help="Seed for the deterministic fake data.")] = 1,
    rate_limit: Annotated[str, typer.Option(help="Burst limit, e.g. 100/10s.")] = "100/10s",
    locations: Annotated[int, typer.Option(min=2, max=1000, help="Seeded locations.")] = 2,
    refresh_grace: Annotated[
        float,
        typer.Option(min=0, help="Seconds a used refresh token still works (GHL: 30)."),
    ] = 30.0,
) -> None:
    """Run the bundled GHL simulator (GET /_sim/seed shows its app, locations and tokens)."""
    from ghl_bridge.simulator import parse_rate_limit
    from ghl_bridge.simulator import serve as serve_sim

    try:
        parse_rate_limit(rate_limit)
    except ValueError as exc:
        err.print(f"[red]--rate-limit:[/red] {exc}")
        raise typer.Exit(2) from None
    serve_sim(
        host=host,
        port=port,
        seed=seed,
        rate_limit=rate_limit,
        locations=locations,
        refresh_grace_s=refresh_grace,
    )


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    sim_port: Annotated[int, typer.Option(min=1, max=65535)] = 8700,
) -> None:
    """Simulator + service on embedded defaults, a demo tenant and connection, and curl to try."""
    from ghl_bridge.cli.demo import run_demo

    logs.configure(level="WARNING")
    settings = load_settings()
    sys.exit(asyncio.run(run_demo(settings, host=host, port=port, sim_port=sim_port)))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to GHL_BRIDGE_DATABASE_URL (safe to run twice)."""
    from ghl_bridge.store.migrate import upgrade

    settings = load_settings()
    asyncio.run(upgrade(settings.database_url))
    out.print("database is up to date")


@tenants_app.command("create")
def tenants_create(name: Annotated[str, typer.Argument(help="A unique tenant name.")]) -> None:
    """Create a tenant and print its API key (shown once; only a hash is stored)."""
    from ghl_bridge.cli.admin import create_tenant

    if not name.strip() or len(name) > 200:
        err.print("[red]the tenant name must be 1-200 characters[/red]")
        raise typer.Exit(2)
    code = asyncio.run(create_tenant(load_settings(), name.strip(), out, err))
    raise typer.Exit(code)


@tenants_app.command("list")
def tenants_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List tenants (never their keys)."""
    from ghl_bridge.cli.admin import list_tenants

    rows = asyncio.run(list_tenants(load_settings()))
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("id", "name", "created")
    for row in rows:
        table.add_row(row["id"], row["name"], row["createdAt"])
    out.print(table)


@tenants_app.command("key-create")
def tenants_key_create(
    name: Annotated[str, typer.Argument(help="The tenant's name.")],
    scope: Annotated[
        list[str],
        typer.Option(
            help="read, write, admin, destructive or outbound; repeat for several (at least one)."
        ),
    ],
    action: Annotated[
        list[str] | None,
        typer.Option(help="Only this action (or area, contacts.*); repeat for several."),
    ] = None,
    location: Annotated[
        list[str] | None, typer.Option(help="Only this location; repeat for several.")
    ] = None,
) -> None:
    """Issue a tenant another API key with these scopes and print it (shown once)."""
    from ghl_bridge.cli.admin import create_key

    code = asyncio.run(
        create_key(
            load_settings(), name.strip(), scope, out, err, actions=action, locations=location
        )
    )
    raise typer.Exit(code)


@tenants_app.command("key-revoke")
def tenants_key_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (key_…), not the key.")],
) -> None:
    """Revoke an API key; it stops working at once."""
    from ghl_bridge.cli.admin import revoke_key

    raise typer.Exit(asyncio.run(revoke_key(load_settings(), key_id.strip(), out, err)))


@connections_app.command("list")
def connections_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List connections with their status (never their tokens)."""
    from ghl_bridge.cli.admin import list_connections

    rows = asyncio.run(list_connections(load_settings()))
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("id", "tenant", "type", "resource", "status", "expires")
    for row in rows:
        table.add_row(
            row["id"],
            row["tenantId"],
            row["userType"],
            row["resourceId"],
            row["status"],
            row["expiresAt"],
        )
    out.print(table)


@connections_app.command("authorize")
def connections_authorize(
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant's name.")],
) -> None:
    """Print the GHL URL that connects a location (or agency) to the tenant."""
    from ghl_bridge.cli.admin import authorize_url

    raise typer.Exit(asyncio.run(authorize_url(load_settings(), tenant, out, err)))


@connections_app.command("add-private")
def connections_add_private(
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant's name.")],
    location: Annotated[str, typer.Option("--location", help="The sub-account (location) id.")],
) -> None:
    """Connect a sub-account with its Private Integration Token, read from standard input (so
    it stays out of shell history and process lists); run again with a new token to rotate."""
    from ghl_bridge.cli.admin import connect_private

    token = sys.stdin.readline().strip()
    if not token:
        err.print("[red]pipe the private integration token on standard input[/red]")
        raise typer.Exit(2)
    code = asyncio.run(connect_private(load_settings(), tenant, location, token, out, err))
    raise typer.Exit(code)


@connections_app.command("refresh")
def connections_refresh(
    resource: Annotated[str, typer.Argument(help="The location or company id.")],
) -> None:
    """Rotate a connection's tokens now (the refresh runs under the cross-process lock)."""
    from ghl_bridge.cli.admin import refresh_connection

    raise typer.Exit(asyncio.run(refresh_connection(load_settings(), resource, out, err)))


@connections_app.command("revoke")
def connections_revoke(
    resource: Annotated[str, typer.Argument(help="The location or company id.")],
) -> None:
    """Stop using a connection; calls for it then fail asking for re-authorization."""
    from ghl_bridge.cli.admin import revoke_connection

    raise typer.Exit(asyncio.run(revoke_connection(load_settings(), resource, out, err)))


@app.command("call")
def call(
    action: Annotated[str, typer.Argument(help="The action's name, e.g. contacts.create.")],
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant's name.")],
    location: Annotated[str, typer.Option("--location", help="The location (sub-account) id.")],
    input_json: Annotated[
        str, typer.Option("--input", help="JSON, @file, or - for standard input.")
    ] = "{}",
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Run at most once per key.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate; print the GHL request, send nothing.")
    ] = False,
) -> None:
    """Run an action for a tenant's location and print its output as JSON."""
    from ghl_bridge.cli.call import BadInput, call_action, read_input

    logs.configure(level="WARNING", cache=False)
    try:
        data = read_input(input_json)
    except BadInput as exc:
        err.print(f"validation_error: {exc}", markup=False)
        raise typer.Exit(2) from None
    code = asyncio.run(
        call_action(
            load_settings(),
            tenant_name=tenant,
            action=action,
            location_id=location,
            data=data,
            idempotency_key=idempotency_key,
            dry_run=dry_run,
            out=out,
            err=err,
        )
    )
    raise typer.Exit(code)


@actions_app.command("list")
def actions_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the actions this service can run."""
    from ghl_bridge.actions import default_registry

    actions = default_registry().all()
    if as_json:
        out.print_json(json.dumps([a.describe() for a in actions]))
        return
    table = Table("action", "kind", "summary")
    for action in actions:
        table.add_row(action.name, action.kind.value, action.summary)
    out.print(table)
