"""Funnel and website actions: list funnels and their pages, count pages, manage URL redirects.

GHL's v2 API can only read funnels (no create, no edit, no analytics); redirects are the one
thing an integration can change. Lists page by offset/limit and are followed up to the
caller's ``limit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from ghl_bridge.actions.models import (
    JSON,
    Deleted,
    Id,
    Input,
    Limit,
    Name,
    Output,
    Page,
    Record,
    page_of,
)
from ghl_bridge.actions.registry import ActionContext, ActionSet, Kind
from ghl_bridge.client.pagination import Offset, paginate
from ghl_bridge.errors import Conflict

actions = ActionSet()

FUNNELS, PAGES = ("funnels/funnel.readonly",), ("funnels/page.readonly",)
COUNT = ("funnels/pagecount.readonly",)
REDIRECTS_READ, REDIRECTS_WRITE = ("funnels/redirect.readonly",), ("funnels/redirect.write",)
_PAGE_SIZE = 50
_ALL = 10_000


async def _walk(
    ctx: ActionContext, operation: str, items_at: str, query: Mapping[str, Any], limit: int
) -> list[JSON]:
    """Every item of an offset/limit GET list, through ``GHLClient.call`` so the optional
    filters the resource methods leave out (page ``name``, redirect ``search``) can be sent."""
    pinned = {"locationId": ctx.location_id, **{k: v for k, v in query.items() if v is not None}}
    pages = paginate(
        lambda q: ctx.ghl.call(operation, resource_id=ctx.location_id, query={**q, **pinned}),
        Offset(items_at, _PAGE_SIZE),
        max_items=limit + 1,
    )
    return [item async for item in pages]


class FunnelQuery(Input):
    type: str | None = Field(default=None, max_length=64, description="funnel or website")
    category: str | None = Field(default=None, max_length=255)
    parent_id: Id | None = Field(default=None, description="the folder the funnels are in")
    name: Name | None = Field(default=None, description="part of the name, any case")
    limit: Limit = Field(default=100, description="stop after this many funnels")


@actions.define(
    "funnels.list",
    "The location's funnels and websites, with their steps, following GHL's pages.",
    scopes=FUNNELS,
    notes="GHL has no endpoint for funnel or page visits, conversions or other analytics:"
    " v2 only lists funnels, their pages, page counts and redirects. Form and survey"
    " submissions (forms.* actions) are the nearest conversion signal.",
)
async def list_funnels(ctx: ActionContext, data: FunnelQuery) -> Page:
    query = data.wire(exclude={"limit"})
    found = [
        f
        async for f in ctx.ghl.funnels.iter_list(
            ctx.location_id, query, limit=_PAGE_SIZE, max_items=data.limit + 1
        )
    ]
    return page_of(found, data.limit)


class PageQuery(Input):
    funnel_id: Id
    name: Name | None = Field(default=None, description="part of the page name")
    limit: Limit = Field(default=100, description="stop after this many pages")


@actions.define(
    "funnels.pages",
    "A funnel's (or website's) pages, following GHL's pages.",
    scopes=PAGES,
    notes="Pages carry their step and last update only: GHL exposes no page content or stats.",
)
async def pages(ctx: ActionContext, data: PageQuery) -> Page:
    query = {"funnelId": data.funnel_id, "name": data.name}
    found = await _walk(ctx, "getPagesByFunnelId", "data", query, data.limit)
    return page_of(found, data.limit)


class FunnelRef(Input):
    funnel_id: Id


class CountOut(Output):
    funnel_id: str
    count: int


@actions.define("funnels.page_count", "How many pages a funnel or website has.", scopes=COUNT)
async def page_count(ctx: ActionContext, data: FunnelRef) -> CountOut:
    answer = await ctx.ghl.funnels.page_count(ctx.location_id, data.funnel_id, options=ctx.opts)
    return CountOut(funnel_id=data.funnel_id, count=int(answer.get("count") or 0))


# --- URL redirects ------------------------------------------------------------------------------

RedirectAction = Literal["funnel", "website", "url", "all"]
_URL = r"^\S+$"


class RedirectQuery(Input):
    search: str | None = Field(
        default=None, max_length=255, description="part of the domain + path"
    )
    limit: Limit = Field(default=100, description="stop after this many redirects")


@actions.define(
    "funnels.redirects_list",
    "The location's URL redirects (domain + path → target), following GHL's pages.",
    scopes=REDIRECTS_READ,
)
async def redirects_list(ctx: ActionContext, data: RedirectQuery) -> Page:
    found = await _walk(
        ctx, "fetch-redirects-list", "data.data", {"search": data.search}, data.limit
    )
    return page_of(found, data.limit)


class NewRedirect(Input):
    domain: str = Field(
        min_length=1, max_length=255, pattern=_URL, description="a domain of the location"
    )
    path: str = Field(min_length=1, max_length=2048, pattern=_URL, description="e.g. /old-offer")
    target: str = Field(
        min_length=1, max_length=2048, pattern=_URL, description="URL, or funnel/website id"
    )
    action: RedirectAction = Field(description="what target names: url, funnel, website, all")


class RedirectChange(Input):
    redirect_id: Id
    target: str = Field(min_length=1, max_length=2048, pattern=_URL)
    action: RedirectAction


class RedirectOut(Output):
    redirect: Record


class NewRedirectOut(RedirectOut):
    created: bool = Field(description="false when an identical redirect was already there")


def _bare(domain: str) -> str:
    """A domain as redirects list it: no scheme, no trailing slash, lower case."""
    bare = domain.strip().lower().removeprefix("https://").removeprefix("http://")
    return bare.rstrip("/")


def _path_key(path: str) -> str:
    """Paths are compared case-insensitively, with a leading slash (GHL's ``pathLowercase``)."""
    return "/" + path.strip().lstrip("/").lower()


async def _existing(ctx: ActionContext, data: NewRedirect) -> JSON | None:
    domain, path = _bare(data.domain), _path_key(data.path)
    # Every redirect, not a ``search``: how GHL matches that text is not documented.
    listed = await _walk(ctx, "fetch-redirects-list", "data.data", {}, _ALL)
    for redirect in listed:
        same_path = str(redirect.get("pathLowercase") or redirect.get("path", "")).lower()
        if _bare(str(redirect.get("domain", ""))) == domain and _path_key(same_path) == path:
            return redirect
    return None


@actions.define(
    "funnels.redirects_create",
    "Redirect a path of one of the location's domains to a URL, funnel or website.",
    scopes=REDIRECTS_READ + REDIRECTS_WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
    notes="Checks the location's redirects first: when the same domain and path already"
    " redirect to the same target, that redirect is answered (created: false), so a retry does"
    " not fail; a different target there is a conflict (use funnels.redirects_update).",
)
async def redirects_create(ctx: ActionContext, data: NewRedirect) -> NewRedirectOut:
    existing = await _existing(ctx, data)
    if existing is not None:
        if existing.get("target") == data.target and existing.get("action") == data.action:
            return NewRedirectOut(redirect=Record.model_validate(existing), created=False)
        raise Conflict(
            f"{data.domain}{data.path} already redirects elsewhere",
            details={"redirectId": existing.get("id"), "target": existing.get("target")},
        )
    answer = await ctx.ghl.funnels.create_redirect(ctx.location_id, data.wire(), options=ctx.opts)
    return NewRedirectOut(redirect=Record.model_validate(answer.get("data", answer)), created=True)


@actions.define(
    "funnels.redirects_update",
    "Point a redirect at a new target (its domain and path cannot change).",
    scopes=REDIRECTS_WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
    notes="GHL lets only target and action change; delete and re-create to move a redirect.",
)
async def redirects_update(ctx: ActionContext, data: RedirectChange) -> RedirectOut:
    answer = await ctx.ghl.funnels.update_redirect(
        ctx.location_id, data.redirect_id, data.wire(exclude={"redirect_id"}), options=ctx.opts
    )
    return RedirectOut(redirect=Record.model_validate(answer.get("data", answer)))


class RedirectRef(Input):
    redirect_id: Id


@actions.define(
    "funnels.redirects_delete",
    "Delete a URL redirect; the old path stops redirecting.",
    scopes=REDIRECTS_WRITE,
    kind=Kind.DESTRUCTIVE,
    retry_safe=True,
)
async def redirects_delete(ctx: ActionContext, data: RedirectRef) -> Deleted:
    await ctx.ghl.funnels.delete_redirect(ctx.location_id, data.redirect_id, options=ctx.opts)
    return Deleted(id=data.redirect_id)
