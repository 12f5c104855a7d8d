"""Which failures are worth another attempt, and how long to wait. Pure functions.

- 429: always retried, after the wait GHL's headers imply (Retry-After if sent, else the window).
- 5xx, timeouts, dropped connections: retried only when the request is idempotent (GET/PUT/
  DELETE; a POST that only reads or upserts — search, list, upsert, statistics; or a POST
  carrying an idempotency key) — a blind POST retry can create duplicates.
- Other 4xx: never retried; they will fail the same way again.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping

from ghl_bridge.client import facts
from ghl_bridge.client.errors import GHLError, RateLimitedError, ServerError, TransportError

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# GHL's POSTs that only read (search, list, filter, details, statistics) or upsert: every
# catalogue path of that kind ends in one of these segments (tests/unit/client/test_resources.py).
_READ_LIKE_POST = re.compile(r"/(search|upsert|list|filter-by-email|statistics|details)(/|$)")


def idempotent_by_default(method: str, path: str) -> bool:
    """Whether an attempt of ``method path`` (a spec path template) may be repeated blindly."""
    method = method.upper()
    return method in IDEMPOTENT_METHODS or (
        method == "POST" and _READ_LIKE_POST.search(path) is not None
    )


def reads_only(method: str, path: str) -> bool:
    """Whether ``method path`` changes nothing at GHL (a GET, or a POST that searches/lists)."""
    method = method.upper()
    if method in ("GET", "HEAD", "OPTIONS"):
        return True
    found = _READ_LIKE_POST.search(path)
    return method == "POST" and found is not None and found.group(1) != "upsert"


def should_retry(exc: GHLError, *, idempotent: bool) -> bool | float:
    """stamina's backoff hook contract: False = give up, True = default backoff, float = wait."""
    if isinstance(exc, RateLimitedError):
        return exc.retry_after if exc.retry_after is not None else True
    if isinstance(exc, ServerError | TransportError):
        return idempotent
    return False


def retry_after_s(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The wait a 429 asks for: ``Retry-After`` (seconds or HTTP date), else GHL's window."""
    raw = headers.get("Retry-After")
    if raw:
        raw = raw.strip()
        if raw.isdigit():
            return float(raw)
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        if parsed is not None:
            return max(0.0, parsed.timestamp() - (now if now is not None else time.time()))
    interval = headers.get(facts.HEADER_RL_INTERVAL_MS)
    if interval and interval.isdigit():
        return int(interval) / 1000
    return None
