"""GHLClient.call: catalogue-driven calls, resource inference, content types, refusals."""

from __future__ import annotations

from typing import Any

import pytest

from ghl_bridge.client import (
    GHLClient,
    GHLError,
    RequestValidationError,
    StaticTokens,
    UnknownOperationError,
)
from ghl_bridge.client.catalog import load_catalog
from ghl_bridge.client.generic import infer_resource_id
from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pipeline import Call, Response
from ghl_bridge.client.resilience.retry import idempotent_by_default


class RecordingPipeline:
    def __init__(self) -> None:
        self.calls: list[Call] = []

    async def call(self, call: Call, options: RequestOptions | None = None) -> Response:
        self.calls.append(call)
        return Response(200, {"ok": True}, {}, "req-1")


@pytest.fixture
def recorded() -> tuple[GHLClient, RecordingPipeline]:
    client = GHLClient(tokens=StaticTokens(default="t"))
    recorder = RecordingPipeline()
    client._generic._pipeline = recorder  # type: ignore[assignment]
    return client, recorder


@pytest.mark.parametrize(
    ("path", "query", "body", "expected"),
    [
        ({"locationId": "L1"}, {"companyId": "C1"}, None, "L1"),  # path wins
        (None, {"companyId": "C1"}, {"locationId": "L2"}, "C1"),  # then query
        (None, {"location_id": "L3"}, None, "L3"),  # GET /opportunities/search is snake_case
        (None, None, {"locationId": "L2", "companyId": "C2"}, "L2"),  # location before company
        ({"contactId": "x"}, None, ["not", "a", "mapping"], None),
        (None, {"locationId": ""}, None, None),
    ],
)
def test_resource_inference(path: Any, query: Any, body: Any, expected: str | None) -> None:
    assert infer_resource_id(path, query, body) == expected


async def test_call_infers_the_resource_and_takes_the_route_from_the_catalogue(
    recorded: tuple[GHLClient, RecordingPipeline],
) -> None:
    client, recorder = recorded
    result = await client.call(
        "get-calendars", query={"locationId": "L1"}, options=RequestOptions(timeout_s=1)
    )
    assert result == {"ok": True}
    (call,) = recorder.calls
    assert (call.operation, call.resource_id, call.query) == (
        "get-calendars",
        "L1",
        {"locationId": "L1"},
    )


async def test_explicit_resource_id_wins(recorded: tuple[GHLClient, RecordingPipeline]) -> None:
    client, recorder = recorded
    await client.call("get-calendars", resource_id="R", query={"locationId": "L1"})
    assert recorder.calls[0].resource_id == "R"


async def test_form_encoded_operations_send_a_form_without_a_token(
    recorded: tuple[GHLClient, RecordingPipeline],
) -> None:
    client, recorder = recorded
    body = {
        "client_id": "c",
        "client_secret": "s",
        "grant_type": "refresh_token",
        "refresh_token": "r",
        "user_type": "Location",
    }
    await client.call("get-access-token", body=body)
    (call,) = recorder.calls
    assert call.form == body and call.json is None
    assert call.authenticated is False


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("search-contacts-advanced", True),
        ("upsert-contact", True),
        ("get-posts", True),  # POST .../posts/list
        ("get-contact", True),
        ("update-contact", True),
        ("create-contact", False),
        ("send-a-new-message", False),
        ("add-contact-to-workflow", False),
    ],
)
def test_the_pipeline_retries_read_like_posts_but_not_creates(
    operation: str, expected: bool
) -> None:
    op = load_catalog().operation(operation)
    assert idempotent_by_default(op.method, op.path) is expected


async def test_unknown_operation_lists_close_matches(
    recorded: tuple[GHLClient, RecordingPipeline],
) -> None:
    client, recorder = recorded
    with pytest.raises(UnknownOperationError) as info:
        await client.call("get-contcat")
    assert "get-contact" in info.value.suggestions
    assert "did you mean" in str(info.value)
    assert recorder.calls == []


async def test_multipart_operations_are_refused_clearly(
    recorded: tuple[GHLClient, RecordingPipeline],
) -> None:
    client, recorder = recorded
    with pytest.raises(GHLError, match="multipart/form-data"):
        await client.call("upload-file-attachments", body={"conversationId": "c"})
    assert recorder.calls == []


async def test_invalid_requests_never_reach_the_pipeline(
    recorded: tuple[GHLClient, RecordingPipeline],
) -> None:
    client, recorder = recorded
    with pytest.raises(RequestValidationError) as info:
        await client.call("add-tags", path_params={"contactId": "c"}, body={"tags": "vip"})
    assert [p.where for p in info.value.problems] == ["body.tags"]
    assert recorder.calls == []
