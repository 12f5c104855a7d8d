"""Form and survey actions: list them, page through their submissions, and turn a form
submission into a contact with a custom field mapping.

GHL creates a contact from a submission itself, but only into the fields the form was built
with; ``forms.submission_to_contact`` maps any answer onto any standard or custom contact field
afterwards. GHL has no endpoint for one submission, so finding one by id pages the list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from ghl_bridge.actions.models import JSON, Id, Input, Limit, Output, Page, Record, Tag, page_of
from ghl_bridge.actions.registry import ActionContext, ActionSet, Kind
from ghl_bridge.errors import InvalidInput, NotFound

actions = ActionSet()

FORMS, SURVEYS = ("forms.readonly",), ("surveys.readonly",)
Day = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
# When a submission is looked up by id without a date range: GHL's own default is one month.
EARLIEST = "2015-01-01"
_MOST_SCANNED = 10_000


class ListQuery(Input):
    limit: Limit = 500


@actions.define("forms.list", "The location's forms (id and name).", scopes=FORMS)
async def list_forms(ctx: ActionContext, data: ListQuery) -> Page:
    found = [f async for f in ctx.ghl.forms.iter_list(ctx.location_id, max_items=data.limit + 1)]
    return page_of(found, data.limit)


@actions.define("surveys.list", "The location's surveys (id and name).", scopes=SURVEYS)
async def list_surveys(ctx: ActionContext, data: ListQuery) -> Page:
    found = [s async for s in ctx.ghl.surveys.iter_list(ctx.location_id, max_items=data.limit + 1)]
    return page_of(found, data.limit)


class Window(Input):
    start_at: Day | None = Field(default=None, description="first day (UTC), YYYY-MM-DD")
    end_at: Day | None = Field(default=None, description="last day, inclusive")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.start_at and self.end_at and self.start_at > self.end_at:
            raise ValueError("startAt is after endAt")
        return self


class SubmissionQuery(Window):
    q: str | None = Field(default=None, max_length=255, description="contact id, name or email")
    limit: Limit = 100


class FormSubmissions(SubmissionQuery):
    form_id: Id | None = None


class SurveySubmissions(SubmissionQuery):
    survey_id: Id | None = None


Pages = Callable[..., AsyncIterator[JSON]]


async def _submissions(pages: Pages, ctx: ActionContext, data: SubmissionQuery) -> Page:
    query = data.wire(exclude={"limit"})
    found = [s async for s in pages(ctx.location_id, query, max_items=data.limit + 1)]
    return page_of(found, data.limit)


_WINDOW_NOTE = "Without startAt, GHL returns only the last month's submissions."


@actions.define(
    "forms.submissions",
    "Form submissions, newest first, optionally of one form and within a date range.",
    scopes=FORMS,
    notes=_WINDOW_NOTE,
)
async def form_submissions(ctx: ActionContext, data: FormSubmissions) -> Page:
    return await _submissions(ctx.ghl.forms.iter_submissions, ctx, data)


@actions.define(
    "surveys.submissions",
    "Survey submissions, newest first, optionally of one survey and within a date range.",
    scopes=SURVEYS,
    notes=_WINDOW_NOTE,
)
async def survey_submissions(ctx: ActionContext, data: SurveySubmissions) -> Page:
    return await _submissions(ctx.ghl.surveys.iter_submissions, ctx, data)


# --- a submission into a contact ------------------------------------------------------------

# GHL's own form field keys, mapped without being asked unless ``standardFields`` is false.
STANDARD = {
    "first_name": "firstName", "last_name": "lastName", "full_name": "name", "email": "email",
    "phone": "phone", "address": "address1", "city": "city", "state": "state",
    "postal_code": "postalCode", "country": "country", "website": "website",
    "organization": "companyName", "date_of_birth": "dateOfBirth",
}  # fmt: skip
# Standard contact fields a mapping may name (camelCase or snake_case); the rest are custom.
CONTACT_FIELDS = frozenset({*STANDARD.values(), "timezone", "source", "gender"})
FieldRef = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class SubmissionToContact(Window):
    submission_id: Id | None = Field(default=None, description="looked up among the submissions")
    submission: dict[str, Any] | None = Field(default=None, description="or the submission itself")
    form_id: Id | None = Field(default=None, description="narrows the lookup by id")
    mapping: dict[FieldRef, FieldRef] = Field(
        default_factory=dict,
        max_length=200,
        description="form field key → contact field (firstName, city...) or custom field id,"
        " key or name",
    )
    standard_fields: bool = Field(
        default=True, description="also map GHL's own keys (full_name, email, phone...)"
    )
    tags: list[Tag] | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _one_submission(self) -> SubmissionToContact:
        if (self.submission_id is None) == (self.submission is None):
            raise ValueError("give either a submissionId or a submission")
        return self


class SubmissionContact(Output):
    contact: Record
    new: bool = Field(description="true when GHL created the contact, false when it matched one")
    submission_id: str | None = None
    mapped: dict[str, str] = Field(description="form field key → the contact field it set")
    missing: list[str] = Field(description="mapped keys the submission has no answer for")


async def _find_submission(ctx: ActionContext, data: SubmissionToContact) -> JSON:
    if data.submission is not None:
        return data.submission
    query = {"startAt": data.start_at or EARLIEST, "endAt": data.end_at, "formId": data.form_id}
    query = {name: value for name, value in query.items() if value}
    async for found in ctx.ghl.forms.iter_submissions(
        ctx.location_id, query, max_items=_MOST_SCANNED
    ):
        if found.get("id") == data.submission_id:
            return found
    raise NotFound(f"no form submission {data.submission_id} in that date range")


def _answer(submission: JSON, key: str) -> Any:
    others = submission.get("others") or {}
    value = others.get(key, submission.get(key))
    return None if value in (None, "", []) else value


def _plan(data: SubmissionToContact) -> dict[str, str]:
    """form key → target: the standard keys first, the caller's mapping over them."""
    plan = dict(STANDARD) if data.standard_fields else {}
    plan.update(data.mapping)
    return plan


