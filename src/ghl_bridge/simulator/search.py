"""`POST /contacts/search`: body validation, sort, `searchAfter` cursors and paging.

GHL's behaviour (research/ghl-wire-facts.md §1): 200 with `{contacts, total, traceId}`; default
order `dateAdded` desc; every contact carries its own cursor `searchAfter: [sortValue..., id]`
(dates as epoch ms) and the next page is requested with the last one; `page` is 1-based and
`page * pageLimit` may not pass 10,000. Ties break on `id` ascending (our choice), missing sort
values sort last in both directions (Elasticsearch's default).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.contact_model import search_view
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.search_grammar import (
    DATE_FIELDS,
    Node,
    field_value,
    matches,
    parse_filters,
)

__all__ = [
    "ENDPOINTS",
    "SearchRequest",
    "SortKey",
    "compare_cursors",
    "int_errors",
    "ordered",
    "parse_search",
    "run_search",
]

MAX_PAGE_LIMIT = 500
MAX_WINDOW = 10_000
MAX_QUERY = 75
SORTABLE = (
    "firstNameLowerCase", "lastNameLowerCase", "businessName", "dateAdded", "dateUpdated",
    "email", "dnd", "source",
)  # fmt: skip
_BODY_KEYS = frozenset(
    {"locationId", "page", "pageLimit", "searchAfter", "query", "filters", "sort"}
)
Contact = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool


@dataclass(frozen=True, slots=True)
class SearchRequest:
    location_id: str
    page_limit: int
    page: int
    search_after: list[Any] | None
    query: str | None
    filters: tuple[Node, ...]
    sort: tuple[SortKey, ...]


def int_errors(body: dict[str, Any], name: str, low: int, high: int | None) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not float(value).is_integer()
    ):
        return [f"{name} must be an integer number"]
    if value < low:
        return [f"{name} must not be less than {low}"]
    if high is not None and value > high:
        return [f"{name} must not be greater than {high}"]
    return []


def _body_errors(body: dict[str, Any]) -> list[str]:
    errors = [f"property {key} should not exist" for key in body if key not in _BODY_KEYS]
    if not isinstance(body.get("locationId"), str) or not body["locationId"]:
        errors += ["locationId must be a string", "locationId should not be empty"]
    if body.get("pageLimit") is None:
        errors.append("pageLimit should not be empty")
    errors += int_errors(body, "pageLimit", 1, MAX_PAGE_LIMIT) + int_errors(body, "page", 1, None)
    query = body.get("query")
    if query is not None and (not isinstance(query, str) or len(query) > MAX_QUERY):
        errors.append(f"query must be a string shorter than or equal to {MAX_QUERY} characters")
    for name in ("filters", "sort", "searchAfter"):
        if body.get(name) is not None and not isinstance(body[name], list):
            errors.append(f"{name} must be an array")
    if isinstance(body.get("sort"), list) and len(body["sort"]) > 2:
        errors.append("sort must contain no more than 2 elements")
    if body.get("page") is not None and body.get("searchAfter"):
        errors.append("page and searchAfter cannot be used together")
    return errors


def parse_sort(raw: Any, sortable: tuple[str, ...], default_field: str) -> tuple[SortKey, ...]:
    """A ``sort`` array as GHL validates it (contacts and opportunities alike); newest first by
    ``default_field`` when absent."""
    if not raw:
        return (SortKey(default_field, descending=True),)
    keys = []
    for entry in raw:
        field = entry.get("field") if isinstance(entry, dict) else None
        direction = entry.get("direction") if isinstance(entry, dict) else None
        if field not in sortable:
            raise unprocessable(
                [f"sort field must be one of the following values: {', '.join(sortable)}"]
            )
        if direction not in ("asc", "desc"):
            raise unprocessable(["sort direction must be one of the following values: asc, desc"])
        keys.append(SortKey(field, direction == "desc"))
    return tuple(keys)


def parse_search(body: Any) -> SearchRequest:
    """Validate a search body; raises ApiError (422 for the DTO, 400 for unknown fields)."""
    if not isinstance(body, dict):
        raise unprocessable(["locationId should not be empty", "pageLimit should not be empty"])
    errors = _body_errors(body)
    if errors:
        raise unprocessable(errors)
    return SearchRequest(
        location_id=body["locationId"],
        page_limit=int(body["pageLimit"]),
        page=int(body.get("page") or 1),
        search_after=body.get("searchAfter") or None,
        query=body.get("query") or None,
        filters=parse_filters(body.get("filters")),
        sort=parse_sort(body.get("sort"), SORTABLE, "dateAdded"),
    )


def _sort_value(contact: Contact, field: str) -> Any:
    value = field_value(contact, field)
    if field == "dnd":
        return int(bool(value))
    if field == "email" and value:
        return str(value).lower()
    if field in DATE_FIELDS:
        return value
    return value if value not in ("", None) else None


def compare_cursors(left: list[Any], right: list[Any], keys: tuple[SortKey, ...]) -> int:
    """Order of two cursors `[sortValue..., id]`; missing values last, id ascending last."""
    directions = [key.descending for key in keys] + [False]
    for a, b, descending in zip(left, right, directions, strict=True):
        if a == b:
            continue
        if a is None or b is None:
            return 1 if a is None else -1
        order: int = (a > b) - (a < b)
        return -order if descending else order
    return 0


def _matches_query(contact: Contact, query: str) -> bool:
    """Free text over the default searchable fields (name, email, phone, company)."""
    needle = query.casefold()
    digits = re.sub(r"\D", "", query)
    haystack = [
        contact.get(f) for f in ("firstName", "lastName", "email", "companyName", "businessName")
    ]
    name = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)
    if any(needle in str(text).casefold() for text in (*haystack, name) if text):
        return True
    return bool(digits) and digits in re.sub(r"\D", "", contact.get("phone") or "")


def ordered(
    found: list[Contact],
    keys: tuple[SortKey, ...],
    sort_value: Callable[[Contact, str], Any] | None = None,
) -> list[tuple[Contact, list[Any]]]:
    """Records paired with their cursors `[sortValue..., id]`, in search order."""
    value = sort_value or _sort_value
    pairs = [(c, [*(value(c, key.field) for key in keys), c["id"]]) for c in found]

    def compare(left: tuple[Contact, list[Any]], right: tuple[Contact, list[Any]]) -> int:
        return compare_cursors(left[1], right[1], keys)

    return sorted(pairs, key=functools.cmp_to_key(compare))


def _after(
    pairs: list[tuple[Contact, list[Any]]], request: SearchRequest
) -> list[tuple[Contact, list[Any]]]:
    cursor = request.search_after or []
    if len(cursor) != len(request.sort) + 1:
        raise bad_request("searchAfter does not match the sort of this search")
    try:
        return [pair for pair in pairs if compare_cursors(pair[1], cursor, request.sort) > 0]
    except TypeError as exc:  # e.g. a string where the sort field is a date
        raise bad_request("searchAfter does not match the sort of this search") from exc


def run_search(request: SearchRequest, contacts: Iterable[Contact]) -> tuple[list[Contact], int]:
    """The page of matching contacts (each with its `searchAfter`) and the total match count."""
    found = [
        contact
        for contact in contacts
        if all(matches(node, contact) for node in request.filters)
        and (request.query is None or _matches_query(contact, request.query))
    ]
    pairs = ordered(found, request.sort)
    if request.search_after is not None:
        page = _after(pairs, request)[: request.page_limit]
    else:
        if request.page * request.page_limit > MAX_WINDOW:
            # Undocumented on GHL (a 4xx is expected); Elasticsearch's result-window rule.
            raise bad_request(
                f"Result window is too large, page * pageLimit must be less than or equal to "
                f"{MAX_WINDOW}. Use searchAfter to page further."
            )
        start = (request.page - 1) * request.page_limit
        page = pairs[start : start + request.page_limit]
    return [search_view(contact, cursor) for contact, cursor in page], len(found)


async def search_contacts(call: Call) -> Response:
    request = parse_search(call.body)
    call.require_location(request.location_id)
    contacts, total = run_search(
        request, call.state.location_contacts(request.location_id).values()
    )
    return call.respond({"contacts": contacts, "total": total})


ENDPOINTS = [Endpoint("search-contacts-advanced", search_contacts)]
