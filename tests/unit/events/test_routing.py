"""Routing rules: type patterns, locations, field predicates, and action input templates."""

from __future__ import annotations

from typing import Any

import pytest

from ghl_bridge.errors import InvalidInput
from ghl_bridge.events.routing import (
    Predicate,
    Rule,
    TemplateError,
    check_types,
    parse_predicates,
    placeholders,
    render,
)

OPPORTUNITY = {
    "type": "OpportunityStageUpdate",
    "locationId": "loc1",
    "id": "opp1",
    "pipelineStageId": "stage-won",
    "monetaryValue": 1200,
    "status": "open",
    "dateAdded": "2026-11-01T10:00:00.000Z",
}
CONTACT = {
    "type": "ContactTagUpdate",
    "locationId": "loc1",
    "id": "c1",
    "tags": ["hot", "lead"],
    "email": "a@example.com",
    "customFields": [{"id": "f1", "value": "blue"}],
    "dnd": False,
}


@pytest.mark.parametrize(
    ("patterns", "event_type", "expected"),
    [
        (("*",), "ContactCreate", True),
        (("Contact*",), "ContactTagUpdate", True),
        (("Contact*",), "OpportunityCreate", False),
        (("OpportunityStageUpdate",), "OpportunityStageUpdate", True),
        (("OpportunityStageUpdate",), "OpportunityStatusUpdate", False),
        (("Note*", "Task*"), "TaskComplete", True),
        (("contact*",), "ContactCreate", False),  # case matters, as in GHL's types
    ],
)
def test_type_patterns(patterns: tuple[str, ...], event_type: str, expected: bool) -> None:
    assert Rule(patterns).matches(event_type, "loc1", {}) is expected


def test_locations_limit_the_rule() -> None:
    rule = Rule(("*",), frozenset({"loc1", "loc2"}))
    assert rule.matches("ContactCreate", "loc2", {})
    assert not rule.matches("ContactCreate", "loc3", {})
    assert not rule.matches("ContactCreate", None, {})
    assert Rule(("*",)).matches("ContactCreate", None, {})


@pytest.mark.parametrize(
    ("predicate", "payload", "expected"),
    [
        (Predicate("pipelineStageId", "eq", "stage-won"), OPPORTUNITY, True),
        (Predicate("pipelineStageId", "eq", "stage-lost"), OPPORTUNITY, False),
        (Predicate("pipelineStageId", "ne", "stage-lost"), OPPORTUNITY, True),
        (Predicate("missing", "ne", "x"), OPPORTUNITY, True),
        (Predicate("missing", "eq", "x"), OPPORTUNITY, False),
        (Predicate("status", "in", ["open", "won"]), OPPORTUNITY, True),
        (Predicate("status", "in", ["lost"]), OPPORTUNITY, False),
        (Predicate("tags", "contains", "hot"), CONTACT, True),
        (Predicate("tags", "contains", "cold"), CONTACT, False),
        (Predicate("email", "contains", "@example."), CONTACT, True),
        (Predicate("email", "exists", None), CONTACT, True),
        (Predicate("phone", "exists", None), CONTACT, False),
        (Predicate("phone", "exists", False), CONTACT, True),
        (Predicate("monetaryValue", "gt", 1000), OPPORTUNITY, True),
        (Predicate("monetaryValue", "lt", 1000), OPPORTUNITY, False),
        (Predicate("monetaryValue", "gt", "1000"), OPPORTUNITY, False),  # no coercion
        (Predicate("dateAdded", "gt", "2026-10-31T00:00:00Z"), OPPORTUNITY, True),
        (Predicate("customFields.0.value", "eq", "blue"), CONTACT, True),
        (Predicate("customFields.5.value", "eq", "blue"), CONTACT, False),
        (Predicate("dnd", "eq", False), CONTACT, True),
        (Predicate("dnd", "eq", 0), CONTACT, False),  # false is not 0 in JSON
    ],
)
def test_predicates(predicate: Predicate, payload: dict[str, Any], expected: bool) -> None:
    assert predicate.holds(payload) is expected


def test_all_predicates_must_hold() -> None:
    rule = Rule(
        ("OpportunityStageUpdate",),
        predicates=(
            Predicate("pipelineStageId", "eq", "stage-won"),
            Predicate("monetaryValue", "gt", 5000),
        ),
    )
    assert not rule.matches("OpportunityStageUpdate", "loc1", OPPORTUNITY)
    assert rule.matches("OpportunityStageUpdate", "loc1", {**OPPORTUNITY, "monetaryValue": 9000})


@pytest.mark.parametrize(
    "raw",
    [
        {"path": "", "op": "eq", "value": 1},
        {"path": "a..b", "op": "eq", "value": 1},
        {"path": "a b", "op": "eq", "value": 1},
        {"path": "x", "op": "regex", "value": ".*"},
        {"path": "x", "op": "in", "value": "not-a-list"},
        {"path": "x", "op": "in", "value": []},
        {"path": "x", "op": "exists", "value": "yes"},
        {"path": "x", "op": "gt", "value": {"a": 1}},
        {"path": "x", "op": "eq"},
        {"path": 5, "op": "eq", "value": 1},
        {"path": "x" * 201, "op": "eq", "value": 1},
    ],
)
def test_malformed_predicates_are_refused(raw: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_predicates([raw])
    assert info.value.details[0]["path"] == "predicates/0"


def test_too_many_predicates() -> None:
    with pytest.raises(InvalidInput):
        parse_predicates([{"path": "x", "op": "exists"}] * 21)


def test_event_types_must_be_known() -> None:
    assert check_types(["Contact*", "OpportunityStageUpdate", "*", "Contact*"]) == [
        "Contact*",
        "OpportunityStageUpdate",
        "*",
    ]
    with pytest.raises(InvalidInput) as info:
        check_types(["ContactCreate", "ContactCreated", "Foo*"])
    assert info.value.details["unknown"] == ["ContactCreated", "Foo*"]


def test_render_fills_placeholders_keeping_types() -> None:
    template = {
        "contactId": "{{contactId}}",
        "tags": ["replied", "{{ event.messageType }}"],
        "note": "reply on {{conversationId}}: {{attachments}}",
        "raw": "{{attachments}}",
        "fixed": 3,
    }
    payload = {
        "contactId": "c1",
        "messageType": "SMS",
        "conversationId": "conv9",
        "attachments": ["a.png"],
    }
    assert render(template, payload) == {
        "contactId": "c1",
        "tags": ["replied", "SMS"],
        "note": 'reply on conv9: ["a.png"]',
        "raw": ["a.png"],
        "fixed": 3,
    }
    assert placeholders(template) == [
        "contactId",
        "messageType",
        "conversationId",
        "attachments",
        "attachments",
    ]


def test_render_refuses_a_missing_field() -> None:
    with pytest.raises(TemplateError, match="contactId"):
        render({"contactId": "{{contactId}}"}, {"id": "x"})


def test_placeholders_must_be_field_paths() -> None:
    with pytest.raises(TemplateError):
        placeholders({"x": "{{ contact id }}"})
