"""Webhook events: build, sign the exact bytes, deliver in the background, redeliver on 429.

GHL flattens an event's fields at the top level next to `type`, `locationId`, `timestamp` and
`webhookId`, signs the raw body (Ed25519 `x-ghl-signature`, RSA `x-wh-signature`) and retries
only when the receiver answers 429 — up to 6 times about 10 minutes apart; any other status,
5xx included, is final (research/ghl-facts.md §2, §4). Delivery never delays the API response.

Webhook faults (faults.py) are drawn when the event is emitted, one draw per target, in emit
order: with a seeded simulator the same calls lose, repeat, delay and reorder the same events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from ghl_bridge.simulator.config import SimConfig
from ghl_bridge.simulator.faults import Fault, FaultBook
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
    fault: str | None = None  # the webhook fault that shaped this delivery, if any


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """One signed event on its way to one target."""

    url: str
    body: bytes
    webhook_id: str
    event_type: str


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
        self._held: dict[str, tuple[Fault, list[_Outgoing]]] = {}  # reorder windows, by fault
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
            outgoing = _Outgoing(url, body, webhook_id, event_type)
            self._dispatch(outgoing, self._faults.take_webhook(location_id, event_type))
        return webhook_id

    def _dispatch(self, out: _Outgoing, fault: Fault | None) -> None:
        if fault is None:
            self._spawn(self._deliver(out))
        elif fault.kind == "drop_webhook":
            self._record(out, 1, None, "dropped by drop_webhook fault", fault.kind)
        elif fault.kind == "duplicate_webhook":
            self._spawn(self._in_turn([out, out], fault.delay_ms / 1000, fault.kind))
        elif fault.kind == "delay_webhook":
            self._spawn(self._in_turn([out], fault.delay_ms / 1000, fault.kind, wait_first=True))
        else:  # reorder_webhook
            held = self._held.setdefault(fault.id, (fault, []))[1]
            held.append(out)
            if len(held) >= fault.window:
                self._release(fault.id)

    def _release(self, fault_id: str) -> None:
        fault, held = self._held.pop(fault_id)
        self._spawn(self._in_turn(self._faults.shuffled(fault, held), 0.0, fault.kind))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _in_turn(
        self, outs: list[_Outgoing], pause_s: float, fault: str, *, wait_first: bool = False
    ) -> None:
        """Deliver one after another (each with its own 429 redeliveries), so the order the
        receiver sees is the order given."""
        for index, out in enumerate(outs):
            if pause_s > 0 and (index or wait_first):
                await asyncio.sleep(pause_s)
            await self._deliver(out, fault)

    def later(self, delay_s: float, callback: Callable[[], None]) -> None:
        """Run `callback` after `delay_s` as a tracked task, so `drain` also waits for delayed
        state changes (a message turning `delivered`) and the events they emit."""

        async def run() -> None:
            await asyncio.sleep(delay_s)
            callback()

        self._spawn(run())

    @property
    def pending(self) -> int:
        """Deliveries under way, plus those held in a reorder window."""
        return len(self._tasks) + sum(len(held) for _, held in self._held.values())

    async def drain(self, timeout_s: float | None = None) -> int:
        """Wait until every queued delivery (retries included) has finished; return how many
        are still pending when `timeout_s` runs out. Part-filled reorder windows are released
        first: nothing stays held for ever."""
        for fault_id in list(self._held):
            self._release(fault_id)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self._tasks:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            await asyncio.wait(set(self._tasks), timeout=left)
        return len(self._tasks)

    async def aclose(self) -> None:
        """Cancel pending deliveries and close the HTTP session (app shutdown)."""
        self._held.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def records(self) -> list[dict[str, Any]]:
        return [asdict(delivery) for delivery in self.deliveries]

    async def _deliver(self, out: _Outgoing, fault: str | None = None) -> None:
        headers = {
            "Content-Type": "application/json",
            "x-ghl-signature": self._signer.ghl_signature(out.body),
            "x-wh-signature": self._signer.wh_signature(out.body),
        }
        for attempt in range(1, self._config.webhook_max_retries + 2):
            status, error = await self._post(out.url, out.body, headers)
            self._record(out, attempt, status, error, fault)
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
        out: _Outgoing,
        attempt: int,
        status: int | None,
        error: str | None,
        fault: str | None = None,
    ) -> None:
        self.deliveries.append(
            Delivery(out.webhook_id, out.event_type, out.url, attempt, status, error, fault)
        )
