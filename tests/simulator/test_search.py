"""`POST /contacts/search`: grammar, sort, cursors, the 10,000 window and its errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.simulator.conftest import FakeClock, SimClient


async def search(sim: SimClient, **body: Any) -> httpx.Response:
    return await sim.call(
        "POST", "/contacts/search", json={"locationId": sim.location_id, "pageLimit": 100, **body}
    )


async def ids(sim: SimClient, **body: Any) -> list[str]:
    resp = await search(sim, **body)
    assert resp.status_code == 200, resp.text
    return [c["id"] for c in resp.json()["contacts"]]


@pytest.fixture
async def people(sim: SimClient, clock: FakeClock) -> dict[str, str]:
    """Four contacts created a minute apart (after the seed contacts), keyed by first name."""
    acme = {"companyName": "Acme Corp"}
    rows = [
        {"firstName": "Alex", "lastName": "Peter", "email": "alex@acme.test",
         "phone": "+15550100001", "tags": ["vip", "newsletter"], "dnd": True, **acme},
        {"firstName": "Bea", "lastName": "Stone", "email": "bea@acme.test",
         "phone": "+15550100002", "tags": ["newsletter"], **acme},
        {"firstName": "Cy", "lastName": "Peter", "email": "cy@other.test",
         "phone": "+44201234567", "tags": [], "source": "referral"},
        {"firstName": "Dee", "email": "dee@other.test",
         "customFields": [{"id": "score", "field_value": "42"}]},
    ]  # fmt: skip
    made = {}
    for row in rows:
        clock.advance(60)
        resp = await sim.call("POST", "/contacts/", json={"locationId": sim.location_id, **row})
        made[row["firstName"]] = resp.json()["contact"]["id"]
    return made


async def test_response_shape_and_default_order(sim: SimClient, people: dict[str, str]) -> None:
    resp = await search(sim, pageLimit=2)
    body = resp.json()
    assert set(body) == {"contacts", "total", "traceId"}
    assert body["total"] == 6 + 4
    first = body["contacts"][0]
    assert first["id"] == people["Dee"]  # newest first: dateAdded desc
    assert first["searchAfter"][1] == people["Dee"] and isinstance(first["searchAfter"][0], int)
    assert first["email"] == "dee@other.test" and first["city"] is None and first["phone"] is None
    assert first["contactName"] == "dee" and "address" in first and "opportunities" not in first


async def test_filters_leaf_group_and_nesting(sim: SimClient, people: dict[str, str]) -> None:
    dnd_or_names = [
        {"field": "dnd", "operator": "eq", "value": True},
        {"group": "OR", "filters": [
            {"field": "firstNameLowerCase", "operator": "eq", "value": "alex"},
            {"field": "lastNameLowerCase", "operator": "eq", "value": "peter"},
        ]},
    ]  # fmt: skip
    assert await ids(sim, filters=dnd_or_names) == [people["Alex"]]
    assert set(await ids(sim, filters=dnd_or_names[1:])) == {people["Alex"], people["Cy"]}
    deep = [{"group": "AND", "filters": [
        {"field": "tags", "operator": "eq", "value": "newsletter"},
        {"group": "OR", "filters": [
            {"field": "companyName", "operator": "contains", "value": "acme"},
            {"field": "source", "operator": "eq", "value": "referral"},
        ]},
    ]}]  # fmt: skip
    assert set(await ids(sim, filters=deep)) == {people["Alex"], people["Bea"]}


@pytest.mark.parametrize(
    ("leaf", "expected"),
    [
        ({"field": "email", "operator": "eq", "value": "BEA@acme.test"}, {"Bea"}),
        (
            {"field": "tags", "operator": "not_contains", "value": ["vip", "newsletter"]},
            {"Cy", "Dee"},
        ),
        ({"field": "phone", "operator": "wildcard", "value": "+44*"}, {"Cy"}),
        ({"field": "phone", "operator": "contains", "value": "0100"}, {"Alex", "Bea"}),
        (
            {"field": "customFields.score", "operator": "range", "value": {"gte": 40, "lt": 50}},
            {"Dee"},
        ),
        ({"field": "customFields.score", "operator": "exists"}, {"Dee"}),
        ({"field": "companyName", "operator": "not_exists"}, {"Cy", "Dee"}),
        ({"field": "id", "operator": "eq", "value": "PLACEHOLDER"}, {"Bea"}),
        ({"field": "source", "operator": "not_eq", "value": ""}, set()),
    ],
)
async def test_operators(
    sim: SimClient, people: dict[str, str], leaf: dict[str, Any], expected: set[str]
) -> None:
    if leaf.get("value") == "PLACEHOLDER":
        leaf = {**leaf, "value": people["Bea"]}
    found = set(await ids(sim, filters=[leaf]))
    mine = {name for name, contact_id in people.items() if contact_id in found}
    assert mine == expected
    assert found <= set(people.values()) or leaf["operator"].startswith("not_")


async def test_date_range_with_iso_and_epoch_bounds(
    sim: SimClient, people: dict[str, str], clock: FakeClock
) -> None:
    # Created at now-180 (Alex), -120 (Bea), -60 (Cy) and now (Dee).
    since = datetime.fromtimestamp(clock.now - 90, tz=UTC).isoformat()
    until_ms = int((clock.now - 30) * 1000)
    window = [{"field": "dateAdded", "operator": "range", "value": {"gte": since, "lt": until_ms}}]
    assert await ids(sim, filters=window) == [people["Cy"]]
    before = [{"field": "dateAdded", "operator": "range", "value": {"lt": "2026-01-01T00:00:00Z"}}]
    assert await ids(sim, filters=before) == []


async def test_query_free_text(sim: SimClient, people: dict[str, str]) -> None:
    assert set(await ids(sim, query="acme")) == {people["Alex"], people["Bea"]}
    assert await ids(sim, query="44 20 1234") == [people["Cy"]]


async def test_sort_two_keys_and_cursor_shape(sim: SimClient, people: dict[str, str]) -> None:
    sort = [
        {"field": "lastNameLowerCase", "direction": "asc"},
        {"field": "dateAdded", "direction": "desc"},
    ]
    resp = await search(sim, sort=sort, filters=[{"field": "email", "operator": "exists"}])
    contacts = resp.json()["contacts"]
    peters = [c for c in contacts if c["lastNameLowerCase"] == "peter"]
    assert [c["id"] for c in peters] == [people["Cy"], people["Alex"]]
    assert contacts[-1]["id"] == people["Dee"]  # no last name: missing values sort last
    assert len(peters[0]["searchAfter"]) == 3 and peters[0]["searchAfter"][0] == "peter"


async def test_search_after_walk_has_no_overlap_and_no_gap(
    sim: SimClient, people: dict[str, str]
) -> None:
    everything = await ids(sim)
    for sort in (
        None,
        [{"field": "dateUpdated", "direction": "asc"}],
        [{"field": "email", "direction": "desc"}],
    ):
        seen: list[str] = []
        cursor = None
        while True:
            body: dict[str, Any] = {"pageLimit": 3}
            if sort:
                body["sort"] = sort
            if cursor:
                body["searchAfter"] = cursor
            resp = (await search(sim, **body)).json()
            assert resp["total"] == len(everything)
            if not resp["contacts"]:
                break
            seen += [c["id"] for c in resp["contacts"]]
            cursor = resp["contacts"][-1]["searchAfter"]
        assert len(seen) == len(set(seen)) == len(everything)
        assert set(seen) == set(everything)


async def test_page_is_one_based_and_window_is_10000(
    sim: SimClient, people: dict[str, str]
) -> None:
    everything = await ids(sim)
    assert await ids(sim, pageLimit=4, page=2) == everything[4:8]
    ok = await search(sim, pageLimit=500, page=20)
    assert (ok.status_code, ok.json()["contacts"]) == (200, [])
    too_far = await search(sim, pageLimit=500, page=21)
    assert too_far.status_code == 400
    assert "searchAfter" in too_far.json()["message"]


async def test_unknown_field_is_400(sim: SimClient) -> None:
    resp = await search(
        sim, filters=[{"field": "date_updated", "operator": "range", "value": {"gte": 1}}]
    )
    assert resp.status_code == 400
    assert resp.json() | {"traceId": "-"} == {
        "message": "Invalid field date_updated",
        "error": "Bad Request",
        "statusCode": 400,
        "traceId": "-",
    }
    nested = await search(
        sim, filters=[{"field": "additional_phones", "operator": "nested", "value": []}]
    )
    assert nested.json()["message"] == "Invalid field additional_phones"


@pytest.mark.parametrize(
    ("leaf", "message"),
    [
        (
            {"field": "dateUpdated", "operator": "gte", "value": 1},
            "Invalid Operator gte passed for field date_updated",
        ),
        (
            {"field": "email", "operator": "contains", "value": "abc"},
            "Invalid Operator contains passed for field email",
        ),
        (
            {"field": "phone", "operator": "contains", "value": "+1"},
            "value must be longer than or equal to 3 characters",
        ),
        (
            {"field": "tags", "operator": "eq", "value": "x" * 76},
            "value must be shorter than or equal to 75 characters",
        ),
        (
            {"field": "dnd", "operator": "exists", "value": True},
            "value should not be provided for operator exists",
        ),
        (
            {"field": "dateAdded", "operator": "range", "value": {"from": 1}},
            "value must be an object with gt, gte, lt and/or lte",
        ),
    ],
)
async def test_invalid_operator_or_value_is_422(
    sim: SimClient, leaf: dict[str, Any], message: str
) -> None:
    resp = await search(sim, filters=[leaf])
    assert resp.status_code == 422
    assert resp.json()["message"] == [message]


async def test_unknown_operator_lists_the_parser_set(sim: SimClient) -> None:
    resp = await search(sim, filters=[{"field": "email", "operator": "like", "value": "a"}])
    assert resp.status_code == 422
    assert resp.json()["message"][0].startswith(
        "operator must be one of the following values: eq, not_eq"
    )


async def test_opportunities_nested_filter_parses(sim: SimClient) -> None:
    leaf = {
        "field": "opportunities",
        "operator": "nested",
        "value": [{"field": "status", "operator": "eq", "value": "open"}],
    }
    assert await ids(sim, filters=[leaf]) == []  # the simulator's contacts have no opportunities
    bad = {**leaf, "value": [{"field": "monetaryValue", "operator": "eq", "value": 1}]}
    assert (await search(sim, filters=[bad])).status_code == 400


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"pageLimit": None}, "pageLimit should not be empty"),
        ({"pageLimit": 501}, "pageLimit must not be greater than 500"),
        ({"page": 0}, "page must not be less than 1"),
        ({"pageSize": 10}, "property pageSize should not exist"),
        ({"query": "q" * 76}, "query must be a string shorter than or equal to 75 characters"),
        (
            {"sort": [{"field": "dateAdded", "direction": "asc"}] * 3},
            "sort must contain no more than 2 elements",
        ),
        ({"page": 2, "searchAfter": [1, "x"]}, "page and searchAfter cannot be used together"),
        ({"locationId": None}, "locationId should not be empty"),
    ],
)
async def test_body_validation_is_422(sim: SimClient, body: dict[str, Any], message: str) -> None:
    resp = await search(sim, **body)
    assert resp.status_code == 422
    assert message in resp.json()["message"]


async def test_bad_sort_and_mismatched_cursor(sim: SimClient) -> None:
    bad_sort = await search(sim, sort=[{"field": "city", "direction": "asc"}])
    assert bad_sort.status_code == 422
    mismatched = await search(sim, searchAfter=["not-a-number", "id"])
    assert mismatched.status_code == 400
    too_short = await search(sim, searchAfter=[1])
    assert too_short.status_code == 400
