"""Social planner actions: connected accounts, posts (schedule, list, edit, delete), statistics.

Post inputs follow the spec's CreatePostDTO/PostCreateRequest but are closed and typed: ``type``
and ``status`` are plain strings on the wire (the spec's ``object`` typing is a generator
artefact). Connecting an account is an OAuth dance in GHL's UI, so accounts are read only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from ghl_bridge.actions.models import (
    JSON,
    Deleted,
    Id,
    Input,
    Instant,
    Limit,
    NoInput,
    Output,
    Page,
    Record,
    Tag,
    Text,
    page_of,
)
from ghl_bridge.actions.registry import ActionContext, ActionSet, Kind
from ghl_bridge.client.pagination import Offset, paginate
from ghl_bridge.errors import InvalidInput

actions = ActionSet()

ACCOUNTS = ("socialplanner/account.readonly",)
READ, WRITE = ("socialplanner/post.readonly",), ("socialplanner/post.write",)
STATS = ("socialplanner/statistics.readonly",)

# Account ids are `<oauthId>_<locationId>_<profileId>`: longer than a plain GHL id.
AccountId = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_-]+$")
]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=r"^\S+$")]
PostType = Literal["post", "story", "reel"]
# What a caller may ask a post to be; GHL's other statuses (failed, in_progress...) are its own.
PostStatus = Literal["draft", "scheduled", "published"]
Platform = Literal["facebook", "instagram", "linkedin", "google", "pinterest", "youtube", "tiktok"]
_PAGE_SIZE = 50


class AccountsOut(Output):
    accounts: list[Record]
    groups: list[Record] = Field(description="named sets of accounts, as the planner groups them")


@actions.define(
    "social.accounts_list",
    "The location's connected social accounts (id, profileId, platform, name) and groups.",
    scopes=ACCOUNTS,
    notes="Accounts are connected in GHL's UI (an OAuth flow per platform); a post names"
    " accounts by id, the statistics by profileId.",
)
async def accounts_list(ctx: ActionContext, data: NoInput) -> AccountsOut:
    answer = await ctx.ghl.social_posts.accounts(ctx.location_id, options=ctx.opts)
    results = answer.get("results") or {}
    return AccountsOut(
        accounts=[Record.model_validate(a) for a in results.get("accounts") or []],
        groups=[Record.model_validate(g) for g in results.get("groups") or []],
    )


class Media(Input):
    url: Url
    caption: str | None = Field(default=None, max_length=2200)
    type: str | None = Field(default=None, max_length=100, description="MIME type: image/png")
    thumbnail: Url | None = None
    id: str | None = Field(default=None, max_length=255)


class PostFields(Input):
    summary: Text | None = Field(default=None, description="the post's text")
    media: list[Media] | None = Field(default=None, max_length=20)
    schedule_date: Instant | None = Field(default=None, description="when to publish")
    status: PostStatus | None = Field(
        default=None, description="draft, scheduled or published (GHL works it out if unset)"
    )
    tags: list[Tag] | None = Field(default=None, max_length=50)
    category_id: Id | None = None
    follow_up_comment: str | None = Field(
        default=None, max_length=2200, description="a first comment (not on TikTok or Google)"
    )


class NewPost(PostFields):
    account_ids: list[AccountId] = Field(
        min_length=1, max_length=50, description="ids from social.accounts_list"
    )
    user_id: Id = Field(description="the GHL user the post is made as (GHL requires one)")
    type: PostType = "post"

    @model_validator(mode="after")
    def _postable(self) -> NewPost:
        if not (self.summary or self.media):
            raise ValueError("give a summary or media")
        if self.status == "scheduled" and not self.schedule_date:
            raise ValueError("a scheduled post needs a scheduleDate")
        return self


class PostOut(Output):
    post: Record


def _post_of(answer: JSON) -> JSON:
    results = answer.get("results") or answer
    post = results.get("post", results)
    return post if isinstance(post, dict) else {}


def _post(answer: JSON) -> Record:
    return Record.model_validate(_post_of(answer))


@actions.define(
    "social.posts_create",
    "Schedule a post to one or more connected accounts (or publish it now, or keep a draft).",
    scopes=WRITE,
    kind=Kind.WRITE,
    retry_safe=False,
    notes="With a scheduleDate the post is scheduled; with neither scheduleDate nor status GHL"
    " publishes it at once. GHL does not deduplicate posts: a retried create may post twice"
    " (send an Idempotency-Key to have a retry answered from our ledger instead).",
)
async def posts_create(ctx: ActionContext, data: NewPost) -> PostOut:
    body = {**data.wire(), "type": data.type}
    answer = await ctx.ghl.social_posts.create(ctx.location_id, body, options=ctx.opts)
    return PostOut(post=_post(answer))


ListStatus = Literal[
    "all", "recent", "scheduled", "draft", "failed", "in_review", "published", "in_progress",
    "deleted",
]  # fmt: skip


class PostQuery(Input):
    from_date: Instant
    to_date: Instant
    status: ListStatus = Field(default="all", description="GHL's `type` filter of the list")
    account_ids: list[AccountId] | None = Field(default=None, min_length=1, max_length=50)
    post_type: PostType | None = None
    include_users: bool = False
    limit: Limit = Field(default=100, description="stop after this many posts")


@actions.define(
    "social.posts_list",
    "Posts whose date falls between fromDate and toDate, newest first, following GHL's pages.",
    scopes=READ,
    notes="`status: all` (the default) is every post but deleted ones. The date is when a post"
    " is (or was) due to go out.",
)
async def posts_list(ctx: ActionContext, data: PostQuery) -> Page:
    body: JSON = {
        "fromDate": data.from_date,
        "toDate": data.to_date,
        "type": data.status,
        "includeUsers": "true" if data.include_users else "false",
    }
    if data.account_ids:
        body["accounts"] = ",".join(data.account_ids)
    if data.post_type:
        body["postType"] = data.post_type
    pages = paginate(
        lambda b: ctx.ghl.call(
            "get-posts",
            resource_id=ctx.location_id,
            path_params={"locationId": ctx.location_id},
            body=b,
        ),
        Offset("results.posts", _PAGE_SIZE, "skip", as_text=True),
        body,
        max_items=data.limit + 1,
    )
    return page_of([post async for post in pages], data.limit)


class PostChange(PostFields):
    post_id: Id
    account_ids: list[AccountId] | None = Field(default=None, min_length=1, max_length=50)
    type: PostType | None = None

    @model_validator(mode="after")
    def _something(self) -> PostChange:
        if not self.model_fields_set - {"post_id"}:
            raise ValueError("give at least one field to change")
        if self.status == "scheduled" and not self.schedule_date:
            raise ValueError("rescheduling needs a scheduleDate")
        return self


# Kept from the stored post when an edit does not give them: GHL's edit is a PUT.
_KEPT = ("type", "accountIds", "summary", "media", "tags", "categoryId", "followUpComment")


@actions.define(
    "social.posts_update",
    "Change a post (text, media, accounts, schedule, status); what is not given stays as it is.",
    scopes=READ + WRITE,
    kind=Kind.WRITE,
    retry_safe=True,
    notes="GHL's edit is a PUT that needs the post type, so the post is read first and its"
    " content fields are sent along with the changes; the edited post is read back.",
)
async def posts_update(ctx: ActionContext, data: PostChange) -> PostOut:
    loc = ctx.location_id
    current = _post_of(await ctx.ghl.social_posts.get(loc, data.post_id))
    body: dict[str, Any] = {k: current[k] for k in _KEPT if current.get(k) not in (None, "")}
    body.update(data.wire(exclude={"post_id"}))
    if data.schedule_date:
        body["scheduleTimeUpdated"] = True
    await ctx.ghl.social_posts.update(loc, data.post_id, body, options=ctx.opts)
    return PostOut(post=_post(await ctx.ghl.social_posts.get(loc, data.post_id)))


class PostRef(Input):
    post_id: Id


@actions.define(
    "social.posts_delete",
    "Delete a post from the planner (a published one may stay up on the platform).",
    scopes=WRITE,
    kind=Kind.DESTRUCTIVE,
    retry_safe=True,
)
async def posts_delete(ctx: ActionContext, data: PostRef) -> Deleted:
    await ctx.ghl.social_posts.delete(ctx.location_id, data.post_id, options=ctx.opts)
    return Deleted(id=data.post_id)


class StatsQuery(Input):
    profile_ids: list[AccountId] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="accounts' profileId (not id); default every connected account",
    )
    platforms: list[Platform] | None = Field(default=None, min_length=1, max_length=7)


class StatsOut(Output):
    profile_ids: list[str]
    statistics: dict[str, Any] = Field(
        description="GHL's answer: totals, per-day series and per-platform breakdowns"
    )


@actions.define(
    "social.statistics",
    "Posting and engagement statistics for the last 7 days, compared with the 7 before.",
    scopes=STATS + ACCOUNTS,
    notes="GHL's window is fixed (last 7 days vs previous 7); there is no date range. Without"
    " profileIds every connected account is included (one more call to list them). LinkedIn"
    " counts pages only and TikTok business accounts only.",
)
async def statistics(ctx: ActionContext, data: StatsQuery) -> StatsOut:
    profile_ids = data.profile_ids
    if profile_ids is None:
        listed = await ctx.ghl.social_posts.accounts(ctx.location_id)
        accounts = (listed.get("results") or {}).get("accounts") or []
        profile_ids = [str(a["profileId"]) for a in accounts if a.get("profileId")]
        if not profile_ids:
            raise InvalidInput("the location has no connected social accounts")
    answer = await ctx.ghl.social_posts.statistics(
        ctx.location_id, profile_ids, platforms=data.platforms, options=ctx.opts
    )
    return StatsOut(profile_ids=list(profile_ids), statistics=answer.get("results") or {})
