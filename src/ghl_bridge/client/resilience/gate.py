"""One waiter at a time per resource, interactive callers before bulk ones, FIFO within a lane.

Without an order every waiter wakes at the window's reset and races: some callers starve for
seconds, and a bulk import of 10,000 contacts can sit in front of a user clicking "send".
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum


class Lane(StrEnum):
    INTERACTIVE = "interactive"
    BULK = "bulk"


class Gate:
    def __init__(self) -> None:
        self._busy = False
        self._interactive_arrived = asyncio.Event()
        self._waiters: dict[Lane, deque[asyncio.Future[None]]] = {
            Lane.INTERACTIVE: deque(),
            Lane.BULK: deque(),
        }

    @property
    def interactive_waiting(self) -> bool:
        return any(not f.done() for f in self._waiters[Lane.INTERACTIVE])

    async def sleep_unless_interactive(self, seconds: float) -> bool:
        """A bulk holder's wait: True as soon as an interactive caller queues (give way)."""
        if self.interactive_waiting:
            return True
        self._interactive_arrived.clear()
        try:
            await asyncio.wait_for(self._interactive_arrived.wait(), seconds)
        except TimeoutError:
            return False
        return True

    @asynccontextmanager
    async def turn(self, lane: Lane, *, front: bool = False) -> AsyncIterator[None]:
        """Hold the turn; ``front`` re-queues a caller that gave way, keeping its place."""
        if self._busy:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if front:
                self._waiters[lane].appendleft(future)
            else:
                self._waiters[lane].append(future)
            if lane is Lane.INTERACTIVE:
                self._interactive_arrived.set()
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._release()  # we were handed the turn as we were cancelled: pass it on
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        for lane in (Lane.INTERACTIVE, Lane.BULK):
            queue = self._waiters[lane]
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(None)  # the turn passes on; we stay busy
                    return
        self._busy = False
