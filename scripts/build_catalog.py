"""Build the operation catalogue (`client/catalog/operations.json.gz`) from GHL's OpenAPI files.

The official documents are large, fail strict OpenAPI validation and are not shipped with the
package, so we keep a small derived table instead: every operation's method, path, `Version`,
security schemes, scopes, parameters, request body and 2xx JSON response schemas, with schemas
rewritten to plain JSON Schema (2020-12) so `jsonschema` can validate against them directly.

Usage: python scripts/build_catalog.py [SPEC_DIR] [--out FILE]
SPEC_DIR defaults to ../shared/ghl-spec (relative to the repository root). The output is
deterministic (sorted keys, gzip mtime 0), so re-running on the same input gives identical bytes.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

from ghl_bridge.client.catalog import referenced_schemas

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC_DIR = REPO_ROOT.parent / "shared" / "ghl-spec"
DEFAULT_OUT = REPO_ROOT / "src" / "ghl_bridge" / "client" / "catalog" / "operations.json.gz"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
COMMON_PREFIX = "../common/common-schemas.json#/components/schemas/"
LOCAL_PREFIX = "#/components/schemas/"
# Annotation-only keywords: they cost bytes and never change what validates.
DROPPED_KEYWORDS = frozenset(
    {
        "description",
        "summary",
        "example",
        "examples",
        "title",
        "externalDocs",
        "xml",
        "discriminator",
    }
)
SCHEMA_KEYWORDS = ("items", "additionalProperties", "not", "if", "then", "else", "contains")
SCHEMA_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf", "prefixItems")
SCHEMA_MAP_KEYWORDS = ("properties", "patternProperties", "$defs", "definitions")
JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})


class CatalogBuilder:
    """Collects operations and schemas from the area documents; keeps a report of oddities."""

    def __init__(self) -> None:
        self.operations: dict[str, dict[str, Any]] = {}
        self.schemas: dict[str, Any] = {}
        self.report: list[str] = []

    def add_common(self, document: dict[str, Any]) -> None:
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            self.schemas[f"common.{name}"] = self.schema(schema, "common")

    def add_area(self, area: str, document: dict[str, Any]) -> None:
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            self.schemas[f"{area}.{name}"] = self.schema(schema, area)
        for path, item in document.get("paths", {}).items():
            for method in HTTP_METHODS:
                if method in item:
                    self.add_operation(area, method, path, item[method])

    def add_operation(self, area: str, method: str, path: str, op: dict[str, Any]) -> None:
        op_id = op.get("operationId") or f"{method}{path}"
        if op_id in self.operations:
            first = self.operations[op_id]["area"]
            self.report.append(
                f"duplicate operationId {op_id!r}: {first} and {area} -> {area}.{op_id}"
            )
            op_id = f"{area}.{op_id}"
        security = op.get("security") or []
        schemes = list(dict.fromkeys(name for entry in security for name in entry))
        scopes = sorted({scope for entry in security for vals in entry.values() for scope in vals})
        params = [p for p in op.get("parameters", []) if p.get("name") != "Version"]
        self.operations[op_id] = {
            "area": area,
            "method": method.upper(),
            "path": path,
            "version": _version_of(op),
            "security": schemes,
            "scopes": scopes,
            "parameters": [self.parameter(p, area) for p in params],
            "requestBody": self.request_body(op.get("requestBody"), area),
            "responses": self.responses(op.get("responses", {}), area),
        }

    def parameter(self, param: dict[str, Any], area: str) -> dict[str, Any]:
        return {
            "name": param["name"],
            "in": param["in"],
            "required": bool(param.get("required", False)),
            "schema": self.schema(param.get("schema", {}), area),
        }

    def request_body(self, body: dict[str, Any] | None, area: str) -> dict[str, Any] | None:
        if not body or not body.get("content"):
            return None
        content_type, media = next(iter(body["content"].items()))
        return {"contentType": content_type, "schema": self.schema(media.get("schema"), area)}

    def responses(self, responses: dict[str, Any], area: str) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        for status, response in responses.items():
            if not status.startswith("2"):
                continue
            media = (response.get("content") or {}).get("application/json")
            schema = media.get("schema") if media else None
            kept[status] = self.schema(schema, area) if schema is not None else None
        return kept

    def schema(self, node: Any, area: str) -> Any:
        """OpenAPI 3.0 schema -> JSON Schema 2020-12 with refs into the catalogue's `schemas`."""
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in DROPPED_KEYWORDS or key.startswith("x-") or key == "nullable":
                continue
            if key == "$ref":
                out[key] = self.ref(value, area)
            elif key in SCHEMA_KEYWORDS:
                out[key] = self.schema(value, area)
            elif key in SCHEMA_LIST_KEYWORDS:
                out[key] = [self.schema(item, area) for item in value]
            elif key in SCHEMA_MAP_KEYWORDS:
                out[key] = {name: self.schema(sub, area) for name, sub in value.items()}
            elif key == "type" and not _valid_type(value):
                self.report.append(f"{area}: dropped invalid type {value!r}")
            else:
                out[key] = value
        return _nullable(out) if node.get("nullable") is True else out

    def ref(self, ref: str, area: str) -> str:
        if ref.startswith(COMMON_PREFIX):
            return f"#/schemas/common.{ref[len(COMMON_PREFIX) :]}"
        if ref.startswith(LOCAL_PREFIX):
            return f"#/schemas/{area}.{ref[len(LOCAL_PREFIX) :]}"
        raise ValueError(f"{area}: unsupported $ref {ref!r}")

    def document(self, spec_commit: str) -> dict[str, Any]:
        return {
            "source": {"spec_commit": spec_commit},
            "operations": self.operations,
            "schemas": self.reachable_schemas(),
        }

    def reachable_schemas(self) -> dict[str, Any]:
        """Only schemas some operation can reach; the rest would be dead weight."""
        seen: set[str] = set()
        pending = referenced_schemas(self.operations)
        while pending:
            name = pending.pop()
            if name in seen or name not in self.schemas:
                continue
            seen.add(name)
            pending |= referenced_schemas(self.schemas[name])
        return {name: self.schemas[name] for name in sorted(seen)}


