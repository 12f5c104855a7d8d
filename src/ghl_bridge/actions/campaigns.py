"""Campaign actions: list, enrol and remove contacts, pause/resume a contact, email statistics.

GHL's v2 API can only list (legacy) campaigns and add or remove a contact; it has no pause, no
resume and no statistics for them (research/ghl-facts.md §6). A pause is therefore a removal we
remember in our own records, and a resume re-adds the contact, which restarts the campaign from
its first step. Statistics come from the email campaign list, the closest thing GHL reports.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from ghl_bridge.actions.models import JSON, Id, Input, Items, Limit, Output, items_of
from ghl_bridge.actions.registry import ActionContext, ActionSet, Kind
from ghl_bridge.errors import Conflict

actions = ActionSet()

ENROL = ("contacts.write",)
PAUSE_KIND = "campaign_pause"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class CampaignQuery(Input):
    status: str | None = Field(default=None, max_length=32, description="e.g. published, draft")


@actions.define(
    "campaigns.list",
    "The location's (legacy) campaigns: id, name and status.",
    scopes=("campaigns.readonly",),
    notes="GHL's API cannot create, edit or pause a campaign; build them in the app.",
)
async def list_campaigns(ctx: ActionContext, data: CampaignQuery) -> Items:
    answer = await ctx.ghl.campaigns.list(ctx.location_id, status=data.status, options=ctx.opts)
    return items_of(list(answer.get("campaigns", [])))


class CampaignContact(Input):
    contact_id: Id
    campaign_id: Id


class ContactRef(Input):
    contact_id: Id


class Membership(Output):
    contact_id: str
    campaign_id: str | None = Field(default=None, description="absent: every campaign")
    in_campaign: bool = Field(description="whether the contact is in the campaign afterwards")
    paused_at: str | None = Field(default=None, description="when we recorded the pause")


@actions.define(
    "campaigns.add_contact",
    "Add a contact to a campaign.",
    scopes=ENROL,
    kind=Kind.WRITE,
    retry_safe=False,
    notes="Adding a contact already in the campaign may start it again from the first step.",
)
async def add_contact(ctx: ActionContext, data: CampaignContact) -> Membership:
    await ctx.ghl.contacts.add_to_campaign(
        ctx.location_id, data.contact_id, data.campaign_id, options=ctx.opts
    )
    return Membership(contact_id=data.contact_id, campaign_id=data.campaign_id, in_campaign=True)


@actions.define(
    "campaigns.remove_contact",
    "Remove a contact from a campaign.",
    scopes=ENROL,
    kind=Kind.DESTRUCTIVE,
    retry_safe=True,
    notes="The contact's place in the campaign is lost: adding it back starts from the first"
    " step. GHL answers success even when the contact was not in the campaign.",
)
async def remove_contact(ctx: ActionContext, data: CampaignContact) -> Membership:
    await ctx.ghl.contacts.remove_from_campaign(
        ctx.location_id, data.contact_id, data.campaign_id, options=ctx.opts
    )
    return Membership(contact_id=data.contact_id, campaign_id=data.campaign_id, in_campaign=False)


@actions.define(
    "campaigns.remove_contact_from_all",
    "Remove a contact from every campaign it is in.",
    scopes=ENROL,
    kind=Kind.DESTRUCTIVE,
    retry_safe=True,
    notes="Places in campaigns are lost; pauses recorded by campaigns.pause_contact are kept.",
)
async def remove_contact_from_all(ctx: ActionContext, data: ContactRef) -> Membership:
    await ctx.ghl.contacts.remove_from_all_campaigns(
        ctx.location_id, data.contact_id, options=ctx.opts
    )
    return Membership(contact_id=data.contact_id, in_campaign=False)


def _pause_key(data: CampaignContact) -> str:
    return f"{data.campaign_id}:{data.contact_id}"


@actions.define(
    "campaigns.pause_contact",
    "Pause a contact's campaign: remove it and record the pause so it can be resumed.",
    scopes=ENROL,
    kind=Kind.DESTRUCTIVE,
    retry_safe=True,
    notes="GHL has no pause. This removes the contact from the campaign and records the pause"
    " in this service's own records; campaigns.resume_contact adds it back. GHL keeps no"
    " position, so a resumed contact starts the campaign again from its first step, not where"
    " it stopped.",
)
async def pause_contact(ctx: ActionContext, data: CampaignContact) -> Membership:
    records = ctx.support.records
    if records is None:  # a pause nobody remembers could never be resumed
        raise Conflict(
            "this service keeps no action records, so a pause could not be resumed;"
            " use campaigns.remove_contact"
        )
    earlier = await records.get(ctx.tenant_id, ctx.location_id, PAUSE_KIND, _pause_key(data))
    await ctx.ghl.contacts.remove_from_campaign(
        ctx.location_id, data.contact_id, data.campaign_id, options=ctx.opts
    )
    # A second pause keeps the first one's time: the contact left the campaign then.
    paused_at = str(earlier.data.get("pausedAt")) if earlier else _now()
    fact: JSON = {
        "campaignId": data.campaign_id,
        "contactId": data.contact_id,
        "pausedAt": paused_at,
    }
    await ctx.remember(PAUSE_KIND, _pause_key(data), fact)
    return Membership(
        contact_id=data.contact_id,
        campaign_id=data.campaign_id,
        in_campaign=False,
        paused_at=paused_at,
    )


@actions.define(
    "campaigns.resume_contact",
    "Resume a paused contact: add it back to the campaign and forget the pause.",
    scopes=ENROL,
    kind=Kind.WRITE,
    retry_safe=False,
    notes="Only a pause recorded by campaigns.pause_contact can be resumed; anything else is a"
    " conflict. GHL has no resume: the contact is added again and starts the campaign from its"
    " first step.",
)
async def resume_contact(ctx: ActionContext, data: CampaignContact) -> Membership:
    records = ctx.support.records
    key = _pause_key(data)
    paused = None
    if records is not None:
        paused = await records.get(ctx.tenant_id, ctx.location_id, PAUSE_KIND, key)
    if records is None or paused is None:
        raise Conflict(
            f"contact {data.contact_id} has no recorded pause in campaign {data.campaign_id};"
            " use campaigns.add_contact to enrol it",
            details={"contactId": data.contact_id, "campaignId": data.campaign_id},
        )
    await ctx.ghl.contacts.add_to_campaign(
        ctx.location_id, data.contact_id, data.campaign_id, options=ctx.opts
    )
    if not ctx.dry_run:
        await records.forget(ctx.tenant_id, ctx.location_id, PAUSE_KIND, key)
    return Membership(contact_id=data.contact_id, campaign_id=data.campaign_id, in_campaign=True)


# --- email campaign statistics -------------------------------------------------------------------

ScheduleStatus = Literal[
    "active", "pause", "complete", "cancelled", "retry", "draft", "resend-scheduled"
]


class StatsQuery(Input):
    name: str | None = Field(default=None, max_length=255, description="name contains")
    status: ScheduleStatus | None = None
    limit: Limit = Field(default=100, description="stop after this many campaigns")


class CampaignStats(Output):
    id: str
    name: str | None = None
    status: str | None = None
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    revenue: float = 0.0
    open_rate: float | None = Field(default=None, description="opened / delivered")
    click_rate: float | None = Field(default=None, description="clicked / delivered")


class StatsOut(Output):
    items: list[CampaignStats]
    count: int
    truncated: bool = False
    totals: CampaignStats = Field(description="the listed campaigns added up (id: 'total')")


def _rate(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _stats(schedule: dict[str, Any]) -> CampaignStats:
    delivered, opened = int(schedule.get("delivered") or 0), int(schedule.get("opened") or 0)
    clicked = int(schedule.get("clicked") or 0)
    return CampaignStats(
        id=str(schedule.get("id") or schedule.get("_id")),
        name=schedule.get("name"),
        status=schedule.get("status"),
        delivered=delivered,
        opened=opened,
        clicked=clicked,
        revenue=float(schedule.get("revenue") or 0),
        open_rate=_rate(opened, delivered),
        click_rate=_rate(clicked, delivered),
    )


@actions.define(
    "campaigns.stats",
    "Email campaign statistics: delivered, opened, clicked, revenue and rates per campaign.",
    scopes=("emails/schedule.readonly",),
    notes="Legacy campaigns (campaigns.list) have no statistics endpoint in GHL's API. This"
    " reads the email campaigns (GET /emails/schedule?showStats=true), the closest figures GHL"
    " offers; their ids are email campaign ids, not legacy campaign ids.",
)
async def stats(ctx: ActionContext, data: StatsQuery) -> StatsOut:
    # GHL's list defaults to the app's "active / complete" tab: ask for every email status.
    query: JSON = {"showStats": True, "campaignsOnly": True, "emailStatus": "all"}
    if data.status:
        query["status"] = data.status
    if data.name:
        query["name"] = data.name
    found = [
        s
        async for s in ctx.ghl.email_templates.iter_schedules(
            ctx.location_id, query, max_items=data.limit + 1
        )
    ]
    items = [_stats(s) for s in found[: data.limit]]
    totals = CampaignStats(
        id="total",
        delivered=sum(i.delivered for i in items),
        opened=sum(i.opened for i in items),
        clicked=sum(i.clicked for i in items),
        revenue=round(sum(i.revenue for i in items), 2),
    )
    totals.open_rate = _rate(totals.opened, totals.delivered)
    totals.click_rate = _rate(totals.clicked, totals.delivered)
    return StatsOut(items=items, count=len(items), truncated=len(found) > len(items), totals=totals)
