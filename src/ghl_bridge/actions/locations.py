"""Sub-account (location) actions, snapshots, users and businesses, plus our own usage view.

Two kinds of action live here. Location actions act for the action's location with its token.
Agency actions (create/update/delete/search sub-accounts, snapshots, user search) need GHL's
agency (Company) token, and take the agency's company id as the action's location: the service
then checks, as for any location, that this tenant holds that connection, and the client picks
the agency token for it. A company id cannot be named in the input instead: nothing would check
that the tenant owns it. Sub-accounts named in an agency action's input are refused when another
tenant has connected them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import Field, model_validator

from ghl_bridge.actions.models import (
    JSON,
    Deleted,
    Email,
    Id,
    Input,
    Limit,
    Name,
    NoInput,
    Output,
    Page,
    Phone,
    Record,
    page_of,
)
from ghl_bridge.actions.registry import ActionContext, ActionSet, Kind
from ghl_bridge.client import GHLError
from ghl_bridge.errors import Conflict, Forbidden, InvalidInput

actions = ActionSet()

AGENCY = (
    "Agency action: run it with the agency's company id as its locationId. The service checks"
    " that this tenant holds the agency's connection and GHL gets the agency token; a"
    " sub-account's id there gets GHL's 401 (wrong token class)."
)
FOREIGN = " Sub-accounts another tenant has connected are refused."


async def _owner(ctx: ActionContext, resource_id: str) -> str | None:
    """The tenant holding ``resource_id``'s connection (None: nobody, or no store to ask)."""
    return await ctx.support.owner_of(resource_id)


async def not_anothers(ctx: ActionContext, location_id: str) -> None:
    """An agency may touch its unconnected sub-accounts (GHL confines its token to them) and
    those this tenant connected, never one another tenant connected."""
    owner = await _owner(ctx, location_id)
    if owner is not None and owner != ctx.tenant_id:
        raise Forbidden(f"this tenant has no connection for location {location_id}")


# --- sub-accounts -----------------------------------------------------------------------------


class Settings(Input):
    allow_duplicate_contact: bool | None = None
    allow_duplicate_opportunity: bool | None = None
    allow_facebook_name_merge: bool | None = None
    disable_contact_timezone: bool | None = None


class Prospect(Input):
    first_name: Name
    last_name: Name
    email: Email


class LocationFields(Input):
    phone: Phone | None = None
    address: str | None = Field(default=None, max_length=255)
    city: str | None = Field(default=None, max_length=255)
    state: str | None = Field(default=None, max_length=255)
    country: str | None = Field(default=None, pattern="^[A-Z]{2}$")
    postal_code: str | None = Field(default=None, max_length=32)
    website: str | None = Field(default=None, max_length=255)
    timezone: str | None = Field(default=None, max_length=64, description="IANA zone")
    prospect_info: Prospect | None = None
    settings: Settings | None = None
    social: dict[str, str] | None = Field(default=None, max_length=20)


class NewLocation(LocationFields):
    name: Name
    snapshot_id: Id | None = Field(default=None, description="load this snapshot into it")


class LocationChange(LocationFields):
    location_id: Id = Field(description="the sub-account to change")
    name: Name | None = None


class LocationOut(Output):
    location: Record


def _location(answer: JSON) -> Record:
    return Record.model_validate(answer.get("location", answer))


@actions.define(
    "locations.create",
    "Create a sub-account in the agency, optionally loaded from a snapshot.",
    scopes=("locations.write",),
    kind=Kind.WRITE,
    retry_safe=False,
    notes=AGENCY + " GHL allows this on the Agency Pro plan only, and does not deduplicate:"
    " a retry without the same Idempotency-Key makes a second sub-account. A snapshot can be"
    " loaded only here, into a new sub-account (snapshots.push_status follows the load).",
)
async def create_location(ctx: ActionContext, data: NewLocation) -> LocationOut:
    answer = await ctx.ghl.locations.create(ctx.location_id, data.wire(), options=ctx.opts)
    return LocationOut(location=_location(answer))


@actions.define(
    "locations.get",
    "The action's location: its business details, settings and social links.",
    scopes=("locations.readonly",),
)
async def get_location(ctx: ActionContext, data: NoInput) -> LocationOut:
    answer = await ctx.ghl.locations.get(ctx.location_id, options=ctx.opts)
    return LocationOut(location=_location(answer))


