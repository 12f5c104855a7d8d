"""The trigger catalogue: every event type a subscription can match, with its payload schema.

Read from ``triggers.json`` beside this module (built by scripts/gen_triggers.py from GHL's
webhook-events.json, which is not installed with the package). Loaded once, on first use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class Trigger:
    type: str
    source: str  # "ghl", or "ghl-bridge" for events the service raises itself
    doc: str | None  # GHL's documentation page name, when it differs from the type
    schema: dict[str, Any]
    example: dict[str, Any] | None


@cache
def catalogue() -> dict[str, Trigger]:
    """Every known event type → its trigger, sorted by type."""
    text = resources.files("ghl_bridge.events").joinpath("triggers.json").read_text("utf-8")
    raw: dict[str, Any] = json.loads(text)["triggers"]
    return {
        name: Trigger(
            type=name,
            source=entry["source"],
            doc=entry.get("doc"),
            schema=entry["schema"],
            example=entry.get("example"),
        )
        for name, entry in sorted(raw.items())
    }


def matching_types(pattern: str) -> list[str]:
    """The known event types a subscription's type pattern (``Contact*``, ``*``) covers."""
    return [name for name in catalogue() if fnmatchcase(name, pattern)]
