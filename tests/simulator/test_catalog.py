"""The generated operation catalogue: up to date with the spec, and its loader's contract."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
from jsonschema import Draft202012Validator

from ghl_bridge.client.catalog import CATALOG_PATH, CATALOG_URI, load_catalog

REPO = Path(__file__).resolve().parents[2]
SPEC_DIR = REPO.parent / "shared" / "ghl-spec"


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_catalog", REPO / "scripts" / "build_catalog.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not SPEC_DIR.is_dir(), reason=f"{SPEC_DIR} (the official spec) is not present")
def test_catalogue_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "operations.json.gz"
    assert _builder().main([str(SPEC_DIR), "--out", str(out)]) == 0
    assert out.read_bytes() == CATALOG_PATH.read_bytes(), "re-run scripts/build_catalog.py"


@pytest.mark.skipif(not SPEC_DIR.is_dir(), reason=f"{SPEC_DIR} (the official spec) is not present")
def test_build_is_deterministic_and_reports_duplicates() -> None:
    builder = _builder()
    first, report = builder.build(SPEC_DIR)
    second, _ = builder.build(SPEC_DIR)
    assert first == second
    assert any("create-association" in line for line in report)


def test_catalogue_is_small() -> None:
    assert CATALOG_PATH.stat().st_size < 1_500_000


def test_operations_and_lookup() -> None:
    catalog = load_catalog()
    assert load_catalog() is catalog
    assert len(catalog) == 576
    assert catalog.spec_commit == "0af86a4cbd48c66a4071c7e509d1079f9f10ed17"
    op = catalog.operation("create-contact")
    assert (op.area, op.method, op.path, op.version) == (
        "contacts",
        "POST",
        "/contacts/",
        "2021-07-28",
    )
    assert (op.security, op.scopes) == (("bearer",), ("contacts.write",))
    assert op.request_content_type == "application/json"
    assert set(op.responses) == {"201"}
    assert catalog.find("post", "/contacts/") == op
    assert catalog.find("GET", "/nope") is None
    token = catalog.operation("get-access-token")
    assert (
        token.version is None and token.request_content_type == "application/x-www-form-urlencoded"
    )
    assert catalog.operation("get-calendars").version == "2021-04-15"
    # A reused operationId is keyed by area, the first keeps the plain id.
    assert catalog.operation("contacts.create-association").area == "contacts"
    assert catalog.operation("create-association").area == "associations"
    installed = catalog.operation("get-installed-location")
    assert {p.name for p in installed.parameters if p.required} == {"companyId", "appId"}
    assert "Version" not in {p.name for p in installed.parameters}


def test_response_schema_validates_with_plain_jsonschema() -> None:
    catalog = load_catalog()
    schema = catalog.response_schema("get-contact", 200)
    assert schema is not None
    jsonschema.validate(
        {"contact": {"id": "abc", "tags": ["a"], "dndSettings": {"SMS": {"status": "active"}}}},
        schema,
    )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"contact": {"tags": "not-a-list"}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"contact": {"dndSettings": {"SMS": {"status": "maybe"}}}}, schema)
    assert catalog.response_schema("search-contacts-advanced", 200) is None
    assert catalog.response_schema("get-contact", 201) is None


def test_nullable_is_converted_to_json_schema() -> None:
    catalog = load_catalog()
    dto = {"$ref": f"{CATALOG_URI}#/schemas/contacts.CreateContactDto"}
    validator = Draft202012Validator(dto, registry=catalog.registry)
    assert validator.is_valid({"locationId": "x", "firstName": None})
    assert not validator.is_valid({"locationId": "x", "postalCode": None})
    assert not validator.is_valid({"firstName": "x"})  # locationId is required


def _keywords(node: Any, found: set[str]) -> set[str]:
    """Every keyword used in a schema tree (property *names* are not keywords)."""
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            if key == "properties":
                for sub in value.values():
                    _keywords(sub, found)
            else:
                _keywords(value, found)
    elif isinstance(node, list):
        for item in node:
            _keywords(item, found)
    return found


def test_every_schema_is_valid_json_schema_without_openapi_leftovers() -> None:
    catalog = load_catalog()
    for schema in catalog.schemas.values():
        Draft202012Validator.check_schema(schema)
    used = _keywords(list(catalog.schemas.values()), set())
    assert not used & {"nullable", "example", "description", "discriminator"}
