"""Checks a request against the operation's spec before anything is sent.

Path and query parameters, and the JSON/form body against the catalogue's request schema, with a
short, sourced table of relaxations where GHL's spec is stricter than GHL itself. Imports nothing
else of ghl_bridge outside ``ghl_bridge.client``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing import Resource as SchemaResource
from referencing.jsonschema import DRAFT202012

from ghl_bridge.client.catalog import CATALOG_URI, Catalog, Operation
from ghl_bridge.client.errors import GHLError

__all__ = [
    "RELAXATIONS",
    "Problem",
    "Relaxation",
    "RequestValidationError",
    "RequestValidator",
]

_PLACEHOLDER = re.compile(r"\{([^}/]+)\}")
_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_LOCAL_REF = "#/schemas/"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request: ``where`` is e.g. ``path.contactId`` or ``body.tags[0]``."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class RequestValidationError(GHLError):
    """The request breaks the operation's spec; nothing was sent. ``problems`` lists every one."""

    def __init__(self, operation: str, problems: list[Problem]) -> None:
        self.operation = operation
        self.problems = problems
        listed = "; ".join(str(p) for p in problems)
        super().__init__(f"{operation}: request refused before sending: {listed}")


@dataclass(frozen=True, slots=True)
class Relaxation:
    """Where GHL accepts what its own spec forbids: ``optional`` fields the spec marks required,
    and ``loose`` fields whose declared type is wrong (they accept any JSON value)."""

    schema: str
    reason: str
    source: str
    optional: tuple[str, ...] = ()
    loose: tuple[str, ...] = ()


# Each entry loosens the spec only as far as recorded GHL behaviour shows. Two further rules apply
# to every schema (see `_relax_node`): an optional property may be null (GHL's DTOs use
# class-validator's @IsOptional, which skips null), and a bare `{"type": "object"}` accepts any
# value (GHL's spec generator writes `object` for untyped/union fields: `dateOfBirth` is
# documented as "1990-09-25", `subType` is sent as the string "SMS" in a recorded 200 exchange).
RELAXATIONS: tuple[Relaxation, ...] = (
    Relaxation(
        schema="conversations.SendMessageBodyDto",
        optional=("subType", "status"),
        reason="GHL sends messages without subType/status; most working clients omit them",
        source="ghl-wire-facts.md §5.1; ghl-facts.md §6 Conversations ('likely a spec quirk')",
    ),
    Relaxation(
        schema="opportunities.OpportunitySearchBodyDTO",
        optional=("query", "limit", "page", "searchAfter", "additionalDetails"),
        reason="the spec marks all six fields required; GHL's search doc requires only locationId",
        source="ghl-wire-facts.md §2.1 ([CLICKUP-OPPS], recorded Nango requests)",
    ),
    Relaxation(
        schema="opportunities.OpportunitySearchBodyDTO",
        loose=("searchAfter",),
        reason="the spec types searchAfter string[]; the cursor GHL hands out (each record's"
        " `sort`) is [<createdAt ms>, <id>], a number then a string",
        source="ghl-wire-facts.md §2.1 (recorded response shape, [NANGO-REC:opportunities])",
    ),
    Relaxation(
        schema="emails.CreateBuilderDto",
        optional=("importProvider",),
        reason="importProvider is needed only for type 'import'; an html template is made"
        " without it",
        source="a public live probe of POST /emails/builder (2026-09); simulator/email_builder.py",
    ),
    Relaxation(
        schema="emails.SaveBuilderDataDto",
        optional=("dnd",),
        reason="dnd (the drag-and-drop editor's document) is sent only for builder templates",
        source="same probe: POST /emails/builder/data with html and updatedBy only",
    ),
)


@dataclass(frozen=True, slots=True)
class _Compiled:
    path_names: frozenset[str]
    query: Mapping[str, tuple[bool, dict[str, Any]]]  # name -> (required, schema)
    body: Draft202012Validator | None


