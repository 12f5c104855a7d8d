"""Request bodies with nested DTOs, validated the way class-validator's @ValidateNested reports.

`Call.validated_body` checks the top level only; the admin DTOs nest objects (`prospectInfo`,
`settings`, `twilio`, `permissions`, ...). Their problems come back in the same 422 as
`parent.child <message>`, NestJS's format for nested errors.
"""

from __future__ import annotations

from typing import Any

from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import unprocessable
from ghl_bridge.simulator.validation import dto_errors

__all__ = ["validated_nested"]


def validated_nested(
    call: Call, optional: frozenset[str] = frozenset(), extra: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """`call.validated_body(optional, extra)`, plus every nested object property checked."""
    body = call.validated_body(optional, extra)
    spec = call.sim.spec
    properties: dict[str, Any] = spec.resolve(call.op.request_schema).get("properties", {})
    errors: list[str] = []
    for name, prop in properties.items():
        value = body.get(name)
        target = _nested_schema(prop)
        if value is None or target is None:
            continue
        if not isinstance(value, dict):
            errors.append(f"nested property {name} must be either object or array")
            continue
        errors.extend(f"{name}.{message}" for message in dto_errors(spec.resolve(target), value))
    if errors:
        raise unprocessable(errors)
    return body


def _nested_schema(prop: dict[str, Any]) -> dict[str, Any] | None:
    """The referenced object schema of a `$ref` or single-`allOf` property, else None."""
    if "$ref" in prop:
        return prop
    parts = prop.get("allOf")
    if isinstance(parts, list) and len(parts) == 1 and "$ref" in parts[0]:
        return dict(parts[0])
    return None
