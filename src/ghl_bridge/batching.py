"""Group calls that arrive together into one batch: group commit, coalesced loads.

A caller hands an item to `Batcher.submit` and waits on a future; one drain task runs the batch
function on everything that queued up while its previous batch ran. There is no timer: an idle
batcher runs a lone item at once, a busy one batches what arrived meanwhile, so batches grow
with load and latency stays one batch long. A result always comes from a batch that started
after the call (never from one already running), so a coalesced read is as fresh as its own
query would have been.

Used where per-item round trips were the limit: the webhook inbox's writes
(`store.inbox_writer`), signature checks on a worker thread (`events.verify`), and the event
processor's loads and marks (`events.processor`). Imports nothing of ours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# The batch function: one result (or the exception for that item) per item, in order. If it
# raises instead, every item of the batch gets that exception.
BatchFn = Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]]


class Batcher(Generic[T, R]):
    def __init__(self, run: BatchFn[T, R], *, max_batch: int = 500, name: str = "batcher") -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be positive")
        self._run = run
        self._max_batch = max_batch
        self._name = name
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._drain_task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"Batcher({self._name!r}, pending={len(self._pending)})"

    def __len__(self) -> int:
        """Items waiting for a batch (not those in the running one)."""
        return len(self._pending)

    async def submit(self, item: T) -> R:
        """The item's result once its batch ran; raises the item's (or the batch's) error."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.create_task(self._drain(), name=self._name)
        # Shielded: one caller giving up must not cancel a future the batch still settles.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            try:
                results: Sequence[R | BaseException] = await self._run([i for i, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"{self._name}: {len(results)} results for {len(batch)}")
            except Exception as exc:
                results = [exc] * len(batch)
            except BaseException:  # cancelled (shutdown): nobody may wait forever
                for _, future in batch + self._pending:
                    future.cancel()
                self._pending.clear()  # told "cancelled", so they must not run later either
                raise
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
