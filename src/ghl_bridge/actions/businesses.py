"""Users and businesses: who works in an agency's sub-accounts, and the companies contacts
belong to (GHL's "businesses")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ghl_bridge.actions.locations import AGENCY, FOREIGN, not_anothers
from ghl_bridge.actions.models import (
    JSON,
    Deleted,
    Email,
    Id,
    Input,
    Limit,
    Name,
    Output,
    Page,
    Phone,
    Record,
    page_of,
)
from ghl_bridge.actions.registry import ActionContext, ActionSet, Kind
from ghl_bridge.errors import InvalidInput

actions = ActionSet()

# --- users ------------------------------------------------------------------------------------


class UserSearch(Input):
    query: str | None = Field(default=None, max_length=255, description="name, email or phone")
    location_id: Id | None = Field(default=None, description="only users of this sub-account")
    role: Literal["admin", "user"] | None = None
    type: Literal["agency", "account"] | None = None
    sort: Literal["firstName", "lastName", "email"] | None = None
    sort_direction: Literal["asc", "desc"] | None = None
    limit: Limit = 100


@actions.define(
    "users.search",
    "The agency's users, by name, email or phone, sub-account, role or type.",
    scopes=("users.readonly",),
    notes=AGENCY + FOREIGN,
)
async def search_users(ctx: ActionContext, data: UserSearch) -> Page:
    if data.location_id is not None:
        await not_anothers(ctx, data.location_id)
    query = data.wire(exclude={"limit"})
    pages = ctx.ghl.users.iter_search(ctx.location_id, query, max_items=data.limit + 1)
    found = [user async for user in pages]
    return page_of(found, data.limit)


# --- businesses -------------------------------------------------------------------------------

BIZ_READ, BIZ_WRITE = ("businesses.readonly",), ("businesses.write",)


class BusinessFields(Input):
    phone: Phone | None = None
    email: Email | None = None
    website: str | None = Field(default=None, max_length=255)
    address: str | None = Field(default=None, max_length=255)
    city: str | None = Field(default=None, max_length=255)
    state: str | None = Field(default=None, max_length=255)
    postal_code: str | None = Field(default=None, max_length=32)
    country: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=10_000)


class NewBusiness(BusinessFields):
    name: Name


class BusinessRef(Input):
    business_id: Id


class BusinessChange(BusinessFields):
    business_id: Id
    name: Name | None = None


class BusinessOut(Output):
    business: Record


def _business(answer: JSON) -> Record:
    # Create and update answer under "buiseness" (sic, GHL's key); get under "business".
    return Record.model_validate(answer.get("business") or answer.get("buiseness") or answer)


class BusinessList(Input):
    limit: Limit = 100


@actions.define("businesses.list", "The location's businesses.", scopes=BIZ_READ)
async def list_businesses(ctx: ActionContext, data: BusinessList) -> Page:
    pages = ctx.ghl.businesses.iter_list(ctx.location_id, max_items=data.limit + 1)
    found = [business async for business in pages]
    return page_of(found, data.limit)


@actions.define("businesses.get", "One business by id.", scopes=BIZ_READ)
async def get_business(ctx: ActionContext, data: BusinessRef) -> BusinessOut:
    answer = await ctx.ghl.businesses.get(ctx.location_id, data.business_id, options=ctx.opts)
    return BusinessOut(business=_business(answer))


@actions.define(
    "businesses.create",
    "Create a business (a company contacts can belong to).",
    scopes=BIZ_WRITE,
    kind=Kind.WRITE,
    retry_safe=False,
    notes="GHL does not deduplicate businesses: retry with the same Idempotency-Key.",
)
async def create_business(ctx: ActionContext, data: NewBusiness) -> BusinessOut:
    answer = await ctx.ghl.businesses.create(ctx.location_id, data.wire(), options=ctx.opts)
    return BusinessOut(business=_business(answer))


@actions.define(
    "businesses.update",
    "Change a business's fields; fields not given are left as they are.",
    scopes=BIZ_WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
)
async def update_business(ctx: ActionContext, data: BusinessChange) -> BusinessOut:
    body = data.wire(exclude={"business_id"})
    if not body:
        raise InvalidInput("give at least one field to change")
    answer = await ctx.ghl.businesses.update(
        ctx.location_id, data.business_id, body, options=ctx.opts
    )
    return BusinessOut(business=_business(answer))


@actions.define(
    "businesses.delete",
    "Delete a business; its contacts stay, no longer linked to it.",
    scopes=BIZ_WRITE,
    kind=Kind.DESTRUCTIVE,
    retry_safe=True,
)
async def delete_business(ctx: ActionContext, data: BusinessRef) -> Deleted:
    await ctx.ghl.businesses.delete(ctx.location_id, data.business_id, options=ctx.opts)
    return Deleted(id=data.business_id)
