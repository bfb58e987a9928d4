"""server/limits.py: misuse judged by tap time, and rate limits."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from server.ward.limits import Limiter, MisuseGuard, SignInGuard, SlidingWindow

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


def test_a_window_forgets_the_key_touched_longest_ago_past_its_bound():
    window = SlidingWindow(timedelta(minutes=15), max_keys=3)
    for i, key in enumerate(["a", "b", "c", "a", "d"]):
        window.add(key, T0 + timedelta(seconds=i))
    assert len(window) == 3
    assert window.count_before("b", T0 + timedelta(seconds=9)) == 0  # forgotten
    assert window.count_before("a", T0 + timedelta(seconds=9)) == 2  # touched again, so kept


# --------------------------------------------------------------------------- sign-in


def attempts(script):
    """Play (seconds, address, username, outcome) rows through a SignInGuard; return what each row got.

    outcome "fail" or "ok" is what the password check would say if the attempt is let through."""
    guard, got = SignInGuard(), []
    for seconds, address, username, outcome in script:
        now = T0 + timedelta(seconds=seconds)
        refusal = guard.refusal(address, username, now)
        if refusal:
            got.append(f"{refusal.by} {refusal.seconds}s")
            continue
        got.append(outcome)
        if outcome == "fail":
            guard.failed(address, username, now)
        else:
            guard.signed_in(username)
    return got


def spray(address, seconds=0):
    """Five wrong passwords for five different usernames from one address, a second apart."""
    return [(seconds + i, address, f"user{i}", "fail") for i in range(5)]


def hammer(username, count, first_address=100):
    """`count` wrong passwords for one username, each from a fresh address, as fast as allowed (5 s apart)."""
    return [(5 * i, f"10.0.0.{first_address + i}", username, "fail") for i in range(count)]


@pytest.mark.parametrize(
    "script, expected",
    [
        # Password spraying: five failures from one address, any usernames, and that address is refused
        # for the rest of the 15 minutes ...
        (spray("203.0.113.9") + [(10, "203.0.113.9", "sister", "ok")], ["fail"] * 5 + ["address 890s"]),
        # ... but never another address: the sister on the ward signs in at once.
        (spray("203.0.113.9") + [(10, "10.1.1.1", "sister", "ok")], ["fail"] * 5 + ["ok"]),
        # The window slides: 15 minutes after the first failure, one more try is allowed.
        (spray("203.0.113.9") + [(901, "203.0.113.9", "sister", "ok")], ["fail"] * 5 + ["ok"]),
        # Four failures then the right password: still fine from the same address.
        (spray("10.1.1.1")[:4] + [(10, "10.1.1.1", "sister", "ok")], ["fail"] * 4 + ["ok"]),
        # One username attacked from many addresses: the first five are free, then each further
        # attempt waits 2 s, then 4 s, then never more than 5 s.
        (hammer("sister", 5) + [(21, "10.1.1.1", "sister", "ok")], ["fail"] * 5 + ["username 1s"]),
        (hammer("sister", 5) + [(22, "10.1.1.1", "sister", "ok")], ["fail"] * 5 + ["ok"]),
        (hammer("sister", 6) + [(27, "10.1.1.1", "sister", "ok")], ["fail"] * 6 + ["username 2s"]),
        (hammer("sister", 6) + [(29, "10.1.1.1", "sister", "ok")], ["fail"] * 6 + ["ok"]),
        (hammer("sister", 40) + [(196, "10.1.1.1", "sister", "ok")], ["fail"] * 40 + ["username 4s"]),
        (hammer("sister", 40) + [(200, "10.1.1.1", "sister", "ok")], ["fail"] * 40 + ["ok"]),
        # The slow-down is the username's only: another member of staff is not held back.
        (hammer("sister", 40) + [(196, "10.1.1.1", "nurse", "ok")], ["fail"] * 40 + ["ok"]),
        # A correct password clears the username's count: her own next typo is not delayed.
        (hammer("sister", 10) + [(55, "10.1.1.1", "sister", "ok"), (56, "10.1.1.1", "sister", "fail")], ["fail"] * 10 + ["ok", "fail"]),
        # A refused attempt is not a failure: hammering inside the delay does not lengthen it.
        (
            hammer("sister", 5) + [(20.5, "10.0.0.1", "sister", "fail"), (21, "10.0.0.2", "sister", "fail"), (22, "10.1.1.1", "sister", "ok")],
            ["fail"] * 5 + ["username 2s", "username 1s", "ok"],
        ),
    ],
)
def test_sign_in_guard(script, expected):
    assert attempts(script) == expected


def test_sign_in_guard_forgets_the_oldest_keys_past_its_bound():
    guard = SignInGuard(max_keys=100)
    for i in range(1000):
        guard.failed(f"10.0.{i // 256}.{i % 256}", f"made-up-{i}", T0 + timedelta(seconds=i))
    assert guard.tracked() == (100, 100)
