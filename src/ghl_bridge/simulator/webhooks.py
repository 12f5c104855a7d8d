"""Webhook events: build, sign the exact bytes, deliver in the background, redeliver on 429.

GHL flattens an event's fields at the top level next to `type`, `locationId`, `timestamp` and
`webhookId`, signs the raw body (Ed25519 `x-ghl-signature`, RSA `x-wh-signature`) and retries
only when the receiver answers 429 — up to 6 times about 10 minutes apart; any other status,
5xx included, is final (research/ghl-facts.md §2, §4). Delivery never delays the API response.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from ghl_bridge.simulator.config import SimConfig
from ghl_bridge.simulator.faults import FaultBook
from ghl_bridge.simulator.keys import WebhookSigner
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["Delivery", "WebhookDispatcher"]

ATTEMPT_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt to deliver one event to one URL."""

    webhookId: str  # noqa: N815 - wire name
    type: str
    url: str
    attempt: int
    status: int | None
    error: str | None


class WebhookDispatcher:
    """Owns the delivery targets, the background delivery tasks and the record of attempts."""

    def __init__(
        self,
        config: SimConfig,
        signer: WebhookSigner,
        faults: FaultBook,
        new_id: Callable[[], str],
    ) -> None:
        self._config = config
        self._signer = signer
        self._faults = faults
        self._new_id = new_id
        self.targets: list[str] = list(config.webhook_urls)
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def emit(self, event_type: str, location_id: str | None, fields: dict[str, Any]) -> str:
        """Queue `event_type` for every target and return its `webhookId`.

        Must be called from the event loop; the deliveries run as background tasks.
        """
        webhook_id = self._new_id()
        event: dict[str, Any] = {"type": event_type}
        if location_id is not None:
            event["locationId"] = location_id
        event.update({k: v for k, v in fields.items() if k not in ("type", "locationId")})
        event["timestamp"] = iso_ms(self._config.clock())
        event["webhookId"] = webhook_id
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        for url in self.targets:
            task = asyncio.get_running_loop().create_task(
                self._deliver(url, body, webhook_id, event_type, location_id)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return webhook_id

    def later(self, delay_s: float, callback: Callable[[], None]) -> None:
        """Run `callback` after `delay_s` as a tracked task, so `drain` also waits for delayed
        state changes (a message turning `delivered`) and the events they emit."""

        async def run() -> None:
            await asyncio.sleep(delay_s)
            callback()

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout_s: float | None = None) -> int:
        """Wait until every queued delivery (retries included) has finished; return how many
        are still pending when `timeout_s` runs out."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self._tasks:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            await asyncio.wait(set(self._tasks), timeout=left)
        return len(self._tasks)

    async def aclose(self) -> None:
        """Cancel pending deliveries and close the HTTP session (app shutdown)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def records(self) -> list[dict[str, Any]]:
        return [asdict(delivery) for delivery in self.deliveries]

    async def _deliver(
        self, url: str, body: bytes, webhook_id: str, event_type: str, location_id: str | None
    ) -> None:
        if self._faults.take_webhook(location_id) is not None:
            self._record(webhook_id, event_type, url, 1, None, "dropped by drop_webhook fault")
            return
        headers = {
            "Content-Type": "application/json",
            "x-ghl-signature": self._signer.ghl_signature(body),
            "x-wh-signature": self._signer.wh_signature(body),
        }
        for attempt in range(1, self._config.webhook_max_retries + 2):
            status, error = await self._post(url, body, headers)
            self._record(webhook_id, event_type, url, attempt, status, error)
            if status != 429 or attempt > self._config.webhook_max_retries:
                return
            await asyncio.sleep(self._config.webhook_retry_delay_s)

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT_S)
            )
        try:
            async with self._session.post(url, data=body, headers=headers) as response:
                with contextlib.suppress(aiohttp.ClientError):
                    await response.read()
                return response.status, None
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Not a 429, so GHL would not redeliver: the attempt is final.
            return None, f"{type(exc).__name__}: {exc}"

    def _record(
        self,
        webhook_id: str,
        event_type: str,
        url: str,
        attempt: int,
        status: int | None,
        error: str | None,
    ) -> None:
        self.deliveries.append(Delivery(webhook_id, event_type, url, attempt, status, error))
