"""Schemathesis over the REST API's own OpenAPI document: every documented operation, fuzzed with
valid and invalid requests (and with the API key left out), must answer with no 5xx, and with a
status code, content type, headers and body that the document declares.

The document is the one the app serves at /openapi.json (building it needs no runtime). The calls
go over HTTP to the stack the other API tests use, run on loopback in a thread of its own.
Schemathesis's ASGI transport is not used: it runs the app on an event loop of its own and ends
the app's lifespan after every operation, while the runtime's database engine and worker are bound
to the loop they start on. (``schemathesis.pytest.from_fixture`` would load the document from the
live stack, but it breaks on pytest 9: it sets ``Node._nodeid``, which pytest 9 no longer has.)

Bounded: 25 examples per operation and no deadline; the whole module takes about 10 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.support.stack import running_stack

from ghl_bridge.api import create_app
from ghl_bridge.config import Settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True)
class Live:
    url: str
    api_key: str
    location_id: str
    actions: tuple[str, ...]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One connected tenant on a running stack, shared by every operation's test."""
    data_dir: Path = tmp_path_factory.mktemp("schemathesis")
    database_url = f"sqlite+aiosqlite:///{data_dir / 'ghl-bridge.db'}"
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(running_stack(database_url, data_dir)) as stack,
    ):
        api_key = portal.call(stack.connected_tenant, "schemathesis")
        actions = tuple(a.name for a in stack.runtime.actions.registry.all())
        yield Live(stack.api_url, api_key, stack.location_id, actions)


# The document the app serves at /openapi.json; building it needs no runtime.
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


def _aim_at_real_things(case: schemathesis.Case, location_id: str, action: str) -> None:
    """Point a generated ``locationId`` at the connected sub-account and an action ``name`` at a
    real action, so success paths run too (random ids only ever find nothing)."""
    if isinstance(case.query, dict) and "locationId" in case.query:
        case.query["locationId"] = location_id
    if isinstance(case.body, dict) and isinstance(case.body.get("locationId"), str):
        case.body["locationId"] = location_id
    if isinstance(case.path_parameters, dict) and "name" in case.path_parameters:
        case.path_parameters["name"] = action


@schema.parametrize()
@schema.given(data=st.data())
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_openapi_document(
    case: schemathesis.Case, data: st.DataObject, live: Live
) -> None:
    if data.draw(st.booleans(), label="real location and action"):
        _aim_at_real_things(case, live.location_id, data.draw(st.sampled_from(live.actions)))
    case.call_and_validate(
        base_url=live.url,
        headers={"Authorization": f"Bearer {live.api_key}"},
        checks=CHECKS,
        timeout=15,
    )
