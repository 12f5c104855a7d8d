"""Forms and surveys (forms.json, surveys.json) and their submissions: seeded, read-only.

Both families have the same shape, so one set of handlers serves each. Lists page by
`skip`/`limit` (default 10, at most 50) and report `total`; submissions page by `page`/`limit`
(default 20, at most 100) with `meta{total, currentPage, nextPage, prevPage}` (null at either
end), newest first. Submissions are filtered by form/survey id, by `q` (contact id, or a
substring of name, email or phone) and by `startAt`/`endAt` (YYYY-MM-DD, whole days). Per the
spec's parameter docs, `startAt` defaults to the same date last month and `endAt` to today.
The lists' `type` filter (folders) is accepted and ignored: no folders are seeded.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.content_records import FORMS, SURVEYS, SubmissionKind
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import unprocessable
from ghl_bridge.simulator.gate import Endpoint, Handler
from ghl_bridge.simulator.resources import query_int, query_location, slice_page
from ghl_bridge.simulator.timefmt import epoch_ms

__all__ = ["ENDPOINTS"]

Record = dict[str, Any]
_DAY_MS = 86_400_000


def _day_ms(call: Call, name: str, default: date) -> int:
    """Midnight UTC of the `name` query date (YYYY-MM-DD), or of `default`."""
    raw = call.query(name)
    if not raw:
        day = default
    else:
        try:
            day = date.fromisoformat(raw)
        except ValueError as exc:
            raise unprocessable([f"{name} must be a valid date (YYYY-MM-DD)"]) from exc  # ours
    return round(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _month_before(today: date) -> date:
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    for day in (today.day, 30, 29, 28):  # same date last month, clamped to its length
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def _matches_text(submission: Record, text: str) -> bool:
    if not text:
        return True
    if submission.get("contactId") == text:
        return True
    others = submission.get("others") or {}
    haystack = (submission.get("name"), submission.get("email"), others.get("phone"))
    return any(text.lower() in str(value).lower() for value in haystack if value)


def _list(kind: SubmissionKind) -> Handler:
    async def handler(call: Call) -> Response:
        location_id = query_location(call)
        skip = query_int(call, "skip", 0)
        limit = query_int(call, "limit", 10, low=1, high=50)
        found = call.state.location_records(kind.plural, location_id)
        page = [
            {"id": r["id"], "name": r["name"], "locationId": r["locationId"]}
            for r in slice_page(found, skip, limit)
        ]
        return call.respond({kind.plural: page, "total": len(found)})

    return handler


def _submissions(kind: SubmissionKind) -> Handler:
    async def handler(call: Call) -> Response:
        location_id = query_location(call)
        page = query_int(call, "page", 1, low=1)
        limit = query_int(call, "limit", 20, low=1, high=100)
        today = datetime.fromtimestamp(call.sim.now(), tz=UTC).date()
        start = _day_ms(call, "startAt", _month_before(today))
        end = _day_ms(call, "endAt", today) + _DAY_MS  # endAt is inclusive of its whole day
        parent = call.query(kind.id_field)
        text = (call.query("q") or "").strip()
        found = sorted(
            (
                s
                for s in call.state.location_records(kind.submissions, location_id)
                if (not parent or s[kind.id_field] == parent)
                and start <= (epoch_ms(s["createdAt"]) or 0) < end
                and _matches_text(s, text)
            ),
            key=lambda s: str(s["createdAt"]),
            reverse=True,
        )
        shown = slice_page(found, (page - 1) * limit, limit)
        meta = {
            "total": len(found),
            "currentPage": page,
            "nextPage": page + 1 if page * limit < len(found) else None,
            "prevPage": page - 1 if page > 1 else None,
        }
        views = [{k: v for k, v in s.items() if k != "locationId"} for s in shown]
        return call.respond({"submissions": views, "meta": meta})

    return handler


ENDPOINTS = [
    Endpoint("get-forms", _list(FORMS)),
    Endpoint("get-forms-submissions", _submissions(FORMS)),
    Endpoint("get-surveys", _list(SURVEYS)),
    Endpoint("get-surveys-submissions", _submissions(SURVEYS)),
]