@actions.define(
    "locations.update",
    "Change a sub-account's details or settings; fields not given are left as they are.",
    scopes=("locations.write",),
    kind=Kind.WRITE,
    retry_safe=True,
    notes=AGENCY + FOREIGN + " settings and social are merged into what the sub-account has.",
)
async def update_location(ctx: ActionContext, data: LocationChange) -> LocationOut:
    body = data.wire(exclude={"location_id"})
    if not body:
        raise InvalidInput("give at least one field to change")
    await not_anothers(ctx, data.location_id)
    answer = await ctx.ghl.locations.update(
        ctx.location_id, data.location_id, body, options=ctx.opts
    )
    return LocationOut(location=_location(answer))


class LocationGone(Input):
    location_id: Id = Field(description="the sub-account to delete")
    delete_twilio_account: bool = False


@actions.define(
    "locations.delete",
    "Delete a sub-account with everything in it.",
    scopes=("locations.write",),
    kind=Kind.DESTRUCTIVE,
    retry_safe=True,
    notes=AGENCY + FOREIGN + " GHL's spec guards this with an internal scope"
    " (locations.internal-access-only); Scopes.md says locations.write. Its contacts,"
    " conversations and history cannot be brought back.",
)
async def delete_location(ctx: ActionContext, data: LocationGone) -> Deleted:
    if data.location_id == ctx.location_id:
        raise InvalidInput("name the sub-account to delete; the action's location is the agency")
    await not_anothers(ctx, data.location_id)
    await ctx.ghl.locations.delete(
        ctx.location_id,
        data.location_id,
        delete_twilio_account=data.delete_twilio_account,
        options=ctx.opts,
    )
    return Deleted(id=data.location_id)


class LocationSearch(Input):
    email: Email | None = None
    order: Literal["asc", "desc"] = "asc"
    limit: Limit = 100


@actions.define(
    "locations.search",
    "The agency's sub-accounts, optionally only the one with this email.",
    scopes=("locations.readonly",),
    notes=AGENCY,
)
async def search_locations(ctx: ActionContext, data: LocationSearch) -> Page:
    query = data.wire(exclude={"limit"})
    pages = ctx.ghl.locations.iter_search(ctx.location_id, query, max_items=data.limit + 1)
    found = [loc async for loc in pages]
    return page_of(found, data.limit)


# --- snapshots --------------------------------------------------------------------------------

SNAPSHOTS = ("snapshots.readonly",)


@actions.define(
    "snapshots.list",
    "The agency's own and imported snapshots.",
    scopes=SNAPSHOTS,
    notes=AGENCY,
)
async def list_snapshots(ctx: ActionContext, data: NoInput) -> Page:
    answer = await ctx.ghl.snapshots.list(ctx.location_id, options=ctx.opts)
    return page_of(list(answer.get("snapshots", [])), None)


class ShareLink(Input):
    snapshot_id: Id
    share_type: Literal["link", "permanent_link", "agency_link", "location_link"]
    relationship_numbers: list[str] | None = Field(None, max_length=100, description="agencies")
    location_ids: list[Id] | None = Field(None, max_length=100, description="sub-accounts")

    @model_validator(mode="after")
    def _targets(self) -> ShareLink:
        if self.share_type == "agency_link" and not self.relationship_numbers:
            raise ValueError("an agency_link needs relationshipNumbers")
        if self.share_type == "location_link" and not self.location_ids:
            raise ValueError("a location_link needs locationIds")
        return self


class ShareLinkOut(Output):
    id: str
    share_link: str


@actions.define(
    "snapshots.share_link",
    "A link that shares a snapshot with anyone, some agencies, or some sub-accounts.",
    scopes=SNAPSHOTS,
    kind=Kind.WRITE,
    retry_safe=False,
    notes=AGENCY + " GHL names no scope for it beyond the agency token; Scopes.md lists only"
    " snapshots.readonly. A permanent_link is one stable link per snapshot (asking again"
    " answers it); the other types make a new link each time.",
)
async def share_link(ctx: ActionContext, data: ShareLink) -> ShareLinkOut:
    body: JSON = {"snapshot_id": data.snapshot_id, "share_type": data.share_type}
    if data.relationship_numbers:
        body["relationship_number"] = ",".join(data.relationship_numbers)
    if data.location_ids:
        body["share_location_id"] = ",".join(data.location_ids)
    answer = await ctx.ghl.snapshots.share_link(ctx.location_id, body, options=ctx.opts)
    return ShareLinkOut(id=str(answer["id"]), share_link=str(answer["shareLink"]))


