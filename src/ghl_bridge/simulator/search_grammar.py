"""The `filters` grammar of GHL's search endpoints: leaves, AND/OR groups, `nested`, evaluation.

One parser and evaluator serve contacts (camelCase fields, `CONTACTS`) and opportunities
(snake_case fields, defined in opportunity_search); a `Grammar` says which fields exist, which
operators each takes and how to read a field off a record.

Fields, operators and limits are those of GHL's Contacts Search doc plus what integrators saw
live (research/ghl-wire-facts.md §1.2-1.3): unknown field → 400 `Invalid field x`; an operator
the field does not support → 422 `Invalid Operator op passed for field snake_name`; `contains`
needs 3-75 characters. `wildcard` is accepted on the text fields (seen working on `phone`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.timefmt import epoch_ms, parse_instant_ms

__all__ = [
    "CONTACTS",
    "DATE",
    "KEYWORD",
    "OPERATORS",
    "PRESENCE",
    "TEXT",
    "Grammar",
    "Group",
    "Leaf",
    "Nested",
    "Node",
    "field_value",
    "matches",
    "parse_filters",
]

# The parser's full operator list, quoted from a live 422.
OPERATORS = (
    "eq", "not_eq", "contains", "not_contains", "wildcard", "not_wildcard", "match", "not_match",
    "exists", "not_exists", "range", "not_range", "contains_set", "contains_not_set", "gt", "gte",
    "lt", "lte", "nested", "nested_not", "has_child", "has_parent",
)  # fmt: skip
PRESENCE = _PRESENCE = frozenset({"exists", "not_exists"})
KEYWORD = _KEYWORD = frozenset({"eq", "not_eq"}) | _PRESENCE
TEXT = _TEXT = _KEYWORD | {"contains", "not_contains", "wildcard", "not_wildcard"}
DATE = _DATE = frozenset({"range"}) | _PRESENCE
DATE_FIELDS = frozenset(
    {"dateAdded", "dateUpdated", "dateOfBirth", "lastEmailClickedDate", "lastEmailOpenedDate",
     "lastAppointment", "lastActivity"}
)  # fmt: skip
FIELDS: dict[str, frozenset[str]] = {
    "id": frozenset({"eq", "not_eq"}),
    "contactName": _KEYWORD,
    **dict.fromkeys(
        ("address", "businessName", "city", "companyName", "firstNameLowerCase",
         "lastNameLowerCase", "phone", "postalCode", "source", "state", "tags"),
        _TEXT,
    ),
    **dict.fromkeys(
        ("assignedTo", "country", "dnd", "followers", "isValidWhatsapp", "timezone", "type",
         "validEmail", "email", "website", "activeWorkflows", "finishedWorkflows"),
        _KEYWORD,
    ),
    **dict.fromkeys(DATE_FIELDS, _DATE),
    "opportunities": frozenset({"nested"}),
}  # fmt: skip
NESTED_FIELDS = frozenset({"pipelineId", "pipelineStageId", "status"})
# Custom field types are per location and unknown here; allow the union of their operators.
_CUSTOM = _TEXT | {"range"}
_MAX_VALUE = 75
FIELDS_TOP = "contacts"  # the scope of top-level leaves; nested leaves are scoped by their field


@dataclass(frozen=True, slots=True)
class Leaf:
    field: str
    operator: str
    value: Any


@dataclass(frozen=True, slots=True)
class Group:
    any_of: bool  # OR when true, AND otherwise
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Nested:
    field: str
    leaves: tuple[Leaf, ...]


Node = Leaf | Group | Nested


@dataclass(frozen=True, slots=True)
class Grammar:
    """What one search endpoint's filters may name and how a record answers for a field."""

    fields: Mapping[str, frozenset[str]]
    custom_prefix: str  # "customFields." (contacts) or "custom_fields." (opportunities)
    date_fields: frozenset[str]
    value: Callable[[dict[str, Any], str], Any]
    nested_fields: frozenset[str] = frozenset()

    def operators_for(self, field: str) -> frozenset[str] | None:
        if field.startswith(self.custom_prefix) and len(field) > len(self.custom_prefix):
            return _CUSTOM
        return self.fields.get(field)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def parse_filters(raw: Any, grammar: Grammar | None = None) -> tuple[Node, ...]:
    """Validate the `filters` array (implicitly ANDed) into a tree; raises 400/422 ApiErrors."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise unprocessable(["filters must be an array"])
    return tuple(_node(item, grammar or CONTACTS) for item in raw)


def _node(raw: Any, grammar: Grammar) -> Node:
    if not isinstance(raw, dict):
        raise unprocessable(["each value in filters must be an object"])
    if "group" in raw:
        if raw["group"] not in ("AND", "OR"):
            raise unprocessable(["group must be one of the following values: AND, OR"])
        children = raw.get("filters")
        if not isinstance(children, list) or not children:
            raise unprocessable(["filters must be an array"])
        return Group(raw["group"] == "OR", tuple(_node(child, grammar) for child in children))
    return _leaf(raw, FIELDS_TOP, grammar)


def _leaf(raw: dict[str, Any], scope: str, grammar: Grammar) -> Node:
    operator = raw.get("operator")
    if operator not in OPERATORS:
        raise unprocessable(
            [f"operator must be one of the following values: {', '.join(OPERATORS)}"]
        )
    field = raw.get("field")
    if not isinstance(field, str) or not field:
        raise unprocessable(["field must be a string", "field should not be empty"])
    allowed = (
        grammar.operators_for(field)
        if scope == FIELDS_TOP
        else (_KEYWORD if field in grammar.nested_fields else None)
    )
    if allowed is None:
        raise bad_request(f"Invalid field {field}")
    if operator not in allowed:
        raise unprocessable([f"Invalid Operator {operator} passed for field {_snake(field)}"])
    if operator == "nested":
        # Records-search form `value: [...]`; a 3rd-party doc writes `filters: [...]`. Take both.
        inner = raw.get("value", raw.get("filters"))
        if not isinstance(inner, list) or not inner:
            raise unprocessable(["value must be a non-empty array for operator nested"])
        leaves = []
        for item in inner:
            leaf = _leaf(item, field, grammar) if isinstance(item, dict) else None
            if not isinstance(leaf, Leaf):
                raise unprocessable(["each value in value must be a filter on a nested field"])
            leaves.append(leaf)
        return Nested(field, tuple(leaves))
    _check_value(operator, raw)
    return Leaf(field, operator, raw.get("value"))


def _check_value(operator: str, raw: dict[str, Any]) -> None:
    value = raw.get("value")
    if operator in _PRESENCE:
        if "value" in raw:  # live: `exists` rejects even `true`
            raise unprocessable([f"value should not be provided for operator {operator}"])
        return
    if value is None or (value == "" and operator != "not_eq"):
        raise unprocessable(["value should not be empty"])
    if operator == "range":
        if not isinstance(value, dict) or not value or set(value) - {"gt", "gte", "lt", "lte"}:
            raise unprocessable(["value must be an object with gt, gte, lt and/or lte"])
        return
    texts = value if isinstance(value, list) else [value]
    for text in texts:
        if isinstance(text, str) and len(text) > _MAX_VALUE:
            raise unprocessable([f"value must be shorter than or equal to {_MAX_VALUE} characters"])
        if operator not in ("eq", "not_eq") and (not isinstance(text, str) or len(text) < 3):
            raise unprocessable(["value must be longer than or equal to 3 characters"])
    if isinstance(value, list) and operator in ("eq", "not_eq"):
        raise unprocessable(["value must be a string, number or boolean"])


def field_value(contact: dict[str, Any], field: str) -> Any:
    """The contact's value for a search field; dates as epoch ms."""
    if field.startswith("customFields."):
        wanted = field.removeprefix("customFields.")
        return next(
            (cf.get("value") for cf in contact.get("customFields", []) if cf.get("id") == wanted),
            None,
        )
    if field in DATE_FIELDS:
        return epoch_ms(contact.get(field))
    first, last = contact.get("firstName"), contact.get("lastName")
    derived = {
        "address": contact.get("address1"),
        "contactName": " ".join(p for p in (first, last) if p).lower() or None,
        "firstNameLowerCase": first.lower() if first else None,
        "lastNameLowerCase": last.lower() if last else None,
        "activeWorkflows": contact.get("activeWorkflows", []),
        "finishedWorkflows": contact.get("finishedWorkflows", []),
    }
    return derived[field] if field in derived else contact.get(field)


