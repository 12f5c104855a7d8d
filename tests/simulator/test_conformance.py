"""Every operation the simulator implements answers with a 2xx the official spec allows.

Each response is validated against the catalogue's schema for its status
(`Catalog.response_schema`); the test fails if an implemented operation was not exercised, so a
new handler cannot skip conformance. Operations whose recorded GHL wire shape contradicts the
spec are listed, with the reason, in `conformance_areas.WIRE_EXCEPTIONS`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import httpx
import jsonschema
import pytest

from ghl_bridge.client.catalog import load_catalog
from ghl_bridge.simulator import implemented_operations
from tests.simulator import conformance_admin, conformance_areas, conformance_content
from tests.simulator.conformance_areas import exercise_areas
from tests.simulator.conftest import SimClient, install

_WALKS = (conformance_areas, conformance_admin, conformance_content)
AREAS = {area for walk in _WALKS for area in walk.AREAS}
WIRE_EXCEPTIONS = {op: why for walk in _WALKS for op, why in walk.WIRE_EXCEPTIONS.items()}


class Recorder:
    """Calls an operation by id and keeps its responses for validation."""

    def __init__(self, sim: SimClient) -> None:
        self.sim = sim
        self.catalog = load_catalog()
        self.responses: dict[str, list[httpx.Response]] = defaultdict(list)

    async def hit(self, op_id: str, path: str, *, token: str | None = None, **kwargs: Any) -> Any:
        op = self.catalog.operation(op_id)
        resp = await self.sim.call(op.method, path, token=token, **kwargs)
        assert resp.status_code // 100 == 2, f"{op_id}: {resp.status_code} {resp.text}"
        self.responses[op_id].append(resp)
        return resp.json()


async def _exercise_contacts(rec: Recorder, location: str) -> None:
    full = {
        "locationId": location, "firstName": "Con", "lastName": "Form",
        "email": "conform@example.com", "phone": "+15550199999", "tags": ["spec"],
        "customFields": [{"id": "f1", "field_value": "v"}],
        "dndSettings": {"SMS": {"status": "active", "message": "opted out", "code": "101"}},
        "dateOfBirth": "1988-02-29", "address1": "1 Spec Way", "website": "https://spec.test",
    }  # fmt: skip
    made = await rec.hit("create-contact", "/contacts/", json=full)
    cid = made["contact"]["id"]
    await rec.hit("get-contact", f"/contacts/{cid}")
    await rec.hit("update-contact", f"/contacts/{cid}", json={"city": "Spec City", "dnd": True})
    await rec.hit(
        "upsert-contact",
        "/contacts/upsert",
        json={"locationId": location, "email": "conform@example.com"},
    )
    await rec.hit(
        "upsert-contact",
        "/contacts/upsert",
        json={"locationId": location, "email": "fresh@example.com"},
    )
    await rec.hit("add-tags", f"/contacts/{cid}/tags", json={"tags": ["extra"]})
    await rec.hit("remove-tags", f"/contacts/{cid}/tags", json={"tags": ["spec"]})
    await rec.hit(
        "get-duplicate-contact",
        "/contacts/search/duplicate",
        params={"locationId": location, "email": "conform@example.com"},
    )
    await rec.hit(
        "search-contacts-advanced",
        "/contacts/search",
        json={"locationId": location, "pageLimit": 20},
    )
    await _exercise_records(rec, cid)
    await rec.hit("delete-contact", f"/contacts/{cid}")


async def _exercise_records(rec: Recorder, cid: str) -> None:
    note = (
        await rec.hit(
            "create-note", f"/contacts/{cid}/notes", json={"body": "n", "userId": "u" * 20}
        )
    )["note"]
    await rec.hit("get-all-notes", f"/contacts/{cid}/notes")
    await rec.hit("get-note", f"/contacts/{cid}/notes/{note['id']}")
    await rec.hit("update-note", f"/contacts/{cid}/notes/{note['id']}", json={"body": "m"})
    await rec.hit("delete-note", f"/contacts/{cid}/notes/{note['id']}")
    task = (
        await rec.hit(
            "create-task",
            f"/contacts/{cid}/tasks",
            json={"title": "t", "body": "b", "dueDate": "2026-09-01T12:00:00Z", "completed": False},
        )
    )["task"]
    await rec.hit("get-all-tasks", f"/contacts/{cid}/tasks")
    await rec.hit("get-task", f"/contacts/{cid}/tasks/{task['id']}")
    await rec.hit(
        "update-task", f"/contacts/{cid}/tasks/{task['id']}", json={"assignedTo": "a" * 20}
    )
    await rec.hit(
        "update-task-completed",
        f"/contacts/{cid}/tasks/{task['id']}/completed",
        json={"completed": True},
    )
    await rec.hit("delete-task", f"/contacts/{cid}/tasks/{task['id']}")


async def _exercise_oauth(rec: Recorder, sim: SimClient) -> None:
    company = await install(sim, userType="Company")
    app = sim.seed["app"]
    await rec.hit(
        "get-access-token", "/oauth/token",
        data={"client_id": app["clientId"], "client_secret": app["clientSecret"],
              "grant_type": "refresh_token", "refresh_token": company["refresh_token"]},
    )  # fmt: skip
    token = company["access_token"]
    company_id = sim.seed["agency"]["companyId"]
    await rec.hit(
        "get-location-access-token",
        "/oauth/locationToken",
        token=token,
        data={"companyId": company_id, "locationId": sim.location_id},
    )
    await rec.hit(
        "get-installed-location",
        "/oauth/installedLocations",
        token=token,
        params={"companyId": company_id, "appId": app["appId"]},
    )


def _answers_array(declared: dict[str, Any], status: int) -> bool:
    schema = declared.get(str(status))
    return isinstance(schema, dict) and schema.get("type") == "array"


async def test_every_implemented_operation_conforms(sim: SimClient) -> None:
    rec = Recorder(sim)
    await _exercise_contacts(rec, sim.location_id)
    await _exercise_oauth(rec, sim)
    await exercise_areas(rec, sim)
    await conformance_admin.exercise(rec, sim)
    await conformance_content.exercise(rec, sim)
    assert sorted(rec.responses) == implemented_operations()
    failures: list[str] = []
    validated: set[str] = set()
    for op_id, responses in rec.responses.items():
        declared = rec.catalog.operation(op_id).responses
        for resp in responses:
            body = (
                resp.json() if resp.headers["content-type"].startswith("application/json") else {}
            )
            if _answers_array(declared, resp.status_code):
                # A bare JSON array (the spec's answer, e.g. calendar notifications) has no
                # room for a traceId.
                assert isinstance(body, list), op_id
            else:
                assert isinstance(body, dict) and body.get("traceId"), op_id
            if op_id in WIRE_EXCEPTIONS:
                continue  # GHL's recorded wire shape contradicts the spec; see the reason
            if str(resp.status_code) not in declared:
                failures.append(
                    f"{op_id}: status {resp.status_code} not in spec {sorted(declared)}"
                )
                continue
            schema = rec.catalog.response_schema(op_id, resp.status_code)
            if schema is None:
                continue
            validator = jsonschema.Draft202012Validator(schema)
            validated.add(op_id)
            failures += [
                f"{op_id}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(body)
            ]
    assert failures == []
    # Unvalidated: operations whose 2xx the spec leaves undescribed, and the documented wire
    # exceptions. Nothing else may escape validation.
    undescribed = {
        op_id
        for op_id, responses in rec.responses.items()
        if all(rec.catalog.response_schema(op_id, r.status_code) is None for r in responses)
    }
    assert set(rec.responses) - validated == undescribed | set(WIRE_EXCEPTIONS)


@pytest.mark.parametrize("op_id", implemented_operations())
def test_implemented_operations_exist_in_the_catalogue(op_id: str) -> None:
    op = load_catalog().operation(op_id)
    assert op.area in AREAS


def test_wire_exceptions_are_implemented_and_explained() -> None:
    assert set(WIRE_EXCEPTIONS) <= set(implemented_operations())
    assert all(len(reason) > 20 for reason in WIRE_EXCEPTIONS.values())