@actions.define(
    "forms.submission_to_contact",
    "Create or update the contact a form submission describes, mapping its answers onto"
    " standard and custom contact fields.",
    scopes=(*FORMS, "contacts.write", "locations/customFields.readonly"),
    kind=Kind.WRITE,
    retry_safe=True,
    notes="An upsert: matches on the mapped email or phone. GHL has no get-one-submission"
    " endpoint, so a submissionId is found by paging the submissions (narrow it with formId and"
    " startAt; without startAt the search goes back to 2015). Custom fields may be named by id,"
    " key or name.",
)
async def submission_to_contact(ctx: ActionContext, data: SubmissionToContact) -> SubmissionContact:
    submission = await _find_submission(ctx, data)
    body: JSON = {}
    custom: list[tuple[str, Any]] = []
    mapped: dict[str, str] = {}
    missing = []
    for key, target in _plan(data).items():
        value = _answer(submission, key)
        if value is None:
            if key in data.mapping:
                missing.append(key)
            continue
        field = to_camel(target) if to_camel(target) in CONTACT_FIELDS else None
        if field:
            body[field] = value
        else:
            custom.append((target, value))
        mapped[key] = field or target
    if not (body.get("email") or body.get("phone")):
        raise InvalidInput("the submission gives no email or phone to match a contact on")
    if custom:
        fields = await ctx.support.field_map(ctx.ghl, ctx.location_id)
        body["customFields"] = fields.resolve(custom)
    if data.tags:
        body["tags"] = list(data.tags)
    answer = await ctx.ghl.contacts.upsert(ctx.location_id, body, options=ctx.opts)
    return SubmissionContact(
        contact=Record.model_validate(answer.get("contact", answer)),
        new=bool(answer.get("new")),
        submission_id=submission.get("id"),
        mapped=mapped,
        missing=missing,
    )