def matches(node: Node, record: dict[str, Any], grammar: Grammar | None = None) -> bool:
    grammar = grammar or CONTACTS
    if isinstance(node, Group):
        results = (matches(item, record, grammar) for item in node.items)
        return any(results) if node.any_of else all(results)
    if isinstance(node, Nested):
        items = record.get(node.field) or []
        return any(
            all(_leaf_matches(leaf, item.get(leaf.field), False) for leaf in node.leaves)
            for item in items
        )
    value = grammar.value(record, node.field)
    is_date = node.field in grammar.date_fields
    return _leaf_matches(node, value, is_date, email=node.field == "email")


def _leaf_matches(leaf: Leaf, value: Any, is_date: bool, *, email: bool = False) -> bool:
    op, target = leaf.operator, leaf.value
    present = value not in (None, "", [])
    if op in _PRESENCE:
        return present == (op == "exists")
    if op == "range":
        return present and _in_range(value, target, is_date)
    values = value if isinstance(value, list) else [value]
    if op == "eq":
        return any(_same(v, target, email) for v in values)
    if op == "not_eq":  # live: `not_eq ""` is accepted but matches nothing
        return target != "" and not any(_same(v, target, email) for v in values)
    targets = [str(t).casefold() for t in (target if isinstance(target, list) else [target])]
    texts = [str(v).casefold() for v in values if v is not None]
    if op in ("contains", "not_contains"):
        hit = any(t in text for t in targets for text in texts)
    else:
        hit = any(fnmatch.fnmatchcase(text, t) for t in targets for text in texts)
    return hit != op.startswith("not_")


def _same(value: Any, target: Any, email: bool) -> bool:
    if value is None:
        return False
    if isinstance(value, bool) or isinstance(target, bool):
        return str(value).lower() == str(target).lower()
    if isinstance(value, int | float) and not isinstance(target, str):
        return float(value) == float(target)
    if email:
        return str(value).casefold() == str(target).casefold()
    return str(value) == str(target)


def _in_range(value: Any, bounds: dict[str, Any], is_date: bool) -> bool:
    for name, bound in bounds.items():
        limit = parse_instant_ms(bound) if is_date else _number(bound)
        actual = value if is_date else _number(value)
        if limit is None or actual is None:
            return False
        ok = {
            "gt": actual > limit,
            "gte": actual >= limit,
            "lt": actual < limit,
            "lte": actual <= limit,
        }
        if not ok[name]:
            return False
    return True


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


CONTACTS = Grammar(FIELDS, "customFields.", DATE_FIELDS, field_value, NESTED_FIELDS)
