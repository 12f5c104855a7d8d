"""Contact actions: CRUD, upsert, search, tags, custom fields by name, notes, tasks, activity.

Inputs follow the spec's CreateContactDto/UpdateContactDto (checked by a contract test) but are
closed, so a typo fails here. Custom fields may be named by id, key or display name; they are
resolved through the location's cached field map (``ActionSupport.field_map``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field, model_validator

from ghl_bridge.actions.models import (
    JSON,
    BulkOut,
    CustomFieldValue,
    Deleted,
    Email,
    Id,
    Input,
    Instant,
    ItemResult,
    Limit,
    Name,
    Output,
    Page,
    Phone,
    Record,
    Tag,
    Text,
    page_of,
)
from ghl_bridge.actions.registry import ActionContext, ActionSet, Kind
from ghl_bridge.client import GHLError
from ghl_bridge.errors import InvalidInput

actions = ActionSet()

READ, WRITE = ("contacts.readonly",), ("contacts.write",)


class ContactFields(Input):
    first_name: Name | None = None
    last_name: Name | None = None
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    gender: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = Field(default=None, min_length=2, max_length=2)
    website: str | None = None
    timezone: str | None = None
    dnd: bool | None = None
    tags: list[Tag] | None = Field(default=None, max_length=100)
    custom_fields: list[CustomFieldValue] | None = Field(default=None, max_length=200)
    source: str | None = None
    company_name: str | None = None
    assigned_to: Id | None = None
    date_of_birth: str | None = None


class NewContact(ContactFields):
    @model_validator(mode="after")
    def _identified(self) -> NewContact:
        if not (self.email or self.phone or self.first_name or self.last_name or self.name):
            raise ValueError("give at least one of email, phone, firstName, lastName, name")
        return self


class UpsertContact(ContactFields):
    @model_validator(mode="after")
    def _matchable(self) -> UpsertContact:
        if not (self.email or self.phone):
            raise ValueError("an upsert matches on email or phone: give at least one")
        return self


class ContactRef(Input):
    contact_id: Id


class ContactChange(ContactFields):
    contact_id: Id


class ContactOut(Output):
    contact: Record


class UpsertOut(Output):
    contact: Record
    new: bool = Field(description="true when GHL created the contact, false when it matched one")


async def _body(ctx: ActionContext, data: ContactFields, *, drop: set[str] | None = None) -> JSON:
    body = data.wire(exclude={"custom_fields", *(drop or set())})
    if data.custom_fields:
        body["customFields"] = await ctx.support.field_values(
            ctx.ghl, ctx.location_id, data.custom_fields, "contact"
        )
    return body


def _contact(answer: JSON) -> Record:
    return Record.model_validate(answer.get("contact", answer))


@actions.define(
    "contacts.create",
    "Create a contact in a location (fires GHL's ContactCreate webhook).",
    scopes=WRITE,
    kind=Kind.WRITE,
    retry_safe=False,
    notes="GHL does not deduplicate creates, even keyed ones; use contacts.upsert to retry"
    " safely. Custom fields may be named by id, key or name.",
)
async def create(ctx: ActionContext, data: NewContact) -> ContactOut:
    answer = await ctx.ghl.contacts.create(
        ctx.location_id, await _body(ctx, data), options=ctx.opts
    )
    return ContactOut(contact=_contact(answer))


@actions.define("contacts.get", "Get one contact by id.", scopes=READ)
async def get(ctx: ActionContext, data: ContactRef) -> ContactOut:
    answer = await ctx.ghl.contacts.get(ctx.location_id, data.contact_id, options=ctx.opts)
    return ContactOut(contact=_contact(answer))


@actions.define(
    "contacts.update",
    "Change a contact's fields; fields not given are left as they are.",
    scopes=WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
    notes="GHL replaces the whole tags list when tags is given; use contacts.add_tags to add.",
)
async def update(ctx: ActionContext, data: ContactChange) -> ContactOut:
    body = await _body(ctx, data, drop={"contact_id"})
    if not body:
        raise InvalidInput("give at least one field to change")
    answer = await ctx.ghl.contacts.update(ctx.location_id, data.contact_id, body, options=ctx.opts)
    return ContactOut(contact=_contact(answer))


@actions.define(
    "contacts.delete",
    "Delete a contact (and its notes, tasks and conversations, at GHL).",
    scopes=WRITE,
    kind=Kind.DESTRUCTIVE,
    retry_safe=True,
)
async def delete(ctx: ActionContext, data: ContactRef) -> Deleted:
    await ctx.ghl.contacts.delete(ctx.location_id, data.contact_id, options=ctx.opts)
    return Deleted(id=data.contact_id)


@actions.define(
    "contacts.upsert",
    "Create a contact, or update the one with the same email or phone (per the location's"
    " duplicate settings).",
    scopes=WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
)
async def upsert(ctx: ActionContext, data: UpsertContact) -> UpsertOut:
    answer = await ctx.ghl.contacts.upsert(
        ctx.location_id, await _body(ctx, data), options=ctx.opts
    )
    return UpsertOut(contact=_contact(answer), new=bool(answer.get("new")))


class SearchContacts(Input):
    query: str | None = Field(default=None, max_length=75, description="free text")
    filters: list[dict[str, Any]] | None = Field(default=None, max_length=50)
    sort: list[dict[str, Any]] | None = Field(default=None, max_length=2)
    limit: Limit = Field(default=100, description="stop after this many contacts")


@actions.define(
    "contacts.search",
    "Search contacts with GHL's filter grammar, following its cursor across pages.",
    scopes=READ,
    notes="Search reads an index that lags writes by a few seconds (GHL's own caveat).",
)
async def search(ctx: ActionContext, data: SearchContacts) -> Page:
    body = data.wire(exclude={"limit"})
    found = [
        c
        async for c in ctx.ghl.contacts.iter_search(ctx.location_id, body, max_items=data.limit + 1)
    ]
    return page_of(found, data.limit)


class DuplicateQuery(Input):
    email: Email | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _something(self) -> DuplicateQuery:
        if not (self.email or self.phone):
            raise ValueError("give an email or a phone")
        return self


class MaybeContact(Output):
    contact: Record | None = None


@actions.define(
    "contacts.find_duplicate",
    "The contact GHL would treat as a duplicate of this email or phone, if any.",
    scopes=READ,
)
async def find_duplicate(ctx: ActionContext, data: DuplicateQuery) -> MaybeContact:
    answer = await ctx.ghl.contacts.find_duplicate(
        ctx.location_id, email=data.email, phone=data.phone, options=ctx.opts
    )
    found = answer.get("contact")
    return MaybeContact(contact=Record.model_validate(found) if found else None)


class TagChange(Input):
    contact_id: Id
    tags: list[Tag] = Field(min_length=1, max_length=100)


class TagsOut(Output):
    tags: list[str]


@actions.define(
    "contacts.add_tags",
    "Add tags to a contact (tags are a set: adding one twice is harmless).",
    scopes=WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
)
async def add_tags(ctx: ActionContext, data: TagChange) -> TagsOut:
    answer = await ctx.ghl.contacts.add_tags(
        ctx.location_id, data.contact_id, data.tags, options=ctx.opts
    )
    return TagsOut(tags=list(answer.get("tags") or []))


@actions.define(
    "contacts.remove_tags",
    "Remove tags from a contact.",
    scopes=WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
)
async def remove_tags(ctx: ActionContext, data: TagChange) -> TagsOut:
    answer = await ctx.ghl.contacts.remove_tags(
        ctx.location_id, data.contact_id, data.tags, options=ctx.opts
    )
    return TagsOut(tags=list(answer.get("tags") or []))


class BulkTags(Input):
    contact_ids: list[Id] = Field(min_length=1, max_length=500)
    add: list[Tag] = Field(default_factory=list, max_length=100)
    remove: list[Tag] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _something(self) -> BulkTags:
        if not (self.add or self.remove):
            raise ValueError("give tags to add or remove")
        return self


_BULK_CONCURRENCY = 4  # the rate limiter paces GHL; this only bounds tasks in flight


@actions.define(
    "contacts.bulk_update_tags",
    "Add and/or remove tags on many contacts; answers per contact.",
    scopes=WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
    notes="GHL has no bulk tag endpoint for API clients: one or two calls per contact, paced by"
    " the rate limiter. A contact that fails does not stop the others.",
)
async def bulk_update_tags(ctx: ActionContext, data: BulkTags) -> BulkOut:
    gate = asyncio.Semaphore(_BULK_CONCURRENCY)

    async def one(contact_id: str) -> ItemResult:
        async with gate:
            try:
                if data.add:
                    await ctx.ghl.contacts.add_tags(ctx.location_id, contact_id, data.add)
                if data.remove:
                    await ctx.ghl.contacts.remove_tags(ctx.location_id, contact_id, data.remove)
            except GHLError as exc:  # reported per item; the batch goes on
                return ItemResult(id=contact_id, ok=False, error=str(exc)[:500])
            return ItemResult(id=contact_id, ok=True)

    results = await asyncio.gather(*(one(cid) for cid in dict.fromkeys(data.contact_ids)))
    good = sum(r.ok for r in results)
    return BulkOut(results=list(results), succeeded=good, failed=len(results) - good)


class SetFields(Input):
    contact_id: Id
    values: dict[str, Any] = Field(
        min_length=1,
        max_length=200,
        description="field id, key (contact.x or x) or display name → value",
    )


@actions.define(
    "contacts.set_custom_fields",
    "Set a contact's custom fields, named by id, key or display name.",
    scopes=WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
    notes="Names and keys are resolved through the location's field map, cached five minutes.",
)
async def set_custom_fields(ctx: ActionContext, data: SetFields) -> ContactOut:
    fields = await ctx.support.field_map(ctx.ghl, ctx.location_id)
    body = {"customFields": fields.resolve(data.values.items())}
    answer = await ctx.ghl.contacts.update(ctx.location_id, data.contact_id, body, options=ctx.opts)
    return ContactOut(contact=_contact(answer))


class NewNote(Input):
    contact_id: Id
    body: Text = Field(min_length=1)
    user_id: Id | None = None


class NoteOut(Output):
    note: Record


@actions.define(
    "contacts.add_note",
    "Add a note to a contact.",
    scopes=WRITE,
    kind=Kind.WRITE,
    retry_safe=False,
    notes="A retried create may add the note twice.",
)
async def add_note(ctx: ActionContext, data: NewNote) -> NoteOut:
    answer = await ctx.ghl.contacts.notes.create(
        ctx.location_id, data.contact_id, data.wire(exclude={"contact_id"}), options=ctx.opts
    )
    return NoteOut(note=Record.model_validate(answer.get("note", answer)))


class NewTask(Input):
    contact_id: Id
    title: Name
    body: Text | None = None
    due_date: Instant
    assigned_to: Id | None = None
    completed: bool = False


class TaskOut(Output):
    task: Record


@actions.define(
    "contacts.create_task",
    "Create a task (to-do) on a contact.",
    scopes=WRITE,
    kind=Kind.WRITE,
    retry_safe=False,
    notes="A retried create may add the task twice.",
)
async def create_task(ctx: ActionContext, data: NewTask) -> TaskOut:
    body = {**data.wire(exclude={"contact_id"}), "completed": data.completed}
    answer = await ctx.ghl.contacts.tasks.create(
        ctx.location_id, data.contact_id, body, options=ctx.opts
    )
    return TaskOut(task=Record.model_validate(answer.get("task", answer)))


class TaskDone(Input):
    contact_id: Id
    task_id: Id
    completed: bool = True


@actions.define(
    "contacts.complete_task",
    "Mark a contact's task completed (or open again with completed: false).",
    scopes=WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
)
async def complete_task(ctx: ActionContext, data: TaskDone) -> TaskOut:
    answer = await ctx.ghl.contacts.tasks.set_completed(
        ctx.location_id, data.contact_id, data.task_id, data.completed, options=ctx.opts
    )
    return TaskOut(task=Record.model_validate(answer.get("task", answer)))


class ActivityQuery(Input):
    contact_id: Id
    limit: int = Field(default=100, ge=1, le=1000)


class Activity(Output):
    type: str = Field(description="note, task, appointment or message")
    id: str
    at: str | None = Field(default=None, description="when it happened (GHL's timestamp)")
    record: dict[str, Any]


class ActivityOut(Output):
    items: list[Activity]
    count: int


def _when(record: JSON, *names: str) -> str | None:
    for name in names:
        value = record.get(name)
        if value:
            return str(value)
    return None


async def _messages(ctx: ActionContext, contact_id: str, limit: int) -> list[Activity]:
    items = []
    query = {"contactId": contact_id}
    async for conversation in ctx.ghl.conversations.iter_search(
        ctx.location_id, query, max_items=20
    ):
        async for message in ctx.ghl.conversations.iter_messages(
            ctx.location_id, str(conversation["id"]), max_items=limit
        ):
            when = _when(message, "dateAdded", "dateUpdated")
            items.append(Activity(type="message", id=str(message["id"]), at=when, record=message))
    return items


@actions.define(
    "contacts.activity",
    "A contact's notes, tasks, appointments and messages merged into one timeline, newest first.",
    scopes=("contacts.readonly", "conversations.readonly", "conversations/message.readonly"),
    notes="GHL has no timeline endpoint: this reads notes, tasks, appointments and each"
    " conversation's messages (four or more calls) and merges them.",
)
async def activity(ctx: ActionContext, data: ActivityQuery) -> ActivityOut:
    loc, cid = ctx.location_id, data.contact_id
    notes, tasks, appointments, messages = await asyncio.gather(
        ctx.ghl.contacts.notes.list(loc, cid, options=ctx.opts),
        ctx.ghl.contacts.tasks.list(loc, cid, options=ctx.opts),
        ctx.ghl.contacts.list_appointments(loc, cid, options=ctx.opts),
        _messages(ctx, cid, data.limit),
    )
    items = [
        *(
            Activity(type="note", id=str(n["id"]), at=_when(n, "dateAdded"), record=n)
            for n in notes.get("notes", [])
        ),
        *(
            Activity(type="task", id=str(t["id"]), at=_when(t, "dateAdded", "dueDate"), record=t)
            for t in tasks.get("tasks", [])
        ),
        *(
            Activity(type="appointment", id=str(a["id"]), at=_when(a, "startTime"), record=a)
            for a in appointments.get("events", [])
        ),
        *messages,
    ]
    items.sort(key=lambda item: item.at or "", reverse=True)
    return ActivityOut(items=items[: data.limit], count=min(len(items), data.limit))