class RequestValidator:
    """Validates calls against one catalogue. Schemas compile once per operation, then are cached.

    Validation is pure and runs once per call, before the pipeline's retry loop.
    """

    def __init__(self, catalog: Catalog, relaxations: tuple[Relaxation, ...] = RELAXATIONS) -> None:
        self._catalog = catalog
        self._relaxations = relaxations
        self._compiled: dict[str, _Compiled] = {}

    def check(
        self,
        operation_id: str,
        *,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> None:
        """Raise RequestValidationError listing every problem; return None when the call is fine."""
        problems = self.problems(operation_id, path_params=path_params, query=query, body=body)
        if problems:
            raise RequestValidationError(operation_id, problems)

    def problems(
        self,
        operation_id: str,
        *,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> list[Problem]:
        compiled = self._compile(operation_id)
        found = _path_problems(compiled.path_names, path_params or {})
        found += _query_problems(compiled.query, query or {})
        if compiled.body is not None:
            # No body reaches GHL as an empty object: its required fields still apply.
            instance = {} if body is None else body
            found += [_problem(e) for e in compiled.body.iter_errors(instance)]
        return found

    def _compile(self, operation_id: str) -> _Compiled:
        compiled = self._compiled.get(operation_id)
        if compiled is None:
            compiled = self._compiled[operation_id] = self._build(
                self._catalog.operation(operation_id)
            )
        return compiled

    def _build(self, op: Operation) -> _Compiled:
        path_names = frozenset(_PLACEHOLDER.findall(op.path))
        query = {p.name: (p.required, p.schema) for p in op.parameters if p.location == "query"}
        validator = None
        if op.request_schema is not None and op.request_content_type != "multipart/form-data":
            schema = {"$schema": _DIALECT, **_relax_node(_absolute_refs(op.request_schema))}
            validator = Draft202012Validator(schema, registry=self._registry)
        return _Compiled(path_names, query, validator)

    @cached_property
    def _registry(self) -> Registry[Any]:
        """The catalogue's schemas with the relaxations applied, under the catalogue's URI."""
        schemas = {name: _relax_node(schema) for name, schema in self._catalog.schemas.items()}
        for relaxation in self._relaxations:
            if relaxation.schema not in schemas:  # a partial catalogue (tests, custom tables)
                continue
            target = schemas[relaxation.schema] = copy.deepcopy(schemas[relaxation.schema])
            target["required"] = [
                name for name in target.get("required", ()) if name not in relaxation.optional
            ]
            for name in relaxation.loose:
                target["properties"][name] = {}
        resource = SchemaResource.from_contents(
            {"$schema": _DIALECT, "schemas": schemas}, default_specification=DRAFT202012
        )
        registry: Registry[Any] = Registry().with_resource(CATALOG_URI, resource)
        return registry


def _relax_node(node: Any) -> Any:
    """Apply the two global rules (nullable optionals, bare `object` = any) to a schema tree."""
    if isinstance(node, list):
        return [_relax_node(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") in ("object", ["object", "null"]) and not _shaped(node):
        return {}
    out = {key: _relax_node(value) for key, value in node.items() if key != "properties"}
    if isinstance(node.get("properties"), dict):
        required = set(node.get("required", ()))
        out["properties"] = {
            name: _relax_node(prop) if name in required else _nullable(_relax_node(prop))
            for name, prop in node["properties"].items()
        }
    return out


def _shaped(node: Mapping[str, Any]) -> bool:
    return any(k in node for k in ("properties", "additionalProperties", "required", "allOf"))


def _nullable(schema: Any) -> Any:
    """Let ``schema`` accept null; widening ``type`` keeps validation cheap and messages clear."""
    if not isinstance(schema, dict) or not schema:
        return schema
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        out = {**schema, "type": [*kinds, "null"] if "null" not in kinds else kinds}
        if "enum" in schema and None not in schema["enum"]:
            out["enum"] = [*schema["enum"], None]
        return out
    # The schema branch goes first: valid values match it without building an error.
    return {"anyOf": [schema, {"type": "null"}]}


def _absolute_refs(node: Any) -> Any:
    """Point an operation's inline `#/schemas/X` refs at the catalogue resource in the registry."""
    if isinstance(node, list):
        return [_absolute_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _absolute_refs(value) for key, value in node.items()}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_LOCAL_REF):
        out["$ref"] = CATALOG_URI + ref
    return out


def _path_problems(names: frozenset[str], given: Mapping[str, Any]) -> list[Problem]:
    # Derived from the path template, not the parameter list: a few specs (get-message,
    # delete-user, get-timezones) forget to declare their path parameters.
    problems = []
    for name in sorted(names):
        value = given.get(name)
        if value is None or str(value) == "":
            # An empty id would silently address a different route (/contacts/ is create-contact).
            problems.append(Problem(f"path.{name}", "required path parameter is missing or empty"))
    for name in sorted(set(given) - names):
        problems.append(Problem(f"path.{name}", "not a path parameter of this operation"))
    return problems


def _query_problems(
    declared: Mapping[str, tuple[bool, dict[str, Any]]], given: Mapping[str, Any]
) -> list[Problem]:
    problems = [
        Problem(f"query.{name}", "required query parameter is missing")
        for name, (required, _) in declared.items()
        if required and given.get(name) is None
    ]
    for name, value in given.items():
        if value is not None and name in declared:
            message = _query_value_problem(declared[name][1], value)
            if message:
                problems.append(Problem(f"query.{name}", message))
    return problems


def _query_value_problem(schema: Mapping[str, Any], value: Any) -> str | None:
    """Judge a query value by what reaches the wire: every scalar travels as text."""
    kind = schema.get("type")
    if kind == "array":
        values = value if isinstance(value, list | tuple) else [value]
        items = schema.get("items") or {}
        return next((m for v in values if (m := _query_value_problem(items, v))), None)
    if isinstance(value, dict | list | tuple):
        return f"a {type(value).__name__} cannot be sent as a query value"
    # Messages name the rule, not the value: query values can be PII (emails, names).
    if "enum" in schema and _wire(value) not in {_wire(e) for e in schema["enum"]}:
        return f"must be one of {schema['enum']!r}"
    if kind in ("number", "integer"):
        return _number_problem(schema, value)
    if kind == "boolean" and _wire(value) not in ("true", "false"):
        return "expected a boolean"
    return None


def _number_problem(schema: Mapping[str, Any], value: Any) -> str | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "expected a number"
    if isinstance(value, bool):
        return "expected a number"
    if "minimum" in schema and number < schema["minimum"]:
        return f"must be at least {schema['minimum']}"
    if "maximum" in schema and number > schema["maximum"]:
        return f"must be at most {schema['maximum']}"
    return None


def _wire(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _problem(error: ValidationError) -> Problem:
    if error.validator in ("anyOf", "oneOf") and error.context:
        # "not valid under any of the given schemas" hides the cause; name the closest branch's.
        error = best_match(error.context)
    where = "body"
    for part in error.absolute_path:
        where += f"[{part}]" if isinstance(part, int) else f".{part}"
    return Problem(where, _describe(error))


def _describe(error: ValidationError) -> str:
    """The rule broken, never the offending value: request values can be PII and this message
    ends up in logs."""
    kind, expected = error.validator, error.validator_value
    if kind in ("required", "additionalProperties"):
        return error.message  # names properties, not values
    if kind == "type":
        return f"expected {expected}, got {_json_type(error.instance)}"
    if kind == "enum":
        return f"must be one of {expected!r}"
    return f"fails {kind}={expected!r}"


def _json_type(value: Any) -> str:
    names = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)
