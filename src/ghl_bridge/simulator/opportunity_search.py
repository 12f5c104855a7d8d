"""Opportunity search: `POST /opportunities/search` and the older `GET /opportunities/search`.

POST (research/ghl-wire-facts.md §2.1): answers **201** with `{opportunities, total}`; filters
and sort use snake_case field names in the contacts grammar; each item carries its cursor under
`sort` (`[createdAt ms, id]` by default) which goes back as `searchAfter`; `page` 0 and 1 are
both the first page. GET (§2.2): snake_case query (`location_id`, `pipeline_id`, ...), `q` is a
prefix match, `limit` ≤ 100, and paging is by `page` or by the `startAfter`/`startAfterId`
pair copied from `meta`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.opportunities import opportunity_view
from ghl_bridge.simulator.resources import query_int, required_query
from ghl_bridge.simulator.search import (
    MAX_WINDOW,
    SortKey,
    compare_cursors,
    int_errors,
    ordered,
    parse_sort,
)
from ghl_bridge.simulator.search_grammar import DATE, KEYWORD, Grammar, matches, parse_filters
from ghl_bridge.simulator.state import SimState
from ghl_bridge.simulator.timefmt import epoch_ms

__all__ = ["ENDPOINTS"]

Record = dict[str, Any]
MAX_LIMIT = 500
MAX_LEGACY_LIMIT = 100
MAX_QUERY = 75
_DATES = ("date_added", "date_updated", "last_status_change_date", "last_stage_change_date")
_TEXTISH = KEYWORD | {"contains", "not_contains"}
_GRAMMAR_FIELDS: dict[str, frozenset[str]] = {
    "id": frozenset({"eq", "not_eq"}),
    "name": _TEXTISH,
    "monetary_value": KEYWORD | {"range"},
    **dict.fromkeys(
        ("pipeline_id", "pipeline_stage_id", "status", "lost_reason_id", "source",
         "assigned_to", "contact_id"),
        KEYWORD,
    ),
    **dict.fromkeys(("followers", "contact_name", "company_name", "email", "phone"), _TEXTISH),
    **dict.fromkeys(_DATES, DATE),
}  # fmt: skip
SORTABLE = ("date_added", "date_updated", "name", "monetary_value", *_DATES[2:])
_BODY_KEYS = frozenset(
    {"locationId", "query", "limit", "page", "searchAfter", "additionalDetails", "filters", "sort"}
)


def _doc_value(doc: Record, field: str) -> Any:
    if field.startswith("custom_fields."):
        return doc["custom_fields"].get(field.removeprefix("custom_fields."))
    return doc.get(field)


GRAMMAR = Grammar(_GRAMMAR_FIELDS, "custom_fields.", frozenset(_DATES), _doc_value)


def _doc(state: SimState, opportunity: Record) -> Record:
    """The opportunity as the search index sees it: snake_case, contact fields, dates in ms."""
    contact = state.find_contact(opportunity["contactId"]) or {}
    name = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)
    return {
        "id": opportunity["id"],
        "name": opportunity.get("name"),
        "monetary_value": opportunity.get("monetaryValue"),
        "pipeline_id": opportunity["pipelineId"],
        "pipeline_stage_id": opportunity["pipelineStageId"],
        "status": opportunity["status"],
        "lost_reason_id": opportunity.get("lostReasonId"),
        "source": opportunity.get("source"),
        "assigned_to": opportunity.get("assignedTo"),
        "contact_id": opportunity["contactId"],
        "followers": opportunity.get("followers", []),
        "contact_name": name or None,
        "company_name": contact.get("companyName"),
        "email": contact.get("email"),
        "phone": contact.get("phone"),
        "date_added": epoch_ms(opportunity["createdAt"]),
        "date_updated": epoch_ms(opportunity["updatedAt"]),
        "last_status_change_date": epoch_ms(opportunity.get("lastStatusChangeAt")),
        "last_stage_change_date": epoch_ms(opportunity.get("lastStageChangeAt")),
        "custom_fields": {cf["id"]: cf["fieldValue"] for cf in opportunity["customFields"]},
    }


def _sort_value(doc: Record, field: str) -> Any:
    value = doc.get(field)
    return value.lower() if field == "name" and isinstance(value, str) else value


def _body_errors(body: dict[str, Any]) -> list[str]:
    errors = [f"property {key} should not exist" for key in body if key not in _BODY_KEYS]
    if not isinstance(body.get("locationId"), str) or not body["locationId"]:
        errors += ["locationId must be a string", "locationId should not be empty"]
    if body.get("limit") is None:
        errors.append("limit should not be empty")
    errors += int_errors(body, "limit", 1, MAX_LIMIT) + int_errors(body, "page", 0, None)
    query = body.get("query")
    if query is not None and (not isinstance(query, str) or len(query) > MAX_QUERY):
        errors.append(f"query must be a string shorter than or equal to {MAX_QUERY} characters")
    for name in ("filters", "sort", "searchAfter"):
        if body.get(name) is not None and not isinstance(body[name], list):
            errors.append(f"{name} must be an array")
    return errors


def _matches_query(doc: Record, query: str) -> bool:
    needle = query.casefold()
    fields = ("name", "contact_name", "company_name", "email", "phone")
    return any(needle in str(doc[f]).casefold() for f in fields if doc.get(f))


def _window(pairs: list[tuple[Record, list[Any]]], body: dict[str, Any], limit: int,
            keys: tuple[SortKey, ...]) -> list[tuple[Record, list[Any]]]:  # fmt: skip
    cursor = body.get("searchAfter") or None
    if cursor is not None:
        if len(cursor) != len(keys) + 1:
            raise bad_request("searchAfter does not match the sort of this search")
        try:
            return [p for p in pairs if compare_cursors(p[1], cursor, keys) > 0][:limit]
        except TypeError as exc:
            raise bad_request("searchAfter does not match the sort of this search") from exc
    page = max(int(body.get("page") or 1), 1)
    if page * limit > MAX_WINDOW:
        raise bad_request(
            f"Result window is too large, page * limit must be less than or equal to {MAX_WINDOW}."
        )
    return pairs[(page - 1) * limit : page * limit]


async def search_advanced(call: Call) -> Response:
    body = call.body if isinstance(call.body, dict) else {}
    errors = (
        _body_errors(body) if isinstance(call.body, dict) else ["locationId should not be empty"]
    )
    if errors:
        raise unprocessable(errors)
    call.require_location(body["locationId"])
    filters = parse_filters(body.get("filters"), GRAMMAR)
    keys = parse_sort(body.get("sort"), SORTABLE, "date_added")
    store = call.state.store("opportunities")
    docs = [
        _doc(call.state, o)
        for o in call.state.location_records("opportunities", body["locationId"])
    ]
    found = [
        d for d in docs
        if all(matches(node, d, GRAMMAR) for node in filters)
        and (not body.get("query") or _matches_query(d, body["query"]))
    ]  # fmt: skip
    page = _window(ordered(found, keys, _sort_value), body, int(body["limit"]), keys)
    items = [{**opportunity_view(call.state, store[d["id"]]), "sort": cur} for d, cur in page]
    # Recorded: 201 Created (the spec says 200), and no `aggregations` key.
    return call.respond({"opportunities": items, "total": len(found)}, status=201)


def _legacy_filters(call: Call, doc: Record) -> bool:
    for field in ("pipeline_id", "pipeline_stage_id", "contact_id", "assigned_to", "id"):
        wanted = call.query(field)  # the query names are the index's snake_case fields
        if wanted and doc.get(field) != wanted:
            return False
    status = call.query("status")
    if status and status != "all" and doc["status"] != status:
        return False
    query = (call.query("q") or "").casefold()
    return not query or any(
        text.startswith(query) or any(word.startswith(query) for word in text.split())
        for text in (str(doc.get(f) or "").casefold() for f in ("name", "contact_name", "email"))
    )


def _legacy_meta(call: Call, page: list[tuple[Record, list[Any]]], total: int, number: int,
                 has_next: bool) -> Record:  # fmt: skip
    last = page[-1][0] if page else None
    meta: Record = {
        "total": total,
        "nextPageUrl": None,
        "startAfterId": last["id"] if last else None,
        "startAfter": last["date_added"] if last else None,
        "currentPage": number,
        "nextPage": number + 1 if has_next else None,
        "prevPage": number - 1 if number > 1 else None,
    }
    if has_next and last is not None:
        params = {k: v for k, v in call.request.query_params.items() if k not in ("page",)}
        params.update(
            page=str(number + 1), startAfter=str(last["date_added"]), startAfterId=last["id"]
        )
        meta["nextPageUrl"] = f"{call.request.url.replace(query='')}?{urlencode(params)}"
    return meta


async def search_legacy(call: Call) -> Response:
    location_id = required_query(call, "location_id")
    call.require_location(location_id)
    status = call.query("status")
    if status and status not in ("open", "won", "lost", "abandoned", "all"):
        raise unprocessable(["status must be a valid enum value"])
    limit = query_int(call, "limit", 20, 1, MAX_LEGACY_LIMIT)
    number = query_int(call, "page", 1, 1)
    keys = (SortKey("date_added", descending=call.query("order") != "added_asc"),)
    store = call.state.store("opportunities")
    docs = [_doc(call.state, o) for o in call.state.location_records("opportunities", location_id)]
    pairs = ordered([d for d in docs if _legacy_filters(call, d)], keys, _sort_value)
    start_after, start_id = call.query("startAfter"), call.query("startAfterId")
    if start_after and start_id:
        cursor = [query_int(call, "startAfter", 0), start_id]
        rest = [p for p in pairs if compare_cursors(p[1], cursor, keys) > 0]
    else:
        rest = pairs[(number - 1) * limit :]
    page = rest[:limit]
    meta = _legacy_meta(call, page, len(pairs), number, len(rest) > limit)
    items = [opportunity_view(call.state, store[d["id"]]) for d, _ in page]
    return call.respond({"opportunities": items, "meta": meta, "aggregations": {}})


ENDPOINTS = [
    Endpoint("search-opportunities-advanced", search_advanced),
    Endpoint("search-opportunity", search_legacy),
]
