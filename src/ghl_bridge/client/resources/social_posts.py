"""Social planner posts and accounts (spec: social-media-posting.json).

Every path carries the location id. The list DTO types ``skip``/``limit`` as strings, so the
iterator sends them as text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pagination import Offset, paginate
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class SocialPostsResource(Resource):
    """``client.social_posts``: the social planner's posts and accounts."""

    def iter_list(
        self,
        location_id: str,
        from_date: str,
        to_date: str,
        *,
        post_type: str = "all",
        include_users: bool = False,
        limit: int = 50,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        """Posts between two ISO dates, paged by skip/limit in the body (a read; retried)."""
        body = {
            "fromDate": from_date,
            "toDate": to_date,
            "type": post_type,
            "includeUsers": "true" if include_users else "false",
        }
        return paginate(
            lambda b: self._call(
                "get-posts",
                location_id,
                path={"locationId": location_id},
                json=b,
            ),
            Offset("results.posts", limit, "skip", as_text=True),
            body,
            max_items=max_items,
        )

    async def get(self, location_id: str, post_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-post",
            location_id,
            path={"locationId": location_id, "id": post_id},
            options=options,
        )

    async def create(
        self, location_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """Create or schedule (``accountIds``, ``type``, ``userId`` required); keyed to retry."""
        return await self._call(
            "create-post",
            location_id,
            path={"locationId": location_id},
            json=dict(data),
            options=options,
        )

    async def update(
        self, location_id: str, post_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "edit-post",
            location_id,
            path={"locationId": location_id, "id": post_id},
            json=dict(data),
            options=options,
        )

    async def delete(self, location_id: str, post_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "delete-post",
            location_id,
            path={"locationId": location_id, "id": post_id},
            options=options,
        )

    async def bulk_delete(
        self, location_id: str, post_ids: Sequence[str], *, options: Opts = None
    ) -> JSON:
        """Deleting is idempotent, so this POST is retried."""
        return await self._call(
            "bulk-delete-social-planner-posts",
            location_id,
            path={"locationId": location_id},
            json={"postIds": list(post_ids)},
            idempotent=True,
            options=options,
        )

    async def accounts(self, location_id: str, *, options: Opts = None) -> JSON:
        """Connected social accounts and groups."""
        return await self._call(
            "get-account", location_id, path={"locationId": location_id}, options=options
        )

    async def statistics(
        self,
        location_id: str,
        profile_ids: Sequence[str],
        *,
        platforms: Sequence[str] | None = None,
        options: Opts = None,
    ) -> JSON:
        """Last 7 days against the previous 7 (a read; retried)."""
        body: JSON = {"profileIds": list(profile_ids)}
        if platforms:
            body["platforms"] = list(platforms)
        return await self._call(
            "get-social-media-statistics",
            location_id,
            query={"locationId": location_id},
            json=body,
            options=options,
        )
