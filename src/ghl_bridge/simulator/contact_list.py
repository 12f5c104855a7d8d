"""`GET /contacts/`: the deprecated contact list (absent in v3), still used by older clients.

Newest first (`dateAdded` desc, ties by id). Paging is by cursor only, as integrators use it
(ghl-facts.md §5.2, n8n's HighLevel node): each answer's `meta` names the last contact as
`startAfter` (its `dateAdded` in epoch ms) and `startAfterId`, and the next request sends both
back. `meta` has the shape of the legacy opportunity search (`total`, `nextPageUrl`,
`currentPage`, `nextPage`, `prevPage`, null at either end); the spec's `count` is the total too.
`query` is free text over name, email, phone and company, like the v1 list it replaced.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from ghl_bridge.simulator.contact_model import list_view
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import query_int, query_location
from ghl_bridge.simulator.search import SortKey, compare_cursors, ordered
from ghl_bridge.simulator.timefmt import epoch_ms

__all__ = ["ENDPOINTS"]

Contact = dict[str, Any]
Page = list[tuple[Contact, list[Any]]]
MAX_LIMIT = 100
_NEWEST_FIRST = (SortKey("dateAdded", descending=True),)


def _added_ms(contact: Contact, _field: str) -> Any:
    return epoch_ms(contact.get("dateAdded"))


def _matches(contact: Contact, query: str) -> bool:
    needle = query.strip().casefold()
    name = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)
    texts = (name, contact.get("email"), contact.get("companyName"), contact.get("phone"))
    if any(needle in str(text).casefold() for text in texts if text):
        return True
    digits = re.sub(r"\D", "", query)
    return len(digits) >= 3 and digits in re.sub(r"\D", "", contact.get("phone") or "")


def _cursor(call: Call, pairs: Page) -> list[Any] | None:
    """`[startAfter, startAfterId]`; an id alone resumes after that contact."""
    start_id = call.query("startAfterId") or None
    if call.query("startAfter"):
        return [query_int(call, "startAfter", 0), start_id]
    if start_id is None:
        return None
    for _, cursor in pairs:
        if cursor[1] == start_id:
            return cursor
    raise bad_request(f"Contact with id {start_id} not found")  # as contact lookups answer


def _after(pairs: Page, cursor: list[Any]) -> Page:
    if cursor[1] is None:  # a bare timestamp: strictly older contacts
        return [p for p in pairs if (p[1][0] or 0) < cursor[0]]
    return [p for p in pairs if compare_cursors(p[1], cursor, _NEWEST_FIRST) > 0]


def _meta(call: Call, page: Page, total: int, skipped: int, limit: int, more: bool) -> Contact:
    number = skipped // limit + 1
    last = page[-1][1] if page else None
    meta: Contact = {
        "total": total,
        "nextPageUrl": None,
        "startAfterId": last[1] if last else None,
        "startAfter": last[0] if last else None,
        "currentPage": number,
        "nextPage": number + 1 if more else None,
        "prevPage": number - 1 if number > 1 else None,
    }
    if more and last is not None:
        params = dict(call.request.query_params)
        params.update(startAfter=str(last[0]), startAfterId=last[1])
        meta["nextPageUrl"] = f"{call.request.url.replace(query='')}?{urlencode(params)}"
    return meta


async def get_contacts(call: Call) -> Response:
    location_id = query_location(call)
    limit = query_int(call, "limit", 20, 1, MAX_LIMIT)
    query = call.query("query") or ""
    found = [
        c for c in call.state.location_contacts(location_id).values()
        if not query.strip() or _matches(c, query)
    ]  # fmt: skip
    pairs = ordered(found, _NEWEST_FIRST, _added_ms)
    cursor = _cursor(call, pairs)
    rest = pairs if cursor is None else _after(pairs, cursor)
    page = rest[:limit]
    meta = _meta(call, page, len(pairs), len(pairs) - len(rest), limit, len(rest) > limit)
    contacts = [list_view(contact) for contact, _ in page]
    return call.respond({"contacts": contacts, "count": len(pairs), "meta": meta})


ENDPOINTS = [Endpoint("get-contacts", get_contacts)]
