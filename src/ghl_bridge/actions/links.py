"""Trigger link actions: list, create (retry-safe), update and delete.

A trigger link is a tracked URL messages embed through its ``fieldKey`` merge tag
(``{{trigger_link.<id>}}``); clicking it fires the location's "Trigger link clicked"
workflows. GHL exposes no click counts, so these actions manage the links only.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from ghl_bridge.actions.models import (
    JSON,
    Deleted,
    Id,
    Input,
    Items,
    Name,
    Output,
    Record,
    items_of,
)
from ghl_bridge.actions.registry import ActionContext, ActionSet, Kind

actions = ActionSet()

READ, WRITE = ("links.readonly",), ("links.write",)
Url = Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=r"^\S+$")]


class LinkQuery(Input):
    query: str | None = Field(
        default=None, max_length=255, description="part of the name or target URL, any case"
    )


@actions.define(
    "links.list",
    "The location's trigger links (id, name, redirectTo, fieldKey).",
    scopes=READ,
    notes="GHL answers every link at once (no paging); query filters them here. GHL has no"
    " endpoint for trigger-link click counts.",
)
async def list_links(ctx: ActionContext, data: LinkQuery) -> Items:
    answer = await ctx.ghl.links.list(ctx.location_id, options=ctx.opts)
    links: list[JSON] = list(answer.get("links") or [])
    if data.query:
        text = data.query.casefold()
        links = [
            link
            for link in links
            if text in str(link.get("name", "")).casefold()
            or text in str(link.get("redirectTo", "")).casefold()
        ]
    return items_of(links)


class NewLink(Input):
    name: Name
    redirect_to: Url


class LinkOut(Output):
    link: Record


class NewLinkOut(LinkOut):
    created: bool = Field(description="false when a link with this name and target existed")


@actions.define(
    "links.create",
    "Create a trigger link; answers the existing one if the location has a link with the same"
    " name and target.",
    scopes=READ + WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
    notes="Check-before-create: the location's links are read first and a link with the same"
    " name (any case) and the same redirectTo is answered (created: false), so a retry does"
    " not make a second link. GHL itself allows duplicates.",
)
async def create(ctx: ActionContext, data: NewLink) -> NewLinkOut:
    listed = await ctx.ghl.links.list(ctx.location_id)
    for link in listed.get("links") or []:
        same_name = str(link.get("name", "")).casefold() == data.name.casefold()
        if same_name and link.get("redirectTo") == data.redirect_to:
            return NewLinkOut(link=Record.model_validate(link), created=False)
    answer = await ctx.ghl.links.create(
        ctx.location_id, data.name, data.redirect_to, options=ctx.opts
    )
    return NewLinkOut(link=Record.model_validate(answer.get("link", answer)), created=True)


class LinkChange(Input):
    link_id: Id
    name: Name | None = None
    redirect_to: Url | None = None

    @model_validator(mode="after")
    def _something(self) -> LinkChange:
        if self.name is None and self.redirect_to is None:
            raise ValueError("give a name or a redirectTo to change")
        return self


@actions.define(
    "links.update",
    "Rename a trigger link or point it at a new URL; what is not given stays as it is.",
    scopes=READ + WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
    notes="GHL's update needs both name and redirectTo, so the link is read first when only"
    " one is given. Messages already sent keep working: they embed the link's id.",
)
async def update(ctx: ActionContext, data: LinkChange) -> LinkOut:
    name, target = data.name, data.redirect_to
    if name is None or target is None:
        current = await ctx.ghl.links.get(ctx.location_id, data.link_id)
        link = current.get("link", current)
        name = name or str(link.get("name", ""))
        target = target or str(link.get("redirectTo", ""))
    answer = await ctx.ghl.links.update(
        ctx.location_id,
        data.link_id,
        {"name": name, "redirectTo": target},
        options=ctx.opts,
    )
    return LinkOut(link=Record.model_validate(answer.get("link", answer)))


class LinkRef(Input):
    link_id: Id


@actions.define(
    "links.delete",
    "Delete a trigger link; messages that embed it stop redirecting.",
    scopes=WRITE,
    kind=Kind.DESTRUCTIVE,
    retry_safe=True,
)
async def delete(ctx: ActionContext, data: LinkRef) -> Deleted:
    answer = await ctx.ghl.links.delete(ctx.location_id, data.link_id, options=ctx.opts)
    return Deleted(id=data.link_id, deleted=bool(answer.get("succeded", True)))
