"""`LoopGuard`: a subscription re-triggering itself on one record is held, nothing else is."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from ghl_bridge.events.loop_guard import LoopGuard, subject_of


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _guard(clock: Clock, registry: CollectorRegistry | None = None, **kw: object) -> LoopGuard:
    return LoopGuard(
        limit=3, window_s=60, clock=clock, registry=registry or CollectorRegistry(), **kw
    )  # type: ignore[arg-type]


def _held(registry: CollectorRegistry) -> float | None:
    return registry.get_sample_value("ghl_subscription_loops_held_total")


def test_the_limit_then_a_hold_for_one_window() -> None:
    clock, registry = Clock(), CollectorRegistry()
    guard = _guard(clock, registry)
    assert [guard.allow("sub_1", "c1", f"evt_{n}") for n in range(3)] == [True] * 3
    assert guard.allow("sub_1", "c1", "evt_3") is False  # the fourth within the window
    clock.now += 59
    assert guard.allow("sub_1", "c1", "evt_4") is False  # still held
    assert _held(registry) == 2
    clock.now += 2  # the hold (one window from the trip) is over, and so are the old events
    assert guard.allow("sub_1", "c1", "evt_5") is True


def test_events_spread_wider_than_the_window_are_never_held() -> None:
    clock = Clock()
    guard = _guard(clock)
    for n in range(20):
        assert guard.allow("sub_1", "c1", f"evt_{n}") is True
        clock.now += 21  # three per 63 s: under three per 60 s


def test_other_records_and_other_subscriptions_are_not_held() -> None:
    clock = Clock()
    guard = _guard(clock)
    for n in range(4):
        guard.allow("sub_1", "c1", f"evt_{n}")
    assert guard.allow("sub_1", "c1", "evt_x") is False
    assert guard.allow("sub_1", "c2", "evt_y") is True
    assert guard.allow("sub_2", "c1", "evt_z") is True


def test_a_rerun_of_a_counted_event_is_not_counted_again() -> None:
    """A retried job or a replay routes the same event again: that is no loop."""
    clock = Clock()
    guard = _guard(clock)
    assert guard.allow("sub_1", "c1", "evt_1") is True
    for _ in range(10):
        assert guard.allow("sub_1", "c1", "evt_1") is True
    assert guard.allow("sub_1", "c1", "evt_2") is True
    assert guard.allow("sub_1", "c1", "evt_3") is True
    assert guard.allow("sub_1", "c1", "evt_4") is False
    assert guard.allow("sub_1", "c1", "evt_1") is False  # while held, a re-run is held too


def test_events_about_no_record_are_not_guarded() -> None:
    clock = Clock()
    guard = _guard(clock)
    assert all(guard.allow("sub_1", None, f"evt_{n}") for n in range(50))


def test_the_pairs_tracked_are_bounded_least_recent_first() -> None:
    clock = Clock()
    guard = _guard(clock, max_tracked=2)
    for n in range(3):
        guard.allow("sub_1", "c1", f"evt_{n}")
    guard.allow("sub_1", "c2", "evt_a")
    guard.allow("sub_1", "c3", "evt_b")  # c1 is the least recently seen: forgotten
    assert guard.allow("sub_1", "c1", "evt_3") is True


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        ({"type": "NoteCreate", "id": "note_1", "contactId": "c1"}, "c1"),
        ({"type": "ContactTagUpdate", "id": "c2"}, "c2"),
        ({"type": "OpportunityStageUpdate", "id": "opp_1", "contactId": "c3"}, "c3"),
        ({"type": "LocationUpdate", "id": ""}, None),
        ({"type": "Odd", "id": 7, "contactId": None}, None),
    ],
)
def test_the_record_is_the_contact_else_the_event_subject(
    body: dict[str, object], subject: str | None
) -> None:
    assert subject_of(body) == subject


@pytest.mark.parametrize("kw", [{"limit": 0}, {"window_s": 0}, {"max_tracked": 0}])
def test_bounds_must_be_positive(kw: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="positive"):
        LoopGuard(registry=CollectorRegistry(), **kw)  # type: ignore[arg-type]
