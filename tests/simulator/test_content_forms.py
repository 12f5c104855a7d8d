"""Forms and surveys: skip/limit lists, page/limit submissions with meta, filters, date window."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ghl_bridge.simulator.seed_content import (
    FORM_SUBMISSIONS_PER_LOCATION,
    SURVEY_SUBMISSIONS_PER_LOCATION,
)
from tests.simulator.conftest import FakeClock, SimClient

MARCH = {"startAt": "2026-03-01", "endAt": "2026-03-31"}  # the seeded submissions' month


async def submissions(sim: SimClient, family: str = "forms", **params: Any) -> dict[str, Any]:
    query = {"locationId": sim.location_id, **params}
    resp = await sim.call("GET", f"/{family}/submissions", params=query)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_lists_page_with_skip_and_limit_and_report_the_total(sim: SimClient) -> None:
    query = {"locationId": sim.location_id}
    forms = (await sim.call("GET", "/forms/", params=query)).json()
    assert [f["name"] for f in forms["forms"]] == [
        "Contact Us", "Request a Quote", "Newsletter Signup",
    ]  # fmt: skip
    assert forms["total"] == 3
    second = (await sim.call("GET", "/forms/", params={**query, "skip": 1, "limit": 1})).json()
    assert ([f["name"] for f in second["forms"]], second["total"]) == (["Request a Quote"], 3)
    surveys = (await sim.call("GET", "/surveys/", params=query)).json()
    assert [s["name"] for s in surveys["surveys"]] == ["Customer Satisfaction", "Service Feedback"]
    too_many = await sim.call("GET", "/forms/", params={**query, "limit": 51})
    assert too_many.json()["message"] == ["limit must not be greater than 50"]


async def test_submissions_walk_every_page_newest_first(sim: SimClient) -> None:
    seen: list[dict[str, Any]] = []
    page: int | None = 1
    metas = []
    while page is not None:
        body = await submissions(sim, page=page, limit=3, **MARCH)
        seen += body["submissions"]
        metas.append(body["meta"])
        page = body["meta"]["nextPage"]
    assert len(seen) == FORM_SUBMISSIONS_PER_LOCATION
    assert [m["currentPage"] for m in metas] == [1, 2, 3]
    assert [m["prevPage"] for m in metas] == [None, 1, 2]
    assert {m["total"] for m in metas} == {FORM_SUBMISSIONS_PER_LOCATION}
    stamps = [s["createdAt"] for s in seen]
    assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == len(stamps)
    first = seen[0]
    assert first["others"]["email"] == first["email"] and first["contactId"]
    contact = await sim.call("GET", f"/contacts/{first['contactId']}")
    assert contact.json()["contact"]["email"] == first["email"]


async def test_filters_by_form_text_and_days(sim: SimClient) -> None:
    forms = (await sim.call("GET", "/forms/", params={"locationId": sim.location_id})).json()
    first_form = forms["forms"][0]["id"]
    by_form = await submissions(sim, formId=first_form, **MARCH)
    assert by_form["meta"]["total"] == 3
    assert {s["formId"] for s in by_form["submissions"]} == {first_form}
    anyone = by_form["submissions"][0]
    by_email = await submissions(sim, q=anyone["email"].upper(), **MARCH)
    assert anyone["id"] in {s["id"] for s in by_email["submissions"]}
    assert {s["email"] for s in by_email["submissions"]} == {anyone["email"]}
    by_contact = await submissions(sim, q=anyone["contactId"], **MARCH)
    assert {s["contactId"] for s in by_contact["submissions"]} == {anyone["contactId"]}
    # Seeded every two days from 2 March; endAt takes in its whole day.
    days = await submissions(sim, startAt="2026-03-04", endAt="2026-03-08")
    assert [s["createdAt"][:10] for s in days["submissions"]] == [
        "2026-03-08", "2026-03-06", "2026-03-04",
    ]  # fmt: skip


async def test_dates_default_to_the_last_month(sim: SimClient, clock: FakeClock) -> None:
    assert (await submissions(sim))["meta"]["total"] == 0  # the clock is months later
    clock.now = datetime(2026, 3, 20, 12, tzinfo=UTC).timestamp()
    assert (await submissions(sim))["meta"]["total"] == FORM_SUBMISSIONS_PER_LOCATION
    clock.now = datetime(2026, 4, 7, 12, tzinfo=UTC).timestamp()  # window from 7 March
    assert (await submissions(sim))["meta"]["total"] == 5


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"startAt": "03/01/2026"}, "startAt must be a valid date (YYYY-MM-DD)"),
        ({"page": 0}, "page must not be less than 1"),
        ({"limit": 101}, "limit must not be greater than 100"),
        ({"limit": "lots"}, "limit must be a number conforming to the specified constraints"),
    ],
)
async def test_bad_queries_are_422(sim: SimClient, params: dict[str, Any], message: str) -> None:
    query = {"locationId": sim.location_id, **params}
    resp = await sim.call("GET", "/forms/submissions", params=query)
    assert (resp.status_code, resp.json()["message"]) == (422, [message])


async def test_survey_submissions_and_tenancy(sim: SimClient) -> None:
    body = await submissions(sim, "surveys", **MARCH)
    assert body["meta"] == {
        "total": SURVEY_SUBMISSIONS_PER_LOCATION, "currentPage": 1, "nextPage": None,
        "prevPage": None,
    }  # fmt: skip
    assert all("surveyId" in s and "formId" not in s for s in body["submissions"])
    for path in ("/forms/", "/surveys/submissions"):
        resp = await sim.call("GET", path, params={"locationId": sim.other_location_id})
        assert resp.status_code == 403
    theirs = await sim.call(
        "GET",
        "/surveys/submissions",
        params={"locationId": sim.other_location_id, **MARCH},
        token=sim.pit(1),
    )
    mine = {s["id"] for s in body["submissions"]}
    assert mine.isdisjoint(s["id"] for s in theirs.json()["submissions"])
