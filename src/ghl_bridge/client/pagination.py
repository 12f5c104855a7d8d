"""Async iteration over GHL's list and search operations, one strategy per paging style.

GHL uses at least six styles (ghl-facts.md §5.2, ghl-wire-facts.md §1.5, §2): page numbers,
skip/offset, a cursor in ``meta``, a cursor on the last record, and a next-page token. All share
one loop, ``paginate``, which stops on a short or empty page, honours ``max_items`` and refuses to
loop when the server repeats a page or a cursor.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ghl_bridge.client.errors import GHLError

__all__ = [
    "MetaCursor",
    "Offset",
    "PageNumber",
    "PaginationError",
    "PagingStyle",
    "RecordCursor",
    "TokenCursor",
    "paginate",
]

JSON = dict[str, Any]
Fetch = Callable[[JSON], Awaitable[Mapping[str, Any]]]


class PaginationError(GHLError):
    """The server sent a page or cursor it had already sent: following it would never end."""


class PagingStyle(Protocol):
    """How one GHL operation pages: what to send first, where the items are, what to send next."""

    def first(self, params: JSON) -> JSON: ...
    def items(self, page: Mapping[str, Any]) -> list[Any]: ...
    def next(self, params: JSON, page: Mapping[str, Any], items: list[Any]) -> JSON | None: ...


async def paginate(
    fetch: Fetch,
    style: PagingStyle,
    params: Mapping[str, Any] | None = None,
    *,
    max_items: int | None = None,
) -> AsyncIterator[Any]:
    """Yield every item across pages. ``fetch`` performs one request with the given params.

    Raises PaginationError when a cursor or a non-empty page comes round again, instead of
    looping for ever on a misbehaving server.
    """
    if max_items is not None and max_items <= 0:
        return
    request = style.first(dict(params or {}))
    sent: set[str] = set()
    pages: set[int] = set()
    yielded = 0
    while True:
        sent.add(_key(request))
        page = await fetch(request)
        items = style.items(page)
        if items:
            fingerprint = hash(_key(items))
            if fingerprint in pages:
                # No params in the message: search bodies carry PII (names, emails).
                raise PaginationError(f"the server repeated a page (page {len(sent)})")
            pages.add(fingerprint)
        for item in items:
            if max_items is not None and yielded >= max_items:
                return
            yield item
            yielded += 1
        if max_items is not None and yielded >= max_items:
            return
        following = style.next(request, page, items)
        if following is None:
            return
        if _key(following) in sent:
            raise PaginationError(f"the server repeated a cursor (after page {len(sent)})")
        request = following


@dataclass(frozen=True, slots=True)
class PageNumber:
    """``page`` + ``limit`` (or ``pageLimit``): forms/surveys submissions, contacts search pages."""

    items_at: str
    limit: int = 20
    page_param: str = "page"
    limit_param: str = "limit"
    first_page: int = 1

    def first(self, params: JSON) -> JSON:
        return {self.page_param: self.first_page, self.limit_param: self.limit, **params}

    def items(self, page: Mapping[str, Any]) -> list[Any]:
        return _list_at(page, self.items_at)

    def next(self, params: JSON, page: Mapping[str, Any], items: list[Any]) -> JSON | None:
        if _short(params, self.limit_param, items) or _meta_says_last(page):
            return None
        return {**params, self.page_param: int(params[self.page_param]) + 1}


@dataclass(frozen=True, slots=True)
class Offset:
    """``skip``/``offset`` + ``limit``: users, locations, businesses, funnels, social posts.

    ``as_text`` sends the numbers as strings, for DTOs that type them so (social posts list).
    """

    items_at: str
    limit: int = 20
    offset_param: str = "offset"
    limit_param: str = "limit"
    as_text: bool = False

    def first(self, params: JSON) -> JSON:
        return {self.offset_param: self._num(0), self.limit_param: self._num(self.limit), **params}

    def items(self, page: Mapping[str, Any]) -> list[Any]:
        return _list_at(page, self.items_at)

    def next(self, params: JSON, page: Mapping[str, Any], items: list[Any]) -> JSON | None:
        if _short(params, self.limit_param, items):
            return None
        return {**params, self.offset_param: self._num(int(params[self.offset_param]) + len(items))}

    def _num(self, value: int) -> int | str:
        return str(value) if self.as_text else value


@dataclass(frozen=True, slots=True)
class MetaCursor:
    """``startAfter`` + ``startAfterId`` copied from the response `meta` (legacy list/search)."""

    items_at: str
    limit: int = 20
    limit_param: str = "limit"
    fields: tuple[str, ...] = ("startAfter", "startAfterId")

    def first(self, params: JSON) -> JSON:
        return {self.limit_param: self.limit, **params}

    def items(self, page: Mapping[str, Any]) -> list[Any]:
        return _list_at(page, self.items_at)

    def next(self, params: JSON, page: Mapping[str, Any], items: list[Any]) -> JSON | None:
        meta = page.get("meta")
        if _short(params, self.limit_param, items) or not isinstance(meta, Mapping):
            return None
        cursor = {name: meta.get(name) for name in self.fields}
        if any(value in (None, "") for value in cursor.values()) or _meta_says_last(page):
            return None
        return {**params, **cursor}


@dataclass(frozen=True, slots=True)
class RecordCursor:
    """The cursor is a field of the last record: contacts' ``searchAfter``, opportunities' ``sort``.

    The cursor is bound to the sort, so ``page`` is dropped: mixing the two breaks the walk.
    """

    items_at: str
    record_field: str
    param: str
    limit: int = 100
    limit_param: str = "limit"

    def first(self, params: JSON) -> JSON:
        out = {self.limit_param: self.limit, **params}
        out.pop("page", None)
        return out

    def items(self, page: Mapping[str, Any]) -> list[Any]:
        return _list_at(page, self.items_at)

    def next(self, params: JSON, page: Mapping[str, Any], items: list[Any]) -> JSON | None:
        if _short(params, self.limit_param, items) or not isinstance(items[-1], Mapping):
            return None
        cursor = items[-1].get(self.record_field)
        return None if cursor in (None, "", []) else {**params, self.param: cursor}


@dataclass(frozen=True, slots=True)
class TokenCursor:
    """A next-page token in the response: ``nextCursor`` (message export), ``lastMessageId``.

    ``more_at`` names a boolean "there is more" flag when the API sends one (``nextPage``).
    """

    items_at: str
    token_at: str
    param: str
    limit: int = 100
    limit_param: str = "limit"
    more_at: str | None = None

    def first(self, params: JSON) -> JSON:
        return {self.limit_param: self.limit, **params}

    def items(self, page: Mapping[str, Any]) -> list[Any]:
        return _list_at(page, self.items_at)

    def next(self, params: JSON, page: Mapping[str, Any], items: list[Any]) -> JSON | None:
        if _short(params, self.limit_param, items):
            return None
        if self.more_at is not None and not _at(page, self.more_at):
            return None
        token = _at(page, self.token_at)
        return None if token in (None, "") else {**params, self.param: token}


def _at(page: Mapping[str, Any], dotted: str) -> Any:
    node: Any = page
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _list_at(page: Mapping[str, Any], dotted: str) -> list[Any]:
    found = _at(page, dotted)
    return list(found) if isinstance(found, list) else []


def _short(params: Mapping[str, Any], limit_param: str, items: list[Any]) -> bool:
    """A page with fewer items than asked for is the last one (an empty page included)."""
    try:
        return not items or len(items) < int(params[limit_param])
    except (KeyError, TypeError, ValueError):
        return not items


def _meta_says_last(page: Mapping[str, Any]) -> bool:
    meta = page.get("meta")
    return isinstance(meta, Mapping) and "nextPage" in meta and meta["nextPage"] in (None, False)


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
