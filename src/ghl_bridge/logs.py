"""structlog set-up for the entry points, with a processor that scrubs secrets.

Library code just calls ``structlog.get_logger``; only the entry points configure output.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO, cast

import structlog

_SECRET_KEYS = re.compile(r"token|secret|password|authorization|signature|api_key|code$", re.I)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+")


def scrub(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Drop values under secret-looking keys and mask bearer tokens inside strings."""
    for key in list(event):
        if key != "event" and _SECRET_KEYS.search(key):
            event[key] = "[redacted]"
        elif isinstance(event[key], str):
            event[key] = _BEARER.sub(r"\1[redacted]", event[key])
    return event


class _Stderr:
    """Whatever ``sys.stderr`` is at the time of writing (a test runner swaps it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: str = "INFO", *, json: bool = False, cache: bool = True) -> None:
    """Configure structlog and stdlib logging once, at process start."""
    logging.basicConfig(stream=sys.stderr, level=level, format="%(message)s")
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            scrub,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        # stderr, like stdlib logging: stdout is for a command's output (`call` prints JSON).
        logger_factory=structlog.PrintLoggerFactory(cast(TextIO, _Stderr())),
        # A long-running process caches its loggers; a one-shot command (and the tests that run
        # it in-process) need not, so configuring again later still takes effect.
        cache_logger_on_first_use=cache,
    )
