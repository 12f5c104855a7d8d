"""Id types and the header names of our own API (GHL's header names live in client/facts.py)."""

from __future__ import annotations

from typing import Final, NewType

TenantId = NewType("TenantId", str)
LocationId = NewType("LocationId", str)
CompanyId = NewType("CompanyId", str)
ConnectionId = NewType("ConnectionId", str)
EventId = NewType("EventId", str)

HEADER_IDEMPOTENCY_KEY: Final = "Idempotency-Key"
HEADER_GHL_SIGNATURE: Final = "x-ghl-signature"
HEADER_WH_SIGNATURE: Final = "x-wh-signature"