class PushQuery(Input):
    snapshot_id: Id
    location_id: Id | None = Field(default=None, description="its latest push to this one")
    since: date | None = Field(default=None, description="history from (default: 30 days ago)")
    until: date | None = Field(default=None, description="history to, inclusive (default: today)")
    limit: Limit = 100


class PushStatus(Output):
    latest: Record | None = Field(default=None, description="when locationId was given")
    pushes: list[Record] = Field(default_factory=list, description="otherwise: the history")
    count: int = 0
    truncated: bool = False


@actions.define(
    "snapshots.push_status",
    "How far a snapshot's load into a sub-account got, or the snapshot's push history.",
    scopes=SNAPSHOTS,
    notes=AGENCY + FOREIGN + " Read only: GHL has no endpoint that pushes a snapshot into an"
    " existing sub-account; loads come from locations.create with snapshotId.",
)
async def push_status(ctx: ActionContext, data: PushQuery) -> PushStatus:
    company, snapshot = ctx.location_id, data.snapshot_id
    if data.location_id is not None:
        await not_anothers(ctx, data.location_id)
        answer = await ctx.ghl.snapshots.latest_push(
            company, snapshot, data.location_id, options=ctx.opts
        )
        return PushStatus(latest=Record.model_validate(answer.get("data", answer)), count=1)
    until = data.until or datetime.now(UTC).date()
    since = data.since or until - timedelta(days=30)
    if since > until:
        raise InvalidInput("since must not be after until")
    pages = ctx.ghl.snapshots.iter_pushes(
        company, snapshot, since.isoformat(), until.isoformat(), max_items=data.limit + 1
    )
    found = [push async for push in pages]
    page = page_of(found, data.limit)
    return PushStatus(pushes=page.items, count=page.count, truncated=page.truncated)


# --- copying a location's assets -------------------------------------------------------------


Asset = Literal["custom_fields", "custom_values", "tags"]
ASSETS: tuple[Asset, ...] = ("custom_fields", "custom_values", "tags")


class CopyAssets(Input):
    target_location_id: Id
    assets: list[Asset] = Field(default_factory=lambda: list(ASSETS), min_length=1)


class AssetResult(Output):
    kind: str
    name: str
    id: str | None = Field(default=None, description="the copy's id in the target")
    status: Literal["created", "skipped", "failed"]
    error: str | None = None


class CopyOut(Output):
    results: list[AssetResult]
    created: int
    skipped: int
    failed: int


Maker = Callable[[], Awaitable[JSON]]
_COPY_CONCURRENCY = 4


def _folded(record: JSON) -> str:
    return str(record.get("name") or "").strip().casefold()


Plan = list[tuple[str, JSON | None, Maker]]  # (name, the target's twin or None, how to make it)


async def _fields(ctx: ActionContext, target: str) -> Plan:
    ghl = ctx.ghl
    mine = (await ghl.custom_fields.list(ctx.location_id, model="all")).get("customFields", [])
    theirs = (await ghl.custom_fields.list(target, model="all")).get("customFields", [])
    twins = {(f.get("model"), _folded(f)): f for f in theirs}

    def maker(f: JSON) -> Maker:
        body = {k: f[k] for k in ("name", "dataType", "model", "placeholder") if f.get(k)}
        if f.get("picklistOptions"):
            body["options"] = list(f["picklistOptions"])
        key = ctx.keyed(f"field:{f['id']}")
        return lambda: ghl.custom_fields.create(target, body, options=key)

    return [(f["name"], twins.get((f.get("model"), _folded(f))), maker(f)) for f in mine]


async def _values(ctx: ActionContext, target: str) -> Plan:
    ghl = ctx.ghl
    mine = (await ghl.custom_values.list(ctx.location_id)).get("customValues", [])
    theirs = (await ghl.custom_values.list(target)).get("customValues", [])
    twins = {_folded(v): v for v in theirs}

    def maker(v: JSON) -> Maker:
        name, value, key = v["name"], str(v.get("value") or ""), ctx.keyed(f"value:{v['id']}")
        return lambda: ghl.custom_values.create(target, name, value, options=key)

    return [(v["name"], twins.get(_folded(v)), maker(v)) for v in mine]


