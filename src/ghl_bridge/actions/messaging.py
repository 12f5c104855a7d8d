"""Messaging actions: send SMS and email, read and cancel a message, templates, conversation
search, and Google review replies and requests.

Sending is the one change that cannot be taken back, so no send here is retry-safe: GHL has no
idempotency for ``POST /conversations/messages``, and a send retried after a lost answer texts
the contact twice. A caller that may retry sends an Idempotency-Key: the service's ledger then
answers the repeat with the first outcome, and the client retries a keyed send only on errors
that show GHL never took it. Template content is fetched and rendered here (see
``render_template``): GHL's send body takes a ``templateId`` but still wants the html or text.
"""

from __future__ import annotations

import html as markup
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from ghl_bridge.actions.models import (
    JSON,
    Email,
    Id,
    Input,
    Instant,
    Limit,
    Output,
    Page,
    Phone,
    Record,
    Text,
    page_of,
)
from ghl_bridge.actions.registry import ActionContext, ActionSet, Kind
from ghl_bridge.client.errors import BadRequestError
from ghl_bridge.errors import InvalidInput, NotFound

actions = ActionSet()

SEND = ("conversations/message.write",)
READ_MESSAGE = ("conversations/message.readonly",)
TEMPLATE_READS = ("locations.readonly", "locations/templates.readonly", "emails/builder.readonly")
CANCELLED = "message_cancelled"

Url = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://\S+$")]
Html = Annotated[str, StringConstraints(min_length=1, max_length=500_000)]
Subject = Annotated[str, StringConstraints(min_length=1, max_length=998)]  # RFC 5322 line
ReplyText = Annotated[str, StringConstraints(min_length=1, max_length=4096)]  # Google's limit
KEYED = ("a send is not deduplicated by GHL: retry only with the same Idempotency-Key, which"
          " replays the first outcome instead of sending again.")  # fmt: skip


def _epoch(instant: str) -> int:
    """GHL schedules by UTC seconds (``scheduledTimestamp``)."""
    return int(datetime.fromisoformat(instant).timestamp())


class Sent(Output):
    conversation_id: str
    message_id: str
    email_message_id: str | None = None
    scheduled_at: str | None = None
    template_id: str | None = Field(default=None, description="the template the content came from")


def sent_answer(answer: JSON, data: Any, template_id: str | None = None) -> Sent:
    return Sent(
        conversation_id=str(answer.get("conversationId")),
        message_id=str(answer.get("messageId")),
        email_message_id=answer.get("emailMessageId"),
        scheduled_at=getattr(data, "scheduled_at", None),
        template_id=template_id,
    )


# --- templates: where they live and how their merge tags are filled -------------------------

_SNIPPET_PAGE, _MOST_TEMPLATES = 100, 2000
_TAG = re.compile(r"\{\{\s*(?:(contact|location)\.)?([A-Za-z_]+)\s*\}\}")
_ALIASES = {"full_name": "name", "company_name": "companyName", "postal_code": "postalCode"}


async def _location(ctx: ActionContext) -> JSON:
    answer = await ctx.ghl.locations.get(ctx.location_id)
    return dict(answer.get("location", answer))


async def location_snippets(
    ctx: ActionContext, kind: str | None = None, location: JSON | None = None
) -> list[JSON]:
    """The location's SMS/email/WhatsApp templates, every page (GHL pages by skip/limit).
    GHL wants ``originId``: the location's agency (company) id."""
    location = location or await _location(ctx)
    origin, found = str(location.get("companyId") or ctx.location_id), list[JSON]()
    while len(found) < _MOST_TEMPLATES:
        query = {"originId": origin, "skip": str(len(found)), "limit": str(_SNIPPET_PAGE)}
        if kind:
            query["type"] = kind
        page = await ctx.ghl.call(
            "GET-all-or-email-sms-templates",
            resource_id=ctx.location_id,
            path_params={"locationId": ctx.location_id},
            query=query,
        )
        batch = list(page.get("templates") or [])
        found.extend(batch)
        if not batch or len(found) >= int(page.get("totalCount") or 0):
            break
    return found


async def _builder_templates(ctx: ActionContext) -> list[JSON]:
    """Email-builder templates in every folder (GHL lists one folder level per call)."""
    found: list[JSON] = []
    folders, seen = [""], set()
    while folders and len(found) < _MOST_TEMPLATES:
        parent = folders.pop(0)
        seen.add(parent)
        query = {"parentId": parent} if parent else None
        async for item in ctx.ghl.email_templates.iter_list(
            ctx.location_id, query, max_items=_MOST_TEMPLATES
        ):
            if item.get("templateType") == "folder":
                if str(item["id"]) not in seen:
                    folders.append(str(item["id"]))
            else:
                found.append({**item, "folderId": parent or None})
    return found


