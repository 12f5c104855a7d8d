"""Keyset page cursors: ``(timestamp, id)`` of a page's last row, opaque to the caller.

Pages ordered newest first by a timestamp and then by id neither shift nor repeat when rows are
added between requests, which an offset would. The id prefix (``aud_``, ``evt_``) is checked so
a cursor of one listing is refused by another.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from ghl_bridge.store.types import require_aware


class InvalidCursor(ValueError):
    """A page cursor that this service did not issue (or that was altered)."""


def encode_cursor(at: datetime, row_id: str) -> str:
    raw = f"{at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, id_prefix: str) -> tuple[datetime, str]:
    """``(at, id)`` of the last row of the previous page. Raises `InvalidCursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at_text, row_id = raw.split("|", 1)
        at = datetime.fromisoformat(at_text)
        require_aware(at, "cursor")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor("not a cursor from a previous page") from exc
    if not row_id.startswith(id_prefix):
        raise InvalidCursor("not a cursor from a previous page")
    return at, row_id