def _version_of(op: dict[str, Any]) -> str | None:
    for param in op.get("parameters", []):
        if param.get("name") == "Version" and param.get("in") == "header":
            enum = param.get("schema", {}).get("enum") or [None]
            return str(enum[0]) if enum[0] is not None else None
    return None


def _valid_type(value: Any) -> bool:
    if isinstance(value, str):
        return value in JSON_TYPES
    return isinstance(value, list) and all(v in JSON_TYPES for v in value)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI's `nullable: true` has no JSON Schema keyword; widen the type (or wrap) instead."""
    if isinstance(schema.get("type"), str):
        schema = {**schema, "type": [schema["type"], "null"]}
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def spec_commit(spec_dir: Path) -> str:
    readme = (spec_dir / "README.md").read_text(encoding="utf-8")
    match = re.search(r"commit\s+([0-9a-f]{40})", readme)
    if not match:
        raise SystemExit(f"no 40-hex commit id found in {spec_dir / 'README.md'}")
    return match.group(1)


def build(spec_dir: Path) -> tuple[bytes, list[str]]:
    """Return the gzipped catalogue bytes and the report lines."""
    builder = CatalogBuilder()
    builder.add_common(json.loads((spec_dir / "common" / "common-schemas.json").read_text("utf-8")))
    for path in sorted((spec_dir / "apps").glob("*.json")):
        builder.add_area(path.stem, json.loads(path.read_text(encoding="utf-8")))
    payload = json.dumps(
        builder.document(spec_commit(spec_dir)),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(payload)
    return buffer.getvalue(), builder.report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("spec_dir", nargs="?", type=Path, default=DEFAULT_SPEC_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    data, report = build(args.spec_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    for line in report:
        print(f"note: {line}", file=sys.stderr)
    print(f"wrote {args.out} ({len(data):,} bytes gzipped)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
