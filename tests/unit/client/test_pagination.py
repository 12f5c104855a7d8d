"""paginate() and each GHL paging style, over a scripted in-memory page source."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import pytest

from ghl_bridge.client.pagination import (
    MetaCursor,
    Offset,
    PageNumber,
    PaginationError,
    PagingStyle,
    RecordCursor,
    TokenCursor,
    paginate,
)

RECORDS = [{"id": f"r{n:02}", "sort": [n, f"r{n:02}"]} for n in range(23)]


class Source:
    """Serves RECORDS in pages the way one GHL style does; records every request it got."""

    def __init__(self, respond: Any) -> None:
        self.respond = respond
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, params: dict[str, Any]) -> Mapping[str, Any]:
        self.requests.append(dict(params))
        return self.respond(params)  # type: ignore[no-any-return]


def _after(cursor: Any) -> int:
    """Index of the first record after a record cursor (or id), 0 without one."""
    if cursor in (None, ""):
        return 0
    key = cursor[1] if isinstance(cursor, list) else cursor
    return next(i for i, r in enumerate(RECORDS) if r["id"] == key) + 1


def _page_number(p: dict[str, Any]) -> Mapping[str, Any]:
    size = int(p["limit"])
    start = (int(p["page"]) - 1) * size
    return {"submissions": RECORDS[start : start + size]}


def _offset(p: dict[str, Any]) -> Mapping[str, Any]:
    start, size = int(p["skip"]), int(p["limit"])
    return {"results": {"posts": RECORDS[start : start + size]}}


def _meta(p: dict[str, Any]) -> Mapping[str, Any]:
    start = _after(p.get("startAfterId"))
    page = RECORDS[start : start + int(p["limit"])]
    last = page[-1] if page else None
    meta = {"startAfterId": last["id"], "startAfter": last["sort"][0]} if last else {}
    return {"opportunities": page, "meta": meta}


def _record(p: dict[str, Any]) -> Mapping[str, Any]:
    start = _after(p.get("searchAfter"))
    return {"contacts": RECORDS[start : start + int(p["pageLimit"])]}


def _token(p: dict[str, Any]) -> Mapping[str, Any]:
    start = _after(p.get("lastMessageId"))
    page = RECORDS[start : start + int(p["limit"])]
    more = start + len(page) < len(RECORDS)
    return {
        "messages": {
            "messages": page,
            "lastMessageId": page[-1]["id"] if page else None,
            "nextPage": more,
        }
    }


STYLES: list[tuple[str, PagingStyle, Any]] = [
    ("page/limit", PageNumber("submissions", 5), _page_number),
    ("skip/limit as text", Offset("results.posts", 5, "skip", as_text=True), _offset),
    ("meta startAfter", MetaCursor("opportunities", 5), _meta),
    (
        "record searchAfter",
        RecordCursor("contacts", "searchAfter", "searchAfter", 5, "pageLimit"),
        _record,
    ),
    (
        "token lastMessageId",
        TokenCursor(
            "messages.messages",
            "messages.lastMessageId",
            "lastMessageId",
            5,
            more_at="messages.nextPage",
        ),
        _token,
    ),
]
# The record-cursor source finds its cursor under "searchAfter"; give the records one.
for record in RECORDS:
    record["searchAfter"] = record["sort"]


@pytest.mark.parametrize(("name", "style", "respond"), STYLES, ids=[s[0] for s in STYLES])
async def test_each_style_walks_every_record_once(
    name: str, style: PagingStyle, respond: Any
) -> None:
    source = Source(respond)
    got = [r["id"] async for r in paginate(source, style)]
    assert got == [r["id"] for r in RECORDS]
    assert len(source.requests) == 5  # 23 records / 5 per page: the short 5th page ends it


@pytest.mark.parametrize(("name", "style", "respond"), STYLES, ids=[s[0] for s in STYLES])
async def test_max_items_stops_early(name: str, style: PagingStyle, respond: Any) -> None:
    source = Source(respond)
    got = [r async for r in paginate(source, style, max_items=7)]
    assert len(got) == 7
    assert len(source.requests) == 2  # no page fetched beyond the one that filled max_items


async def test_offset_sends_text_when_the_dto_says_string() -> None:
    source = Source(_offset)
    _ = [r async for r in paginate(source, Offset("results.posts", 5, "skip", as_text=True))]
    assert source.requests[1] == {"skip": "5", "limit": "5"}


async def test_page_number_stops_when_meta_says_no_next_page() -> None:
    pages = {1: RECORDS[:5]}
    source = Source(
        lambda p: {"submissions": pages.get(p["page"], RECORDS[:5]), "meta": {"nextPage": None}}
    )
    assert len([r async for r in paginate(source, PageNumber("submissions", 5))]) == 5
    assert len(source.requests) == 1


async def test_empty_first_page_ends_at_once() -> None:
    source = Source(lambda p: {"contacts": []})
    assert [r async for r in paginate(source, RecordCursor("contacts", "searchAfter", "x"))] == []


async def test_record_cursor_drops_page_to_keep_the_cursor_bound_to_the_sort() -> None:
    source = Source(_record)
    style = RecordCursor("contacts", "searchAfter", "searchAfter", 5, "pageLimit")
    _ = [r async for r in paginate(source, style, {"page": 3, "query": "x"})]
    assert "page" not in source.requests[0] and source.requests[0]["query"] == "x"


async def test_a_repeated_cursor_raises_instead_of_looping() -> None:
    # A broken server: every page is full and always hands back the same next token.
    pages = itertools.count()
    source = Source(lambda p: {"messages": [{"id": next(pages)}] * 2, "nextCursor": "c1"})
    with pytest.raises(PaginationError, match="repeated a cursor"):
        _ = [r async for r in paginate(source, TokenCursor("messages", "nextCursor", "cursor", 2))]
    assert len(source.requests) == 2


async def test_a_repeated_page_raises_instead_of_looping() -> None:
    # A server that ignores `page` answers page 1 for ever; page numbers alone never repeat.
    source = Source(lambda p: {"submissions": RECORDS[:5]})
    with pytest.raises(PaginationError, match="repeated a page"):
        _ = [r async for r in paginate(source, PageNumber("submissions", 5))]
    assert len(source.requests) == 2


async def test_record_cursor_missing_on_last_record_ends_the_walk() -> None:
    source = Source(lambda p: {"contacts": [{"id": "a"}, {"id": "b"}]})
    got = [r async for r in paginate(source, RecordCursor("contacts", "searchAfter", "sa", 2))]
    assert len(got) == 2 and len(source.requests) == 1
