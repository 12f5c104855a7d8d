"""The moving window counts a request until a window after its answer, not after its send."""

from __future__ import annotations

from ghl_bridge.client.resilience.window import MemoryWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def test_a_settled_slot_frees_a_window_after_the_answer() -> None:
    clock = Clock()
    window = MemoryWindow(clock)
    slow, _ = await window.take("loc", 2, 10)
    fast, _ = await window.take("loc", 2, 10)
    assert slow is not None and fast is not None
    clock.now += 0.1
    await window.settle(fast)  # answered after 100 ms
    clock.now += 2.9
    await window.settle(slow)  # answered after 3 s: GHL may have counted it as late as this
    clock.now = 1_010.05  # a window after both sends
    refused, wait = await window.take("loc", 2, 10)
    assert refused is None and abs(wait - 0.05) < 1e-6  # `fast` frees at 1_010.1
    clock.now = 1_010.2
    assert (await window.take("loc", 2, 10))[0] is not None  # fast's slot
    refused, wait = await window.take("loc", 2, 10)
    assert refused is None and abs(wait - 2.8) < 1e-6  # slow's slot frees at 1_013.0


async def test_full_window_reports_when_the_oldest_leaves() -> None:
    clock = Clock()
    window = MemoryWindow(clock)
    for _ in range(3):
        assert (await window.take("loc", 3, 10))[0] is not None
        clock.now += 1
    slot, wait = await window.take("loc", 3, 10)
    assert slot is None and wait == 7
    assert (await window.take("other", 3, 10))[0] is not None  # per resource
    assert await window.count_since("loc", 1_001) == 2
    clock.now += 7  # the first left at 1_010
    slot, _ = await window.take("loc", 3, 10)
    assert slot is not None and slot.counted == 2 and slot.taken_at == clock.now
    refused, wait = await window.take("loc", 3, 10)
    assert refused is None and wait == 1  # the second leaves at 1_011


async def test_spend_by_others_counts_from_now() -> None:
    clock = Clock()
    window = MemoryWindow(clock)
    await window.spend("loc", 4)
    assert await window.count_since("loc", clock.now) == 4
    slot, wait = await window.take("loc", 4, 10)
    assert slot is None and wait == 10
