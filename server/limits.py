"""Counting events in a sliding window: misuse on a tablet, sign-in attempts, own-device ratings. Pure logic."""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import datetime, timedelta

# A tablet with this many taps within 90 seconds either side of a tap is being played with, not used.
# The kiosk page thanks and pauses after every rating, so even a child needs about ten seconds a tap:
# a short queue of people is possible, seven taps in ninety seconds is not. The first taps of a
# burst still count (they cannot be told from a queue yet); from the seventh on they are marked.
MISUSE_BURST = 7
MISUSE_WINDOW = timedelta(seconds=90)


class SlidingWindow:
    """Per-key event times; answers "how many within `window` of this moment?"."""

    def __init__(self, window: timedelta, keep: timedelta | None = None):
        self.window = window
        self.keep = keep or window * 2
        self._times: dict[str, list[datetime]] = defaultdict(list)

    def count_near(self, key: str, moment: datetime) -> int:
        """Events for `key` within the window on either side of `moment` (tap times can arrive late)."""
        times = self._times.get(key, [])
        return bisect.bisect_right(times, moment + self.window) - bisect.bisect_left(times, moment - self.window)

    def count_before(self, key: str, moment: datetime) -> int:
        """Events for `key` in the window ending at `moment`."""
        times = self._times.get(key, [])
        return bisect.bisect_right(times, moment) - bisect.bisect_left(times, moment - self.window)

    def add(self, key: str, moment: datetime) -> None:
        times = self._times[key]
        bisect.insort(times, moment)
        # Forget what can no longer matter, so memory stays flat.
        del times[: bisect.bisect_left(times, times[-1] - self.keep)]

    def clear(self, key: str) -> None:
        self._times.pop(key, None)


class MisuseGuard:
    """Marks a rating as possible misuse when its kiosk has a burst of taps around its tap time."""

    def __init__(self, burst: int = MISUSE_BURST, window: timedelta = MISUSE_WINDOW):
        self.burst = burst
        self._taps = SlidingWindow(window, keep=timedelta(days=8))

    def is_misuse(self, kiosk_id: str, tapped: datetime) -> bool:
        return self._taps.count_near(kiosk_id, tapped) + 1 >= self.burst

    def record(self, kiosk_id: str, tapped: datetime) -> None:
        self._taps.add(kiosk_id, tapped)


class Limiter:
    """At most `limit` events per key in a sliding window (sign-in failures, own-device ratings)."""

    def __init__(self, limit: int, window: timedelta):
        self.limit = limit
        self._events = SlidingWindow(window)

    def allowed(self, key: str, now: datetime) -> bool:
        return self._events.count_before(key, now) < self.limit

    def hit(self, key: str, now: datetime) -> None:
        self._events.add(key, now)

    def reset(self, key: str) -> None:
        self._events.clear(key)