async def _tags(ctx: ActionContext, target: str) -> Plan:
    ghl = ctx.ghl
    mine = (await ghl.tags.list(ctx.location_id)).get("tags", [])
    twins = {_folded(t): t for t in (await ghl.tags.list(target)).get("tags", [])}

    def maker(t: JSON) -> Maker:
        name, key = t["name"], ctx.keyed(f"tag:{t['id']}")
        return lambda: ghl.tags.create(target, name, options=key)

    return [(t["name"], twins.get(_folded(t)), maker(t)) for t in mine]


_PLANS = {"custom_fields": _fields, "custom_values": _values, "tags": _tags}
_WRAPPERS = {"custom_fields": "customField", "custom_values": "customValue", "tags": "tag"}


@actions.define(
    "locations.copy_assets",
    "Copy custom fields, custom values and tags from this location to another this tenant"
    " owns, skipping those it already has by name.",
    scopes=tuple(
        f"locations/{area}.{level}"
        for area in ("customFields", "customValues", "tags")
        for level in ("readonly", "write")
    ),
    kind=Kind.WRITE,
    retry_safe=True,
    notes="GHL has no copy endpoint: this lists both locations and creates what the target"
    " lacks (matched by name, and by model for fields), one call each, so a retry skips what"
    " the first run made. The target must be a location this tenant has connected. Existing"
    " assets are never changed; a value whose name exists keeps the target's value.",
)
async def copy_assets(ctx: ActionContext, data: CopyAssets) -> CopyOut:
    target = data.target_location_id
    if target == ctx.location_id:
        raise InvalidInput("the target must be another location")
    if await _owner(ctx, target) != ctx.tenant_id:
        raise Forbidden(f"this tenant has no connection for location {target}")
    gate = asyncio.Semaphore(_COPY_CONCURRENCY)

    async def one(kind: str, name: str, twin: JSON | None, make: Maker) -> AssetResult:
        if twin is not None:
            return AssetResult(kind=kind, name=name, id=twin.get("id"), status="skipped")
        async with gate:
            try:
                answer = await make()
            except GHLError as exc:  # reported per item; the copy goes on
                return AssetResult(kind=kind, name=name, status="failed", error=str(exc)[:500])
        made = answer.get(_WRAPPERS[kind], answer)
        return AssetResult(kind=kind, name=name, id=made.get("id"), status="created")

    jobs = []
    for kind in dict.fromkeys(data.assets):
        jobs += [one(kind, *item) for item in await _PLANS[kind](ctx, target)]
    results = list(await asyncio.gather(*jobs))
    if any(r.kind == "custom_fields" and r.status == "created" for r in results):
        ctx.support.forget_fields(target)
    count = {s: sum(r.status == s for r in results) for s in ("created", "skipped", "failed")}
    return CopyOut(results=results, **count)


# --- our own view of a location's GHL traffic -------------------------------------------------


class UsageQuery(Input):
    hours: int = Field(default=24, ge=1, le=24 * 31, description="the window, ending now")


class UsageOut(Output):
    since: str
    calls: int = Field(description="GHL call attempts, retries included")
    rate_limited: int = Field(description="attempts GHL answered 429")
    errors: int = Field(description="other failed attempts: 4xx, 5xx, timeouts, no connection")
    by_status: dict[str, int]
    budget: dict[str, float | int] | None = Field(None, description="GHL's last limit headers")


@actions.define(
    "locations.usage",
    "API calls, 429s and errors for this location over the last hours, from our audit log.",
    scopes=(),  # no GHL call: reads this service's own audit log
    notes="Counts this tenant's own audited calls for the location, retries included; calls"
    " made with the agency token count under the company id. budget is what GHL's headers"
    " said on this process's last call for the location (daily limit and what remained), or"
    " absent if it has made none since it started.",
)
async def usage(ctx: ActionContext, data: UsageQuery) -> UsageOut:
    audit = ctx.support.audit
    if audit is None:
        raise Conflict("this process keeps no audit log, so it cannot count calls")
    since = datetime.now(UTC) - timedelta(hours=data.hours)
    by_status = await audit.usage(ctx.tenant_id, ctx.location_id, since)
    limited = by_status.get("429", 0)
    failed = sum(n for s, n in by_status.items() if not (s.isdigit() and int(s) < 400))
    return UsageOut(
        since=since.isoformat(),
        calls=sum(by_status.values()),
        rate_limited=limited,
        errors=failed - limited,
        by_status=by_status,
        budget=ctx.ghl.pipeline.budget(ctx.location_id),
    )
