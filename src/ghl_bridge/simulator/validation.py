"""Request-body validation the way GHL's NestJS `ValidationPipe` reports it (422, message array).

Driven by the request DTOs in the catalogue: unknown properties ("property x should not exist",
the whitelist/forbidNonWhitelisted behaviour), missing required ones and wrong primitive types,
in class-validator's wording. Enum failures use GHL's own wording ("must be a valid enum value",
seen live on /oauth/token). `object`-typed properties are not type-checked: several DTOs declare
`object` for fields GHL accepts as strings (e.g. `dateOfBirth`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["dto_errors"]

_TYPE_MESSAGES = {
    "string": "{} must be a string",
    "boolean": "{} must be a boolean value",
    "number": "{} must be a number conforming to the specified constraints",
    "integer": "{} must be an integer number",
    "array": "{} must be an array",
}
_ITEM_TYPES = {"string": str, "boolean": bool}


def dto_errors(schema: dict[str, Any], body: Any) -> list[str]:
    """Messages for everything wrong with `body` against a resolved object schema ([] if valid)."""
    if not isinstance(body, dict):
        return ["request body must be an object"]
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    errors = [f"property {name} should not exist" for name in body if name not in properties]
    for name, prop in properties.items():
        value = body.get(name)
        if value is None or value == "":
            # Optional fields are @IsOptional() in NestJS DTOs: null and "" pass.
            if name in required:
                errors.extend([*_type_errors(name, prop, None), f"{name} should not be empty"])
            continue
        errors.extend(_type_errors(name, prop, value))
    return errors


def _type_errors(name: str, prop: dict[str, Any], value: Any) -> list[str]:
    if "enum" in prop and value not in prop["enum"]:
        return [f"{name} must be a valid enum value"]
    declared = prop.get("type")
    kinds = [declared] if isinstance(declared, str) else list(declared or [])
    kinds = [kind for kind in kinds if kind != "null"]
    if not kinds or "object" in kinds or any(_is(value, kind) for kind in kinds):
        return _item_errors(name, prop, value) if isinstance(value, list) else []
    message = _TYPE_MESSAGES.get(kinds[0])
    return [message.format(name)] if message else []


def _is(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("number", "integer"):
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return is_number and (kind == "number" or float(value).is_integer())
    if kind == "array":
        return isinstance(value, list)
    return True


def _item_errors(name: str, prop: dict[str, Any], values: list[Any]) -> list[str]:
    item_type = (prop.get("items") or {}).get("type")
    expected = _ITEM_TYPES.get(item_type) if isinstance(item_type, str) else None
    if expected is None or all(isinstance(item, expected) for item in values):
        return []
    noun = "a string" if expected is str else "a boolean value"
    return [f"each value in {name} must be {noun}"]
