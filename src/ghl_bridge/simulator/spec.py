"""Per-operation facts (Version, security schemes, scopes, request DTOs) from the catalogue data.

The simulator reads the generated catalogue *file* by path — data, not code — so it never
imports the client's catalogue module and cannot inherit the client's interpretation of it.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["CATALOG_FILE", "LOCATION_SCHEMES", "OpSpec", "SpecTable", "load_spec"]

CATALOG_FILE = Path(__file__).resolve().parent.parent / "client" / "catalog" / "operations.json.gz"
# `bearer` is described in the spec as "Sub-Account token or Sub-Account PIT".
LOCATION_SCHEMES = frozenset({"bearer", "Location-Access", "Location-Access-Only"})
AGENCY_SCHEMES = frozenset({"Agency-Access", "Agency-Access-Only"})


@dataclass(frozen=True, slots=True)
class OpSpec:
    """What the gate needs to know about one operation."""

    op_id: str
    method: str
    path: str
    version: str | None
    security: frozenset[str]
    scopes: frozenset[str]
    request_schema: dict[str, Any] | None = None
    status: int = 200


class SpecTable:
    """The catalogue's operations and schemas, read-only."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.schemas: dict[str, Any] = document["schemas"]
        self._raw: dict[str, dict[str, Any]] = document["operations"]

    def op(self, op_id: str) -> OpSpec:
        raw = self._raw[op_id]
        body = raw.get("requestBody") or {}
        success = sorted(raw.get("responses") or {"200": None})
        return OpSpec(
            op_id=op_id,
            method=raw["method"],
            path=raw["path"],
            version=raw.get("version"),
            security=frozenset(raw.get("security", ())),
            scopes=frozenset(raw.get("scopes", ())),
            request_schema=body.get("schema"),
            status=int(success[0]),
        )

    def resolve(self, schema: dict[str, Any] | None) -> dict[str, Any]:
        """Follow `$ref`s to the schema they name (the catalogue only has local refs)."""
        while schema and "$ref" in schema:
            schema = self.schemas[schema["$ref"].removeprefix("#/schemas/")]
        return schema or {}

    def scopes_for(self, schemes: frozenset[str]) -> frozenset[str]:
        """Every scope some operation guarded by one of `schemes` asks for."""
        return frozenset(
            scope
            for raw in self._raw.values()
            if schemes & set(raw.get("security", ()))
            for scope in raw.get("scopes", ())
        )

    def location_scopes(self) -> frozenset[str]:
        return self.scopes_for(LOCATION_SCHEMES)

    def all_scopes(self) -> frozenset[str]:
        return self.scopes_for(LOCATION_SCHEMES | AGENCY_SCHEMES)


@cache
def load_spec(path: Path = CATALOG_FILE) -> SpecTable:
    """Parse the catalogue once per process; it is immutable data."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return SpecTable(json.load(handle))
