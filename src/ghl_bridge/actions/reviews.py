"""Reputation actions: reply to a Google review, and ask a contact for one.

GHL's API has no reviews endpoint beyond the reply (ghl-facts "no public endpoint" table), so a
review request is an ordinary SMS or email carrying the review link, and says so.
"""

from __future__ import annotations

import html as markup
from typing import Literal

from pydantic import Field, model_validator

from ghl_bridge.actions.messaging import (
    KEYED,
    SEND,
    ReplyText,
    Sent,
    Subject,
    Url,
    location_snippets,
    merge_sources,
    render_template,
    sent_answer,
)
from ghl_bridge.actions.models import JSON, Id, Input, Output, Text
from ghl_bridge.actions.registry import ActionContext, ActionSet, Kind
from ghl_bridge.errors import NotFound

actions = ActionSet()

# --- reviews ------------------------------------------------------------------------------


class ReviewReply(Input):
    conversation_id: Id = Field(description="the review's conversation (type TYPE_REVIEW)")
    message: ReplyText


class ReplySent(Output):
    conversation_id: str
    message_id: str
    status: str | None = None


@actions.define(
    "reviews.reply",
    "Reply publicly to a Google Business review, through its GHL conversation.",
    scopes=SEND,
    kind=Kind.OUTBOUND,
    retry_safe=False,
    notes="Google keeps one reply per review (a second replaces the first), but GHL logs each"
    f" reply as a message, and whether Google notifies the reviewer again is unrecorded. {KEYED}",
)
async def reply_to_review(ctx: ActionContext, data: ReviewReply) -> ReplySent:
    answer = await ctx.ghl.conversations.review_reply(
        ctx.location_id, data.conversation_id, data.message, options=ctx.opts
    )
    return ReplySent(
        conversation_id=str(answer.get("conversationId") or data.conversation_id),
        message_id=str(answer.get("messageId")),
        status=answer.get("status"),
    )


DEFAULT_REQUEST = (
    "Hi {{contact.first_name}}, thank you for choosing {{location.name}}! Would you leave us a"
    " review? {{review_link}}"
)


class ReviewRequest(Input):
    contact_id: Id
    review_link: Url = Field(description="where the contact writes the review")
    channel: Literal["sms", "email"] = "sms"
    template_id: Id | None = Field(default=None, description="a location template of the channel")
    message: Text | None = Field(default=None, min_length=1, description="text, or html for email")
    subject: Subject | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ReviewRequest:
        if self.template_id and self.message:
            raise ValueError("give a templateId or a message, not both")
        return self


class RequestSent(Sent):
    body: str = Field(description="the text as sent, merge tags filled")


async def _request_text(
    ctx: ActionContext, data: ReviewRequest, location: JSON
) -> tuple[str, str | None]:
    if data.message:
        return data.message, data.subject
    if not data.template_id:
        return DEFAULT_REQUEST, data.subject
    for snippet in await location_snippets(ctx, data.channel, location):
        if snippet.get("id") == data.template_id:
            template = snippet.get("template") or {}
            text = template.get("html") if data.channel == "email" else template.get("body")
            return str(text or ""), data.subject or template.get("subject")
    raise NotFound(f"no {data.channel} template with id {data.template_id} in this location")


@actions.define(
    "reviews.request",
    "Ask a contact for a review: an SMS or email carrying the review link, from a template.",
    scopes=(*SEND, "contacts.readonly", "locations.readonly", "locations/templates.readonly"),
    kind=Kind.OUTBOUND,
    retry_safe=False,
    notes="GHL's API has no review-request endpoint and does not expose the location's review"
    " link (ask the caller for it): this sends an ordinary SMS/email with"
    " {{review_link}} filled (appended if the text has no such tag). The thread shows it as a"
    f" plain SMS/email, not TYPE_SMS_REVIEW_REQUEST. {KEYED}",
)
async def request_review(ctx: ActionContext, data: ReviewRequest) -> RequestSent:
    contact, location = await merge_sources(ctx, data.contact_id)
    text, subject = await _request_text(ctx, data, location)
    email = data.channel == "email"
    if "review_link" not in text:
        link = markup.escape(data.review_link)
        text += f'<p><a href="{link}">{link}</a></p>' if email else f"\n{data.review_link}"
    extra = {"review_link": data.review_link}
    body_text = render_template(text, contact, location, html=email, extra=extra)
    body: JSON = {"type": "Email" if email else "SMS", "contactId": data.contact_id}
    if email:
        plain = subject or "How did we do, {{contact.first_name}}?"
        body.update(html=body_text, subject=render_template(plain, contact, location, html=False))
    else:
        body["message"] = body_text
    answer = await ctx.ghl.conversations.send(ctx.location_id, body, options=ctx.opts)
    sent = sent_answer(answer, data, data.template_id)
    return RequestSent(**sent.model_dump(), body=body_text)
