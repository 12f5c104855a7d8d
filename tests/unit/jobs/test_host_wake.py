"""`HostWake`: datagram wake-ups between the workers and producers of one queue on one host."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest

from ghl_bridge.jobs.host_wake import SUPPORTED, HostWake

pytestmark = pytest.mark.skipif(not SUPPORTED, reason="abstract Unix sockets are Linux's")


def _key() -> str:
    return f"test|{uuid.uuid4().hex}|queue"


async def _woken(event: asyncio.Event, timeout_s: float = 2.0) -> bool:
    try:
        await asyncio.wait_for(event.wait(), timeout_s)
    except TimeoutError:
        return False
    return True


async def test_a_producer_wakes_the_worker_listening_on_the_same_queue() -> None:
    key = _key()
    worker, producer = HostWake(key), HostWake(key)
    woken = asyncio.Event()
    assert worker.listen(woken.set)
    try:
        producer.notify()
        assert await _woken(woken)
    finally:
        worker.close()
        producer.close()


async def test_every_listening_worker_is_woken_and_none_of_another_queue() -> None:
    key = _key()
    workers = [HostWake(key) for _ in range(3)]
    stranger = HostWake(_key())
    events = [asyncio.Event() for _ in range(4)]
    for wake, event in zip([*workers, stranger], events, strict=True):
        assert wake.listen(event.set)
    producer = HostWake(key)
    try:
        producer.notify()
        assert all([await _woken(e) for e in events[:3]])
        assert not await _woken(events[3], 0.2)
    finally:
        for wake in [*workers, stranger, producer]:
            wake.close()


async def test_past_the_slots_a_worker_polls_and_a_freed_slot_is_taken_again() -> None:
    key = _key()
    holders = [HostWake(key, slots=2) for _ in range(2)]
    late = HostWake(key, slots=2)
    try:
        assert all(h.listen(lambda: None) for h in holders)
        assert not late.listen(lambda: None)  # both slots held: it polls
        holders[0].unlisten()
        assert late.listen(lambda: None)
        assert late.listening
    finally:
        for wake in [*holders, late]:
            wake.close()


async def test_notify_with_nobody_listening_is_silent() -> None:
    producer = HostWake(_key())
    try:
        for _ in range(3):
            producer.notify()  # no slot is bound: nothing raised, nothing blocks
    finally:
        producer.close()


async def test_a_burst_of_notifies_wakes_once_per_drain_and_never_blocks() -> None:
    key = _key()
    worker, producer = HostWake(key), HostWake(key)
    calls = 0

    def count() -> None:
        nonlocal calls
        calls += 1

    assert worker.listen(count)
    try:
        for _ in range(10_000):  # far past the socket's buffer: the extra datagrams are dropped
            producer.notify()
        await asyncio.sleep(0.1)
        assert 1 <= calls < 10_000
    finally:
        worker.close()
        producer.close()


async def test_a_process_does_not_notify_its_own_slot() -> None:
    wake = HostWake(_key())
    woken = asyncio.Event()
    assert wake.listen(woken.set)
    try:
        wake.notify()  # its own worker is woken in memory (InProcessQueue.signal), not here
        assert not await _woken(woken, 0.2)
    finally:
        wake.close()


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("sqlite+aiosqlite:///./x.db", "sqlite:///{cwd}/x.db", True),
        ("sqlite+aiosqlite:///a.db", "sqlite+aiosqlite:///b.db", False),
        (
            "postgresql+asyncpg://u:secret@db:5432/app",
            "postgresql+asyncpg://u:other@db:5432/app",
            True,  # the password is no part of the name
        ),
        ("postgresql+asyncpg://db/app", "postgresql+asyncpg://db/other", False),
    ],
)
async def test_names_follow_the_database_not_its_spelling(
    a: str, b: str, same: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    worker = HostWake.for_queue(a, "q")
    other_queue = HostWake.for_queue(b.format(cwd=tmp_path), "other")
    producer = HostWake.for_queue(b.format(cwd=tmp_path), "q")
    woken = asyncio.Event()
    assert worker.listen(woken.set)
    try:
        other_queue.notify()
        assert not await _woken(woken, 0.2)
        producer.notify()
        assert await _woken(woken, 0.5 if not same else 2.0) is same
        assert "secret" not in repr(worker)
    finally:
        for wake in (worker, other_queue, producer):
            wake.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="sending as another user needs root to setuid")
async def test_another_users_datagrams_wake_nobody() -> None:
    """An abstract socket has no file permissions: the sender's uid, from the kernel, decides."""
    key = _key()
    worker = HostWake(key)
    woken = asyncio.Event()
    assert worker.listen(woken.set)
    try:
        pid = os.fork()
        if pid == 0:  # the child: become nobody, notify, leave without running any cleanup
            try:
                os.setuid(65534)
                HostWake(key).notify()
            finally:
                os._exit(0)
        await asyncio.to_thread(os.waitpid, pid, 0)
        assert not await _woken(woken, 0.3)
        same_user = HostWake(key)
        same_user.notify()  # the same user's is heard
        same_user.close()
        assert await _woken(woken)
    finally:
        worker.close()
