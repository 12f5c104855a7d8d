"""Contacts (spec: contacts.json): records, search, tags, followers, campaign/workflow enrolment.

Every method acts for one location. Notes and tasks live in ``contact_activity.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pagination import MetaCursor, Offset, RecordCursor, paginate
from ghl_bridge.client.pipeline import Pipeline
from ghl_bridge.client.resources._base import JSON, Resource
from ghl_bridge.client.resources.contact_activity import ContactNotesResource, ContactTasksResource
from ghl_bridge.client.validation import RequestValidator

Opts = RequestOptions | None


class ContactsResource(Resource):
    """``client.contacts``; ``.notes`` and ``.tasks`` are sub-namespaces."""

    def __init__(self, pipeline: Pipeline, validator: RequestValidator | None = None) -> None:
        super().__init__(pipeline, validator)
        self.notes = ContactNotesResource(pipeline, validator)
        self.tasks = ContactTasksResource(pipeline, validator)

    async def create(
        self, location_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """Create a contact. Not retried on 5xx unless ``options.idempotency_key`` is set."""
        body = {**data, "locationId": location_id}
        return await self._call("create-contact", location_id, json=body, options=options)

    async def upsert(
        self, location_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """Create or update by email/phone per the location's duplicate settings: safe to retry."""
        body = {**data, "locationId": location_id}
        return await self._call("upsert-contact", location_id, json=body, options=options)

    async def get(self, location_id: str, contact_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-contact", location_id, path={"contactId": contact_id}, options=options
        )

    async def update(
        self, location_id: str, contact_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "update-contact",
            location_id,
            path={"contactId": contact_id},
            json=dict(data),
            options=options,
        )

    async def delete(self, location_id: str, contact_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "delete-contact", location_id, path={"contactId": contact_id}, options=options
        )

    async def search(
        self, location_id: str, body: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """POST /contacts/search — a read, so retried like a GET."""
        payload = {"pageLimit": 100, **body, "locationId": location_id}
        return await self._call(
            "search-contacts-advanced", location_id, json=payload, options=options
        )

    def iter_search(
        self,
        location_id: str,
        body: Mapping[str, Any] | None = None,
        *,
        page_limit: int = 100,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        """Every matching contact, walking GHL's ``searchAfter`` cursor.

        GHL keeps the cursor on each contact, not at the top level: the next page starts after
        the last contact's ``searchAfter``. Offset paging stops at 10,000 records; this does not.
        """
        style = RecordCursor("contacts", "searchAfter", "searchAfter", page_limit, "pageLimit")
        return paginate(lambda b: self.search(location_id, b), style, body, max_items=max_items)

    def iter_list(
        self,
        location_id: str,
        query: Mapping[str, Any] | None = None,
        *,
        limit: int = 100,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        """GET /contacts/ (deprecated by GHL, absent in v3), paged by ``meta.startAfter[Id]``."""
        return self._pages(
            "get-contacts", location_id, MetaCursor("contacts", limit), query, max_items=max_items
        )

    async def find_duplicate(
        self,
        location_id: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        options: Opts = None,
    ) -> JSON:
        """The contact GHL would treat as a duplicate of this email/phone, if any."""
        query = {"locationId": location_id, "email": email, "number": phone}
        return await self._call("get-duplicate-contact", location_id, query=query, options=options)

    def iter_by_business(
        self, location_id: str, business_id: str, *, limit: int = 25, max_items: int | None = None
    ) -> AsyncIterator[JSON]:
        """Contacts of one business, paged by skip/limit."""
        return self._pages(
            "get-contacts-by-businessId",
            location_id,
            Offset("contacts", limit, "skip"),
            path={"businessId": business_id},
            max_items=max_items,
        )

    async def add_tags(
        self, location_id: str, contact_id: str, tags: Sequence[str], *, options: Opts = None
    ) -> JSON:
        """Add tags; tags are a set, so repeating the call is harmless (retried)."""
        return await self._call(
            "add-tags",
            location_id,
            path={"contactId": contact_id},
            json={"tags": list(tags)},
            idempotent=True,
            options=options,
        )

    async def remove_tags(
        self, location_id: str, contact_id: str, tags: Sequence[str], *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "remove-tags",
            location_id,
            path={"contactId": contact_id},
            json={"tags": list(tags)},
            options=options,
        )

    async def add_followers(
        self, location_id: str, contact_id: str, user_ids: Sequence[str], *, options: Opts = None
    ) -> JSON:
        """Add follower users; a set, so retried."""
        return await self._call(
            "add-followers-contact",
            location_id,
            path={"contactId": contact_id},
            json={"followers": list(user_ids)},
            idempotent=True,
            options=options,
        )

    async def remove_followers(
        self, location_id: str, contact_id: str, user_ids: Sequence[str], *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "remove-followers-contact",
            location_id,
            path={"contactId": contact_id},
            json={"followers": list(user_ids)},
            options=options,
        )

    async def list_appointments(
        self, location_id: str, contact_id: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "get-appointments-for-contact",
            location_id,
            path={"contactId": contact_id},
            options=options,
        )

    async def add_to_campaign(
        self, location_id: str, contact_id: str, campaign_id: str, *, options: Opts = None
    ) -> JSON:
        """Enrol in a (legacy) campaign. Not retried unless keyed: a repeat may re-enrol."""
        return await self._call(
            "add-contact-to-campaign",
            location_id,
            path={"contactId": contact_id, "campaignId": campaign_id},
            json={},
            options=options,
        )

    async def remove_from_campaign(
        self, location_id: str, contact_id: str, campaign_id: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "remove-contact-from-campaign",
            location_id,
            path={"contactId": contact_id, "campaignId": campaign_id},
            options=options,
        )

    async def remove_from_all_campaigns(
        self, location_id: str, contact_id: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "remove-contact-from-every-campaign",
            location_id,
            path={"contactId": contact_id},
            options=options,
        )

    async def add_to_workflow(
        self,
        location_id: str,
        contact_id: str,
        workflow_id: str,
        *,
        event_start_time: str | None = None,
        options: Opts = None,
    ) -> JSON:
        """Enrol in a workflow (``event_start_time`` ISO with offset). Not retried unless keyed."""
        body = {"eventStartTime": event_start_time} if event_start_time else {}
        return await self._call(
            "add-contact-to-workflow",
            location_id,
            path={"contactId": contact_id, "workflowId": workflow_id},
            json=body,
            options=options,
        )

    async def remove_from_workflow(
        self, location_id: str, contact_id: str, workflow_id: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "delete-contact-from-workflow",
            location_id,
            path={"contactId": contact_id, "workflowId": workflow_id},
            json={},
            options=options,
        )
