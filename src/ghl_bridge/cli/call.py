"""``ghl-bridge call ACTION``: run one action from the command line, as a workflow would.

Input is JSON: inline, ``@path`` to read a file, or ``-`` for standard input. The output is the
action's output as JSON on stdout; a failure prints its stable code and message on stderr and
exits 1 (2 for input that never reached the service: unreadable or not JSON). The CLI runs as
the operator: every action kind is allowed, the tenant's ownership of the location still holds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from ghl_bridge.cli.admin import _runtime
from ghl_bridge.config import Settings
from ghl_bridge.failures import describe

MAX_INPUT_BYTES = 1_000_000


class BadInput(ValueError):
    """The --input could not be read or parsed; nothing was run."""


def read_input(raw: str) -> Any:
    if raw == "-":
        text = sys.stdin.read(MAX_INPUT_BYTES + 1)
    elif raw.startswith("@"):
        path = Path(raw[1:])
        try:
            with path.open(encoding="utf-8") as handle:
                text = handle.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise BadInput(f"cannot read {path}: {exc.strerror}") from None
    else:
        text = raw
    if len(text) > MAX_INPUT_BYTES:
        raise BadInput(f"the input is larger than {MAX_INPUT_BYTES} bytes")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"the input is not JSON: {exc.msg} at line {exc.lineno}") from None


async def call_action(
    settings: Settings,
    *,
    tenant_name: str,
    action: str,
    location_id: str,
    data: Any,
    idempotency_key: str | None,
    dry_run: bool,
    out: Console,
    err: Console,
) -> int:
    async with _runtime(settings) as runtime:
        tenant = await runtime.tenants.get_by_name(tenant_name)
        if tenant is None:
            err.print(f"not_found: no tenant named {tenant_name!r}", markup=False)
            return 1
        try:
            output = await runtime.actions.run(
                tenant.id,
                action,
                location_id,
                data,
                idempotency_key=idempotency_key,
                dry_run=dry_run,
            )
        except Exception as exc:
            failure = describe(exc)
            if failure is None:
                raise
            err.print(failure.reason(), markup=False, highlight=False)
            if failure.details:
                err.print(json.dumps(failure.details, default=str), markup=False)
            return 1
        out.print_json(json.dumps(output))
    return 0
