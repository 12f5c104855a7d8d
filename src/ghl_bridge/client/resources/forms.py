"""Forms and surveys with their submissions (spec: forms.json, surveys.json). Read-only here;
the multipart file upload is not supported yet. Submissions are the closest thing GHL offers to
conversion data."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from ghl_bridge.client.pagination import Offset, PageNumber
from ghl_bridge.client.resources._base import JSON, Resource


class FormsResource(Resource):
    """``client.forms``: forms and their submissions."""

    def iter_list(
        self, location_id: str, *, limit: int = 50, max_items: int | None = None
    ) -> AsyncIterator[JSON]:
        return self._pages(
            "get-forms", location_id, Offset("forms", limit, "skip"), max_items=max_items
        )

    def iter_submissions(
        self,
        location_id: str,
        query: Mapping[str, Any] | None = None,
        *,
        limit: int = 100,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        """Submissions (filter by ``formId``, ``startAt``/``endAt``), paged by page/limit."""
        return self._pages(
            "get-forms-submissions",
            location_id,
            PageNumber("submissions", limit),
            query,
            max_items=max_items,
        )


class SurveysResource(Resource):
    """``client.surveys``: surveys and their submissions."""

    def iter_list(
        self, location_id: str, *, limit: int = 50, max_items: int | None = None
    ) -> AsyncIterator[JSON]:
        return self._pages(
            "get-surveys", location_id, Offset("surveys", limit, "skip"), max_items=max_items
        )

    def iter_submissions(
        self,
        location_id: str,
        query: Mapping[str, Any] | None = None,
        *,
        limit: int = 100,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        return self._pages(
            "get-surveys-submissions",
            location_id,
            PageNumber("submissions", limit),
            query,
            max_items=max_items,
        )
