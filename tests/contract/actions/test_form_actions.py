"""Form and survey actions against the simulator's seeded forms, surveys and submissions, and
turning a submission into a contact with a custom field mapping."""

from __future__ import annotations

from typing import Any

from tests.contract.actions.conftest import Acts

from ghl_bridge.simulator.seed_content import (
    FORM_SUBMISSIONS_PER_LOCATION,
    SURVEY_SUBMISSIONS_PER_LOCATION,
)

SINCE = {"startAt": "2026-01-01", "endAt": "2026-12-31"}  # the seed dates them March-April 2026


async def test_forms_and_surveys_list(acts: Acts) -> None:
    forms = await acts.run("forms.list", {})
    assert {f["name"] for f in forms["items"]} == {
        "Contact Us",
        "Request a Quote",
        "Newsletter Signup",
    }
    one = await acts.run("forms.list", {"limit": 1})
    assert one["count"] == 1 and one["truncated"] is True
    surveys = await acts.run("surveys.list", {})
    assert {s["name"] for s in surveys["items"]} == {"Customer Satisfaction", "Service Feedback"}
    assert await acts.invalid("forms.list", {"limit": 0}) == ["limit"]
    assert await acts.invalid("surveys.list", {"limit": "many"}) == ["limit"]


async def test_form_submissions_page_filter_and_truncate(acts: Acts) -> None:
    every = await acts.run("forms.submissions", SINCE)
    assert every["count"] == FORM_SUBMISSIONS_PER_LOCATION and every["truncated"] is False
    dates = [s["createdAt"] for s in every["items"]]
    assert dates == sorted(dates, reverse=True)
    form_id = every["items"][0]["formId"]
    of_one = await acts.run("forms.submissions", {**SINCE, "formId": form_id})
    assert of_one["count"] and {s["formId"] for s in of_one["items"]} == {form_id}
    few = await acts.run("forms.submissions", {**SINCE, "limit": 3})
    assert few["count"] == 3 and few["truncated"] is True
    backwards = {"startAt": "2026-05-01", "endAt": "2026-04-01"}
    assert await acts.invalid("forms.submissions", backwards) == ["(root)"]
    assert await acts.invalid("forms.submissions", {"startAt": "01/05/2026"}) == ["startAt"]


async def test_survey_submissions(acts: Acts) -> None:
    every = await acts.run("surveys.submissions", {**SINCE, "limit": 500})
    assert every["count"] == SURVEY_SUBMISSIONS_PER_LOCATION
    survey_id = every["items"][0]["surveyId"]
    of_one = await acts.run("surveys.submissions", {**SINCE, "surveyId": survey_id})
    assert {s["surveyId"] for s in of_one["items"]} == {survey_id}
    assert await acts.invalid("surveys.submissions", {"surveyID": survey_id}) == ["surveyID"]


async def _budget_field(acts: Acts) -> str:
    made = await acts.run("custom_fields.create", {"name": "Quote Budget", "dataType": "TEXT"})
    return str(made["customField"]["id"])


def _values(contact: dict[str, Any]) -> dict[str, Any]:
    return {f["id"]: f.get("value") for f in contact.get("customFields", [])}


async def test_submission_object_to_a_new_contact_with_custom_fields(acts: Acts) -> None:
    field_id = await _budget_field(acts)
    submission = {
        "id": "sub123",
        "others": {"full_name": "Zed Quinn", "email": "zed@example.com", "budget": "5000",
                   "size": "12"},
    }  # fmt: skip
    out = await acts.run(
        "forms.submission_to_contact",
        {"submission": submission, "mapping": {"budget": "Quote Budget", "size": "company_name",
                                               "colour": "Quote Budget"}, "tags": ["web-form"]},
    )  # fmt: skip
    assert out["new"] is True and out["submissionId"] == "sub123"
    assert out["mapped"] == {"full_name": "name", "email": "email", "budget": "Quote Budget",
                             "size": "companyName"}  # fmt: skip
    assert out["missing"] == ["colour"]
    got = (await acts.run("contacts.get", {"contactId": out["contact"]["id"]}))["contact"]
    assert got["email"] == "zed@example.com" and got["companyName"] == "12"
    assert _values(got)[field_id] == "5000" and "web-form" in got["tags"]


async def test_submission_by_id_updates_its_contact(acts: Acts) -> None:
    seeded = (await acts.run("forms.submissions", {**SINCE, "limit": 1}))["items"][0]
    out = await acts.run(
        "forms.submission_to_contact",
        {"submissionId": seeded["id"], "formId": seeded["formId"], "mapping": {"phone": "city"}},
    )
    assert out["new"] is False and out["contact"]["id"] == seeded["contactId"]
    got = (await acts.run("contacts.get", {"contactId": seeded["contactId"]}))["contact"]
    assert got["city"] == seeded["others"]["phone"]


async def test_submission_to_contact_refusals(acts: Acts) -> None:
    both = {"submissionId": "s1", "submission": {"id": "s1"}}
    assert await acts.invalid("forms.submission_to_contact", both) == ["(root)"]
    assert await acts.invalid("forms.submission_to_contact", {}) == ["(root)"]
    missing = await acts.refused(
        "forms.submission_to_contact", {"submissionId": "nope123", "startAt": "2026-01-01"}
    )
    assert missing.code == "not_found"
    anonymous = {"submission": {"id": "s2", "others": {"full_name": "No Contact"}}}
    nameless = await acts.refused("forms.submission_to_contact", anonymous)
    assert nameless.code == "validation_error" and "email or phone" in nameless.message
    unknown_field = {
        "submission": {"id": "s3", "others": {"email": "u@example.com", "x": "1"}},
        "mapping": {"x": "No Such Field"},
    }
    refused = await acts.refused("forms.submission_to_contact", unknown_field)
    assert refused.code == "validation_error" and refused.details["unknown"] == ["No Such Field"]
