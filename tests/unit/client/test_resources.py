"""Every typed resource method names a real catalogue operation and fills it in correctly.

Table-driven over introspection: each public method of each namespace on GHLClient is invoked
against a recording pipeline, and the recorded Call is checked against the catalogue.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any

import pytest

from ghl_bridge.client import GHLClient, StaticTokens
from ghl_bridge.client.catalog import OFF_SPEC, load_catalog
from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pipeline import Call, Response
from ghl_bridge.client.resilience.retry import idempotent_by_default
from ghl_bridge.client.resources._base import Resource
from ghl_bridge.client.validation import RequestValidator

CATALOG = load_catalog()
VALIDATOR = RequestValidator(CATALOG)
PLACEHOLDER = re.compile(r"\{([^}/]+)\}")
LOCATION, COMPANY = "loc-1", "co-1"
# POSTs that are nonetheless safe to retry by design: a set union, a delete, a full-replace save.
IDEMPOTENT_POSTS = {
    "add-tags",
    "add-followers-contact",
    "add-followers-opportunity",
    "update-template",
    "bulk-delete-social-planner-posts",
}


class RecordingPipeline:
    def __init__(self) -> None:
        self.calls: list[Call] = []

    async def call(self, call: Call, options: RequestOptions | None = None) -> Response:
        self.calls.append(call)
        # Enough of a token response for OAuthResource to parse; ignored by every other method.
        body = {"access_token": "a", "expires_in": 60, "authorizationCode": "code"}
        return Response(200, body, {}, "req-1")


def _client() -> tuple[GHLClient, RecordingPipeline]:
    client = GHLClient(tokens=StaticTokens(default="t"))
    recorder = RecordingPipeline()
    for namespace in _namespaces(client).values():
        for resource in [namespace, *_children(namespace)]:
            resource._pipeline = recorder  # type: ignore[assignment]
            resource._validator = None  # the recorded Call is checked below instead
    return client, recorder


def _namespaces(client: GHLClient) -> dict[str, Resource]:
    return {name: value for name, value in vars(client).items() if isinstance(value, Resource)}


def _children(resource: Resource) -> list[Resource]:
    return [v for v in vars(resource).values() if isinstance(v, Resource)]


def _methods() -> list[tuple[str, str]]:
    client, _ = _client()
    found = []
    for name, namespace in _namespaces(client).items():
        if name.startswith("_"):
            continue
        for owner, resource in [(name, namespace)] + [
            (f"{name}.{child}", value)
            for child, value in vars(namespace).items()
            if isinstance(value, Resource)
        ]:
            for method, _ in inspect.getmembers(type(resource), inspect.isfunction):
                if not method.startswith("_"):
                    found.append((owner, method))
    return found


def _argument(name: str) -> Any:
    if name == "company_id":
        return COMPANY
    if name in ("location_id", "resource_id"):
        return LOCATION
    if name.endswith("_ms"):
        return 1_700_000_000_000
    if name in ("data", "body", "query"):
        return {}
    if name.endswith("_ids") or name == "tags":
        return ["a", "b"]
    if name == "status":
        return "won"
    return f"{name}-value"


def _resolve(client: GHLClient, owner: str) -> Any:
    target: Any = client
    for part in owner.split("."):
        target = getattr(target, part)
    return target


async def _invoke(client: GHLClient, owner: str, method: str) -> None:
    bound = getattr(_resolve(client, owner), method)
    params = inspect.signature(bound).parameters.values()
    required = [p for p in params if p.default is inspect.Parameter.empty]
    args = [_argument(p.name) for p in required if p.kind is p.POSITIONAL_OR_KEYWORD]
    kwargs = {p.name: _argument(p.name) for p in required if p.kind is p.KEYWORD_ONLY}
    result = bound(*args, **kwargs)
    if inspect.isawaitable(result):
        await result
    else:  # an iterator: one page is enough to see the call
        async for _ in result:
            break


@pytest.mark.parametrize(("owner", "method"), _methods())
async def test_method_names_a_catalogue_operation_correctly(owner: str, method: str) -> None:
    client, recorder = _client()
    await _invoke(client, owner, method)
    assert len(recorder.calls) == 1, "a resource method performs exactly one call per page"
    call = recorder.calls[0]
    off_spec = call.operation in OFF_SPEC  # declared by us: GHL's documents omit it
    assert call.operation in CATALOG or off_spec, f"{call.operation} is not a catalogue operation"
    op = CATALOG.operation(call.operation)
    assert set(call.path_params) == set(PLACEHOLDER.findall(op.path))
    assert all(str(v) for v in call.path_params.values())
    required_query = {p.name for p in op.parameters if p.location == "query" and p.required}
    given = {k for k, v in (call.query or {}).items() if v is not None}
    assert required_query <= given, f"missing required query {required_query - given}"
    problems = VALIDATOR.problems(call.operation, path_params=call.path_params, query=call.query)
    assert [p for p in problems if not p.where.startswith("body")] == []
    # The token and reconnect endpoints act for no resource: they are how a resource gets a token.
    unauthenticated = ("get-access-token", "oauth-reconnect")
    assert call.resource_id in (LOCATION, COMPANY) or call.operation in unauthenticated
    if op.request_schema is None:
        assert call.json is None, f"{op.method} {op.path} takes no body"
    by_default = idempotent_by_default(op.method, op.path)  # the pipeline's own rule
    if op.method == "POST" and by_default:
        assert call.idempotent is None, "read-like POSTs are the pipeline's call, not ours"
    elif op.method == "POST" and call.operation in IDEMPOTENT_POSTS:
        assert call.idempotent is True
    elif op.method == "POST" and owner != "oauth":  # oauth.py decides per grant, with reasons
        assert call.idempotent is None, "creates and sends retry only with an idempotency key"


def test_every_namespace_is_a_plural_noun_with_methods() -> None:
    client, _ = _client()
    namespaces = _namespaces(client)
    assert {"contacts", "opportunities", "calendars", "conversations", "users"} <= set(namespaces)
    nouns = [name for name in namespaces if not name.startswith("_") and name != "oauth"]
    assert all(name.endswith("s") for name in nouns)
    assert len(_methods()) > 100


def test_namespaces_share_one_pipeline_and_validator() -> None:
    client = GHLClient(tokens=StaticTokens(default="t"))
    resources: list[Mapping[str, Any]] = [vars(r) for r in _namespaces(client).values()]
    assert {id(v["_pipeline"]) for v in resources} == {id(client.pipeline)}
    assert len({id(v["_validator"]) for v in resources}) == 1