def render_template(
    text: str, contact: JSON, location: JSON, *, html: bool, extra: Mapping[str, str] | None = None
) -> str:
    """Fill ``{{contact.x}}``, ``{{location.x}}`` and our own tags (``{{review_link}}``).

    Whether GHL fills merge tags in an API send is unrecorded, so we fill the ones we can; a
    tag we cannot fill (custom values, custom fields) is left as written, for GHL.
    """

    def fill(match: re.Match[str]) -> str:
        scope, name = match.group(1), match.group(2)
        if scope is None:
            value = (extra or {}).get(name)
        else:
            record = contact if scope == "contact" else location
            key = _ALIASES.get(name, re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name))
            value = record.get(key)
            if key == "name" and not value and scope == "contact":
                value = " ".join(filter(None, (contact.get("firstName"), contact.get("lastName"))))
        if value is None or isinstance(value, dict | list):
            return match.group(0)
        return markup.escape(str(value)) if html else str(value)

    return _TAG.sub(fill, text)


async def merge_sources(ctx: ActionContext, contact_id: str) -> tuple[JSON, JSON]:
    """What a template's merge tags are filled from: the contact and the location."""
    contact = await ctx.ghl.contacts.get(ctx.location_id, contact_id)
    return dict(contact.get("contact", contact)), await _location(ctx)


async def _email_snippet(ctx: ActionContext, template_id: str, location: JSON) -> JSON:
    """A location email template by id; a builder template is refused with its previewUrl."""
    for snippet in await location_snippets(ctx, location=location):
        if snippet.get("id") == template_id:
            if snippet.get("type") != "email":
                raise InvalidInput(f"template {template_id} is an {snippet.get('type')} template")
            return snippet
    for builder in await _builder_templates(ctx):
        if builder.get("id") == template_id:
            raise InvalidInput(
                f"template {template_id} is an email-builder template: GHL's v2 API does not"
                " return its content (only a hosted previewUrl). Send its html yourself, or use"
                " a location email template.",
                details={"previewUrl": builder.get("previewUrl")},
            )
    raise NotFound(f"no email template with id {template_id} in this location")


# --- sending ------------------------------------------------------------------------------


class SmsIn(Input):
    contact_id: Id
    message: Text = Field(min_length=1)
    from_number: Phone | None = None
    to_number: Phone | None = Field(default=None, description="default: the contact's phone")
    attachments: list[Url] | None = Field(default=None, max_length=10)
    scheduled_at: Instant | None = Field(default=None, description="send later, at this time")


@actions.define(
    "messages.send_sms",
    "Send (or schedule) an SMS to a contact.",
    scopes=SEND,
    kind=Kind.OUTBOUND,
    retry_safe=False,
    notes=f"Refused by GHL when the contact has SMS DND on. Not retry-safe: {KEYED}",
)
async def send_sms(ctx: ActionContext, data: SmsIn) -> Sent:
    body = {"type": "SMS", **data.wire(exclude={"scheduled_at"})}
    if data.scheduled_at:
        body["scheduledTimestamp"] = _epoch(data.scheduled_at)
    return sent_answer(
        await ctx.ghl.conversations.send(ctx.location_id, body, options=ctx.opts), data
    )


class EmailIn(Input):
    contact_id: Id
    subject: Subject | None = Field(default=None, description="default: the template's")
    html: Html | None = None
    template_id: Id | None = Field(default=None, description="a location email template")
    email_from: str | None = Field(default=None, max_length=320, description="Name <a@b.co>")
    email_to: Email | None = Field(default=None, description="default: the contact's email")
    email_cc: list[Email] | None = Field(default=None, max_length=50)
    email_bcc: list[Email] | None = Field(default=None, max_length=50)
    attachments: list[Url] | None = Field(default=None, max_length=10)
    thread_id: Id | None = None
    scheduled_at: Instant | None = None

    @model_validator(mode="after")
    def _content(self) -> EmailIn:
        if (self.html is None) == (self.template_id is None):
            raise ValueError("give either html (with a subject) or a templateId")
        if self.html is not None and self.subject is None:
            raise ValueError("an html email needs a subject")
        return self


@actions.define(
    "messages.send_email",
    "Send (or schedule) an email to a contact: raw html and subject, or a location email template.",
    scopes=(*SEND, *TEMPLATE_READS, "contacts.readonly"),
    kind=Kind.OUTBOUND,
    retry_safe=False,
    notes="GHL's send needs the html even when given a templateId, so a template's subject and"
    " html are fetched here and {{contact.*}}/{{location.*}} tags filled; other tags are left"
    " for GHL. Email-builder templates are refused: v2 exposes their content only as a hosted"
    f" previewUrl (given in the error). Not retry-safe: {KEYED}",
)
async def send_email(ctx: ActionContext, data: EmailIn) -> Sent:
    body = {"type": "Email", **data.wire(exclude={"scheduled_at", "template_id"})}
    if data.template_id:
        contact, location = await merge_sources(ctx, data.contact_id)
        snippet = await _email_snippet(ctx, data.template_id, location)
        template = snippet.get("template") or {}
        body["html"] = render_template(
            str(template.get("html") or ""), contact, location, html=True
        )
        subject = render_template(str(template.get("subject") or ""), contact, location, html=False)
        body.setdefault("subject", subject)
    if data.scheduled_at:
        body["scheduledTimestamp"] = _epoch(data.scheduled_at)
    answer = await ctx.ghl.conversations.send(ctx.location_id, body, options=ctx.opts)
    return sent_answer(answer, data, data.template_id)


