"""Batcher: calls that arrive while a batch runs form the next batch, each caller gets its own
result (or its own error), and a failing batch or a caller that gives up harms nobody else."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from ghl_bridge.batching import Batcher


class Gate:
    """A batch function that records its batches and, while closed, holds each batch open."""

    def __init__(self, *, closed: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.started = asyncio.Event()
        self._open = asyncio.Event()
        if not closed:
            self._open.set()

    def open(self) -> None:
        self._open.set()

    async def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        self.started.set()
        await self._open.wait()
        return [item * 10 for item in items]


async def _settle() -> None:
    """Let every ready task run until it waits for something."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_each_caller_gets_its_own_result_in_order() -> None:
    gate = Gate()
    batcher: Batcher[int, int] = Batcher(gate)
    results = await asyncio.gather(*(batcher.submit(n) for n in range(6)))
    assert results == [0, 10, 20, 30, 40, 50]
    assert gate.batches == [[0, 1, 2, 3, 4, 5]]


async def test_a_lone_call_runs_at_once_and_later_calls_share_the_next_batch() -> None:
    gate = Gate(closed=True)
    batcher: Batcher[int, int] = Batcher(gate)
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.wait_for(gate.started.wait(), 1)
    later = [asyncio.create_task(batcher.submit(n)) for n in (2, 3, 4)]
    await _settle()
    assert gate.batches == [[1]]  # nothing joins a batch already running
    gate.open()
    assert await first == 10
    assert [await task for task in later] == [20, 30, 40]
    assert gate.batches == [[1], [2, 3, 4]]


async def test_an_idle_batcher_runs_each_call_alone() -> None:
    gate = Gate()
    batcher: Batcher[int, int] = Batcher(gate)
    assert [await batcher.submit(n) for n in range(3)] == [0, 10, 20]
    assert gate.batches == [[0], [1], [2]]


async def test_an_item_error_reaches_only_its_caller() -> None:
    async def run(items: Sequence[int]) -> list[int | BaseException]:
        return [ValueError(f"bad {n}") if n == 2 else n + 1 for n in items]

    batcher: Batcher[int, int] = Batcher(run)
    results = await asyncio.gather(*(batcher.submit(n) for n in range(4)), return_exceptions=True)
    assert results[0] == 1
    assert results[1] == 2
    assert isinstance(results[2], ValueError)
    assert str(results[2]) == "bad 2"
    assert results[3] == 4


async def test_a_failing_batch_fails_all_its_items_and_the_next_batch_works() -> None:
    batches: list[list[int]] = []

    async def run(items: Sequence[int]) -> list[int | BaseException]:
        batches.append(list(items))
        if len(batches) == 1:
            raise ConnectionError("database down")
        return list(items)

    batcher: Batcher[int, int] = Batcher(run)
    failed = await asyncio.gather(*(batcher.submit(n) for n in range(3)), return_exceptions=True)
    assert [type(result) for result in failed] == [ConnectionError] * 3
    assert await asyncio.gather(*(batcher.submit(n) for n in (7, 8))) == [7, 8]
    assert batches == [[0, 1, 2], [7, 8]]


async def test_a_wrong_number_of_results_fails_the_batch() -> None:
    async def run(items: Sequence[int]) -> list[int | BaseException]:
        return list(items)[:-1]

    batcher: Batcher[int, int] = Batcher(run, name="short")
    results = await asyncio.gather(*(batcher.submit(n) for n in range(3)), return_exceptions=True)
    assert all(isinstance(result, RuntimeError) for result in results)
    assert "2 results for 3" in str(results[0])


async def test_a_caller_cancelled_while_waiting_does_not_disturb_the_others() -> None:
    gate = Gate(closed=True)
    batcher: Batcher[int, int] = Batcher(gate)
    tasks = [asyncio.create_task(batcher.submit(n)) for n in (1, 2, 3)]
    await asyncio.wait_for(gate.started.wait(), 1)
    tasks[1].cancel()
    await _settle()
    gate.open()
    assert await tasks[0] == 10
    assert await tasks[2] == 30
    with pytest.raises(asyncio.CancelledError):
        await tasks[1]
    assert await batcher.submit(4) == 40  # the batcher still works
    assert gate.batches == [[1, 2, 3], [4]]


async def test_a_caller_cancelled_before_its_batch_ran_does_not_disturb_the_others() -> None:
    gate = Gate(closed=True)
    batcher: Batcher[int, int] = Batcher(gate)
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.wait_for(gate.started.wait(), 1)
    waiting = [asyncio.create_task(batcher.submit(n)) for n in (2, 3)]
    await _settle()
    waiting[0].cancel()
    await _settle()
    gate.open()
    assert await first == 10
    assert await waiting[1] == 30
    with pytest.raises(asyncio.CancelledError):
        await waiting[0]


async def test_max_batch_splits_a_backlog() -> None:
    gate = Gate()
    batcher: Batcher[int, int] = Batcher(gate, max_batch=2)
    assert await asyncio.gather(*(batcher.submit(n) for n in range(5))) == [0, 10, 20, 30, 40]
    assert gate.batches == [[0, 1], [2, 3], [4]]


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        Batcher(Gate(), max_batch=0)


async def test_len_counts_the_items_waiting_for_a_batch() -> None:
    gate = Gate(closed=True)
    batcher: Batcher[int, int] = Batcher(gate, name="counted")
    assert len(batcher) == 0
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.wait_for(gate.started.wait(), 1)
    assert len(batcher) == 0  # the running batch's item is not waiting
    waiting = [asyncio.create_task(batcher.submit(n)) for n in (2, 3, 4)]
    await _settle()
    assert len(batcher) == 3
    assert "pending=3" in repr(batcher)
    gate.open()
    await asyncio.gather(first, *waiting)
    assert len(batcher) == 0


async def test_a_cancelled_drain_leaves_nothing_behind() -> None:
    batches: list[list[int]] = []
    release = asyncio.Event()

    async def run(items: Sequence[int]) -> list[int | BaseException]:
        batches.append(list(items))
        if len(batches) == 1:
            await release.wait()
            raise asyncio.CancelledError  # as when the drain task is cancelled at shutdown
        return list(items)

    batcher: Batcher[int, int] = Batcher(run)
    first = asyncio.create_task(batcher.submit(1))
    await _settle()
    waiting = [asyncio.create_task(batcher.submit(n)) for n in (2, 3)]
    await _settle()
    release.set()
    outcomes = await asyncio.gather(first, *waiting, return_exceptions=True)
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
    assert len(batcher) == 0
    assert await batcher.submit(4) == 4
    assert batches == [[1], [4]]
