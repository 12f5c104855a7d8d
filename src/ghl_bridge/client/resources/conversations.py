"""Conversations and messages (spec: conversations.json, Version 2021-04-15).

Sending is not idempotent: a retried send after a lost response would text the contact twice,
so ``send`` (and ``review_reply``) retries only with an idempotency key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pagination import RecordCursor, TokenCursor
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class ConversationsResource(Resource):
    """``client.conversations``: threads and the messages in them."""

    async def get(self, location_id: str, conversation_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-conversation",
            location_id,
            path={"conversationId": conversation_id},
            options=options,
        )

    async def create(self, location_id: str, contact_id: str, *, options: Opts = None) -> JSON:
        body = {"locationId": location_id, "contactId": contact_id}
        return await self._call("create-conversation", location_id, json=body, options=options)

    async def update(
        self,
        location_id: str,
        conversation_id: str,
        data: Mapping[str, Any],
        *,
        options: Opts = None,
    ) -> JSON:
        body = {**data, "locationId": location_id}
        return await self._call(
            "update-conversation",
            location_id,
            path={"conversationId": conversation_id},
            json=body,
            options=options,
        )

    async def delete(self, location_id: str, conversation_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "delete-conversation",
            location_id,
            path={"conversationId": conversation_id},
            options=options,
        )

    def iter_search(
        self,
        location_id: str,
        query: Mapping[str, Any] | None = None,
        *,
        limit: int = 100,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        """Conversations, newest first; the next page starts after the last one's
        ``lastMessageDate`` (``startAfterDate``; inferred from the spec, not recorded)."""
        return self._pages(
            "search-conversation",
            location_id,
            RecordCursor("conversations", "lastMessageDate", "startAfterDate", limit),
            query,
            max_items=max_items,
        )

    async def send(
        self, location_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """Send a message (``type``, ``contactId``; email needs ``html``). Retried only if keyed."""
        return await self._call("send-a-new-message", location_id, json=dict(data), options=options)

    async def get_message(self, location_id: str, message_id: str, *, options: Opts = None) -> JSON:
        """``{"message": {...}}`` (GHL wraps it, unlike the spec)."""
        return await self._call(
            "get-message", location_id, path={"id": message_id}, options=options
        )

    def iter_messages(
        self,
        location_id: str,
        conversation_id: str,
        *,
        limit: int = 100,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        """A thread's messages, paged by ``lastMessageId`` (GHL double-nests the page)."""
        return self._pages(
            "get-messages",
            location_id,
            TokenCursor(
                "messages.messages",
                "messages.lastMessageId",
                "lastMessageId",
                limit,
                more_at="messages.nextPage",
            ),
            fixed={},
            path={"conversationId": conversation_id},
            max_items=max_items,
        )

    def iter_export(
        self,
        location_id: str,
        query: Mapping[str, Any] | None = None,
        *,
        limit: int = 100,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        """Every message of the location, paged by ``cursor``/``nextCursor``."""
        return self._pages(
            "export-messages-by-location",
            location_id,
            TokenCursor("messages", "nextCursor", "cursor", limit),
            query,
            max_items=max_items,
        )

    async def update_message_status(
        self, location_id: str, message_id: str, status: str, *, options: Opts = None
    ) -> JSON:
        """For custom providers reporting delivered/failed/pending/read."""
        return await self._call(
            "update-message-status",
            location_id,
            path={"messageId": message_id},
            json={"status": status},
            options=options,
        )

    async def cancel_scheduled(
        self, location_id: str, message_id: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "cancel-scheduled-message",
            location_id,
            path={"messageId": message_id},
            options=options,
        )

    async def add_inbound(
        self, location_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """Log an inbound message from a custom provider. Not retried unless keyed."""
        return await self._call(
            "add-an-inbound-message", location_id, json=dict(data), options=options
        )

    async def review_reply(
        self, location_id: str, conversation_id: str, message: str, *, options: Opts = None
    ) -> JSON:
        """Reply to the Google Business review behind a review conversation:
        ``{conversationId, messageId, status}``. Not retried unless keyed (a retried reply
        would post twice)."""
        body = {"conversationId": conversation_id, "locationId": location_id, "message": message}
        return await self._call("send-review-reply", location_id, json=body, options=options)
