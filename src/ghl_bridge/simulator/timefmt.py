"""GHL's time formats: ISO-8601 UTC with milliseconds (`2026-07-17T10:19:24.594Z`), epoch ms.

Also the date formats GHL accepts for `dateOfBirth` (per the contacts spec).
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["epoch_ms", "iso_ms", "parse_birth_date", "parse_instant_ms"]

_BIRTH_FORMATS = tuple(fmt.replace("-", sep) for sep in "-/._" for fmt in ("%Y-%m-%d", "%m-%d-%Y"))


def iso_ms(seconds: float) -> str:
    """Epoch seconds -> `YYYY-MM-DDTHH:MM:SS.mmmZ`."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_ms(iso: str | None) -> int | None:
    """The inverse of `iso_ms` (accepts any ISO-8601 instant); None for None or garbage."""
    if not iso:
        return None
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def parse_instant_ms(value: object) -> int | None:
    """A search range bound: epoch ms (number or digit string) or an ISO-8601 string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        if value.strip().isdigit():
            return int(value.strip())
        return epoch_ms(value)
    return None


def parse_birth_date(value: str) -> str | None:
    """`dateOfBirth` in any supported format (or ISO) -> midnight UTC ISO; None if unparseable."""
    for fmt in _BIRTH_FORMATS:
        try:
            return iso_ms(datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp())
        except ValueError:
            continue
    millis = epoch_ms(value)
    return iso_ms(millis / 1000) if millis is not None else None
