"""GHL facts as data: hosts, the Version header, rate limits, header names.

Everything here is quoted from research/ghl-facts.md; nothing else in the client hard-codes them.
"""

from __future__ import annotations

from typing import Final

BASE_URL: Final = "https://services.leadconnectorhq.com"
AUTH_URL: Final = "https://marketplace.gohighlevel.com/v2/oauth/chooselocation"

# The spec pins one Version per operation; the catalogue carries it. This is the fallback for an
# operation the catalogue does not declare one for.
DEFAULT_VERSION: Final = "2021-07-28"

# Per app per resource (location or company): 100 requests / 10 s burst, 200,000 / day.
BURST_MAX: Final = 100
BURST_WINDOW_MS: Final = 10_000
DAILY_MAX: Final = 200_000

# Refresh tokens used again within this window return the same rotated pair (GHL changelog).
REFRESH_GRACE_S: Final = 30.0

HEADER_VERSION: Final = "Version"
HEADER_REQUEST_ID: Final = "X-Request-Id"
HEADER_IDEMPOTENCY_KEY: Final = "Idempotency-Key"
HEADER_RL_MAX: Final = "X-RateLimit-Max"
HEADER_RL_REMAINING: Final = "X-RateLimit-Remaining"
HEADER_RL_INTERVAL_MS: Final = "X-RateLimit-Interval-Milliseconds"
HEADER_RL_DAILY_LIMIT: Final = "X-RateLimit-Limit-Daily"
HEADER_RL_DAILY_REMAINING: Final = "X-RateLimit-Daily-Remaining"
HEADER_RL_DAILY_RESET: Final = "X-RateLimit-Daily-Reset"  # undocumented: ms until the daily reset
