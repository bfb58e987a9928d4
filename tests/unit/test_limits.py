"""server/limits.py: misuse judged by tap time, and rate limits."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from server.limits import Limiter, MisuseGuard

T0 = datetime(2026, 11, 26, 10, tzinfo=timezone.utc)


def judge(tap_times):
    guard, marks = MisuseGuard(), []
    for moment in tap_times:
        marks.append(guard.is_misuse("k-1", moment))
        guard.record("k-1", moment)
    return marks


def test_a_child_tapping_forty_times_is_marked():
    marks = judge([T0 + timedelta(seconds=10 * i) for i in range(40)])  # as fast as the kiosk page allows
    assert marks[:6] == [False] * 6
    assert all(marks[6:])


def test_a_few_poor_answers_in_a_row_still_count():
    assert not any(judge([T0 + timedelta(seconds=10 * i) for i in range(6)]))


def test_an_outbox_draining_fifty_ratings_at_once_is_normal():
    # Fifty people over an outage of several hours: they arrive within a second, but were tapped far apart.
    assert not any(judge([T0 + timedelta(minutes=6 * i) for i in range(50)]))


def test_people_half_a_minute_apart_are_never_misuse():
    assert not any(judge([T0 + timedelta(seconds=31 * i) for i in range(30)]))


def test_a_late_burst_is_judged_by_its_own_tap_times():
    guard = MisuseGuard()
    burst = [T0 - timedelta(hours=3) + timedelta(seconds=3 * i) for i in range(8)]
    for moment in burst:
        guard.record("k-1", moment)
    assert guard.is_misuse("k-1", burst[2] + timedelta(seconds=1))
    assert not guard.is_misuse("k-1", T0)


def test_kiosks_are_judged_separately():
    guard = MisuseGuard()
    for i in range(5):
        guard.record(f"k-{i}", T0)
    assert not guard.is_misuse("k-9", T0)


def test_limiter_allows_up_to_the_limit_in_the_window():
    limiter = Limiter(3, timedelta(hours=1))
    for i in range(3):
        assert limiter.allowed("phone", T0 + timedelta(minutes=i))
        limiter.hit("phone", T0 + timedelta(minutes=i))
    assert not limiter.allowed("phone", T0 + timedelta(minutes=5))
    assert limiter.allowed("other phone", T0 + timedelta(minutes=5))
    assert limiter.allowed("phone", T0 + timedelta(minutes=61))
    limiter.reset("phone")
    assert limiter.allowed("phone", T0 + timedelta(minutes=6))