# --- reading and cancelling ---------------------------------------------------------------


class MessageRef(Input):
    message_id: Id


class MessageStatus(Output):
    message_id: str
    status: str | None = Field(
        default=None, description="pending, scheduled, sent, delivered, read, failed, ..."
    )
    message_type: str | None = None
    direction: str | None = None
    message: Record


@actions.define(
    "messages.status",
    "A message's delivery status (and the message itself) by id.",
    scopes=READ_MESSAGE,
    notes="Email statuses may be null at GHL until the first delivery event.",
)
async def status(ctx: ActionContext, data: MessageRef) -> MessageStatus:
    answer = await ctx.ghl.conversations.get_message(
        ctx.location_id, data.message_id, options=ctx.opts
    )
    message = answer.get("message", answer)
    return MessageStatus(
        message_id=data.message_id,
        status=message.get("status"),
        message_type=message.get("messageType"),
        direction=message.get("direction"),
        message=Record.model_validate(message),
    )


class Cancelled(Output):
    message_id: str
    cancelled: bool = True
    already_cancelled: bool = Field(
        default=False, description="true when an earlier run of this action had cancelled it"
    )


@actions.define(
    "messages.cancel_scheduled",
    "Cancel a scheduled SMS or email before it is sent.",
    scopes=SEND,
    kind=Kind.WRITE,
    retry_safe=True,
    notes="A write, not destructive: it undoes a send that has not happened, and the message can"
    " be scheduled again with messages.send_*. GHL refuses a second cancel (400); we remember"
    " each cancel, so a retry answers alreadyCancelled instead of failing.",
)
async def cancel_scheduled(ctx: ActionContext, data: MessageRef) -> Cancelled:
    try:
        await ctx.ghl.conversations.cancel_scheduled(
            ctx.location_id, data.message_id, options=ctx.opts
        )
    except BadRequestError:
        records = ctx.support.records
        earlier = records and await records.get(
            ctx.tenant_id, ctx.location_id, CANCELLED, data.message_id
        )
        if not earlier:
            raise
        return Cancelled(message_id=data.message_id, already_cancelled=True)
    await ctx.remember(CANCELLED, data.message_id, {"messageId": data.message_id})
    return Cancelled(message_id=data.message_id)


# --- templates and conversations ------------------------------------------------------------


class TemplateQuery(Input):
    type: Literal["sms", "email", "whatsapp"] | None = None
    source: Literal["location", "email_builder"] | None = None
    limit: Limit = 500


@actions.define(
    "templates.list",
    "The location's SMS/email/WhatsApp templates and email-builder templates in one list.",
    scopes=TEMPLATE_READS,
    notes="Each item has source 'location' (Settings > Templates; GHL has no API to create"
    " them) or 'email_builder' (type email; nested folders are walked, archived ones left out)."
    " Three or more GHL calls.",
)
async def list_templates(ctx: ActionContext, data: TemplateQuery) -> Page:
    merged: list[JSON] = []
    if data.source in (None, "location"):
        merged += [{**s, "source": "location"} for s in await location_snippets(ctx, data.type)]
    if data.source in (None, "email_builder") and data.type in (None, "email"):
        merged += [
            {**b, "type": "email", "source": "email_builder"} for b in await _builder_templates(ctx)
        ]
    return page_of(merged, data.limit)


class ConversationQuery(Input):
    contact_id: Id | None = None
    assigned_to: list[Id] | None = Field(default=None, max_length=50)
    query: str | None = Field(default=None, max_length=255, description="free text")
    status: Literal["all", "read", "unread", "starred", "recents"] | None = None
    last_message_type: str | None = Field(default=None, pattern=r"^TYPE_[A-Z_]+$")
    last_message_direction: Literal["inbound", "outbound"] | None = None
    last_message_action: Literal["automated", "manual"] | None = None
    sort_by: Literal["last_manual_message_date", "last_message_date"] | None = None
    start_date: Instant | None = Field(default=None, description="conversations added after")
    end_date: Instant | None = Field(default=None, description="conversations added before")
    limit: Limit = 100


@actions.define(
    "conversations.search",
    "Search the location's conversations (threads), newest first, across GHL's pages.",
    scopes=("conversations.readonly",),
)
async def search_conversations(ctx: ActionContext, data: ConversationQuery) -> Page:
    query: dict[str, Any] = data.wire(exclude={"limit", "assigned_to", "start_date", "end_date"})
    if data.assigned_to:
        query["assignedTo"] = ",".join(data.assigned_to)
    for name, value in (("startDate", data.start_date), ("endDate", data.end_date)):
        if value:
            query[name] = _epoch(value) * 1000
    found = [
        c
        async for c in ctx.ghl.conversations.iter_search(
            ctx.location_id, query, max_items=data.limit + 1
        )
    ]
    return page_of(found, data.limit)
