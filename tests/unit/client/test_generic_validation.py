"""RequestValidator: the checks made before anything is sent, and the documented relaxations."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ghl_bridge.client import RequestValidationError
from ghl_bridge.client.catalog import Catalog, load_catalog
from ghl_bridge.client.validation import RELAXATIONS, RequestValidator

CATALOG = load_catalog()
VALIDATOR = RequestValidator(CATALOG)


def _where(op: str, **request: Any) -> list[str]:
    return [p.where for p in VALIDATOR.problems(op, **request)]


def test_missing_and_empty_path_params_are_refused() -> None:
    assert _where("get-contact") == ["path.contactId"]
    # An empty id would silently turn GET /contacts/{id} into GET /contacts/.
    assert _where("get-contact", path_params={"contactId": ""}) == ["path.contactId"]
    assert _where("get-contact", path_params={"contactId": "c1", "extra": "x"}) == ["path.extra"]


def test_path_params_come_from_the_template_even_when_the_spec_forgets_them() -> None:
    assert not [p for p in CATALOG.operation("get-message").parameters if p.location == "path"]
    assert _where("get-message") == ["path.id"]


def test_query_params_required_and_typed_as_they_travel() -> None:
    assert _where("get-campaigns") == ["query.locationId"]
    assert _where("get-contacts", query={"locationId": "l", "limit": "abc"}) == ["query.limit"]
    # Numbers and numeric strings both reach the wire as the same text.
    assert _where("get-contacts", query={"locationId": "l", "limit": 20}) == []
    assert _where("get-contacts", query={"locationId": "l", "limit": "20"}) == []
    enum = {"originId": "o", "type": "fax"}
    assert _where("GET-all-or-email-sms-templates", path_params={"locationId": "l"}, query=enum)


def test_wrong_body_types_are_listed_with_their_paths() -> None:
    with pytest.raises(RequestValidationError) as info:
        VALIDATOR.check(
            "create-contact",
            body={"locationId": "l", "tags": "vip", "customFields": [{"id": 3}]},
        )
    wheres = [p.where for p in info.value.problems]
    assert wheres == ["body.customFields[0].id", "body.tags"]
    assert "create-contact" in str(info.value) and "body.tags" in str(info.value)


def test_every_problem_is_reported_at_once() -> None:
    wheres = _where("send-a-new-message", body={"type": "Fax", "message": 3})
    assert wheres == ["body", "body.message", "body.type"]  # contactId missing, wrong type, enum


def test_a_missing_body_counts_as_empty() -> None:
    assert _where("add-tags", path_params={"contactId": "c"}) == ["body"]


def test_unknown_fields_are_refused_only_where_the_schema_is_closed() -> None:
    closed = {
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "additionalProperties": False,
    }
    catalog = _tiny_catalog({"t.Closed": closed})
    problems = RequestValidator(catalog).problems("make-thing", body={"name": "a", "nope": 1})
    assert [p.where for p in problems] == ["body"]
    assert "nope" in problems[0].message
    # GHL's own specs declare no closed schemas: extra fields are left for GHL to judge.
    assert _where("create-contact", body={"locationId": "l", "notInSpec": 1}) == []


@pytest.mark.parametrize("relaxation", RELAXATIONS, ids=lambda r: r.schema)
def test_relaxations_are_sourced_and_name_required_fields(relaxation: Any) -> None:
    assert relaxation.reason and relaxation.source
    assert relaxation.optional or relaxation.loose
    schema = CATALOG.schemas[relaxation.schema]
    assert set(relaxation.optional) <= set(schema["required"])
    assert set(relaxation.loose) <= set(schema["properties"])


def test_messages_send_without_subtype_or_status() -> None:
    """The spec requires subType and status; GHL does not (ghl-wire-facts §5.1)."""
    assert (
        _where("send-a-new-message", body={"type": "SMS", "contactId": "c", "message": "hi"}) == []
    )
    # subType is typed `object` in the spec but sent as a string in a recorded 200 exchange.
    sms = {"type": "SMS", "subType": "SMS", "contactId": "c", "status": "pending"}
    assert _where("send-a-new-message", body=sms) == []
    unrelaxed = RequestValidator(CATALOG, relaxations=())
    problems = unrelaxed.problems("send-a-new-message", body={"type": "SMS", "contactId": "c"})
    assert {p.message for p in problems} == {
        "'subType' is a required property",
        "'status' is a required property",
    }


def test_opportunity_search_needs_only_a_location_and_takes_the_sort_cursor() -> None:
    assert _where("search-opportunities-advanced", body={"locationId": "l"}) == []
    cursor = {"locationId": "l", "searchAfter": [1784272317939, "C0oEKxTxx1bz7036v71B"]}
    assert _where("search-opportunities-advanced", body=cursor) == []
    assert _where("search-opportunities-advanced", body={"limit": 10}) == ["body"]


def test_optional_fields_may_be_null_required_ones_may_not() -> None:
    assert _where("create-contact", body={"locationId": "l", "email": None}) == []
    assert _where("create-contact", body={"locationId": None}) == ["body.locationId"]


def test_bare_object_fields_accept_the_strings_ghl_documents() -> None:
    # dateOfBirth is `object` in the spec; its own description and example are strings.
    assert _where("create-contact", body={"locationId": "l", "dateOfBirth": "1990-09-25"}) == []


def test_form_bodies_are_validated_too() -> None:
    assert _where("get-access-token", body={"client_id": "c"}) != []


def test_validation_cost_per_call_is_small() -> None:
    """Measured, not assumed: a typical JSON body validates in well under a millisecond."""
    body = {"locationId": "l", "email": "a@b.co", "tags": ["x"], "customFields": [{"id": "f"}]}
    VALIDATOR.check("create-contact", body=body)  # compile once
    started, rounds = time.perf_counter(), 500
    for _ in range(rounds):
        VALIDATOR.check("create-contact", body=body)
    per_call_us = (time.perf_counter() - started) / rounds * 1e6
    assert per_call_us < 1000


def _tiny_catalog(schemas: dict[str, Any]) -> Catalog:
    operation = {
        "area": "t",
        "method": "POST",
        "path": "/things",
        "version": "2021-07-28",
        "requestBody": {
            "contentType": "application/json",
            "schema": {"$ref": "#/schemas/t.Closed"},
        },
    }
    return Catalog(
        {
            "source": {"spec_commit": "test"},
            "schemas": schemas,
            "operations": {"make-thing": operation},
        }
    )


def test_problems_name_the_rule_never_the_value() -> None:
    """Request values can be PII and these messages reach logs."""
    secret = "ada@example.com"
    problems = VALIDATOR.problems(
        "create-contact",
        body={"locationId": "l", "tags": secret, "customFields": [{"id": 3}]},
    ) + VALIDATOR.problems("get-contacts", query={"locationId": "l", "limit": secret})
    assert len(problems) == 3
    assert all(secret not in str(p) for p in problems)
