"""Counting events in a sliding window: misuse on a tablet, sign-in attempts, own-device ratings. Pure logic."""

from __future__ import annotations

import bisect
import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

# A tablet with this many taps within 90 seconds either side of a tap is being played with, not used.
# The kiosk page thanks and pauses after every rating, so even a child needs about ten seconds a tap:
# a short queue of people is possible, seven taps in ninety seconds is not. The first taps of a
# burst still count (they cannot be told from a queue yet); from the seventh on they are marked.
MISUSE_BURST = 7
MISUSE_WINDOW = timedelta(seconds=90)


# Keys (kiosks, phones, addresses, usernames) each window remembers at most. Past it the key
# touched longest ago is forgotten, so a flood of new addresses or made-up usernames costs at most
# this many short lists, never the whole memory (10,000 addresses plus 10,000 usernames with five
# failures each measured 8 MB).
MAX_KEYS = 10_000


class SlidingWindow:
    """Per-key event times; answers "how many within `window` of this moment?"."""

    def __init__(self, window: timedelta, keep: timedelta | None = None, max_keys: int = MAX_KEYS):
        self.window = window
        self.keep = keep or window * 2
        self.max_keys = max_keys
        self._times: OrderedDict[str, list[datetime]] = OrderedDict()

    def count_near(self, key: str, moment: datetime) -> int:
        """Events for `key` within the window on either side of `moment` (tap times can arrive late)."""
        times = self._times.get(key, [])
        return bisect.bisect_right(times, moment + self.window) - bisect.bisect_left(times, moment - self.window)

    def count_before(self, key: str, moment: datetime) -> int:
        """Events for `key` in the window ending at `moment`."""
        times = self._times.get(key, [])
        return bisect.bisect_right(times, moment) - bisect.bisect_left(times, moment - self.window)

    def recent(self, key: str, moment: datetime) -> list[datetime]:
        """The times of `key`'s events in the window ending at `moment`, oldest first."""
        times = self._times.get(key, [])
        return times[bisect.bisect_left(times, moment - self.window) : bisect.bisect_right(times, moment)]

    def add(self, key: str, moment: datetime) -> None:
        times = self._times.setdefault(key, [])
        self._times.move_to_end(key)
        bisect.insort(times, moment)
        # Forget what can no longer matter, so memory stays flat.
        del times[: bisect.bisect_left(times, times[-1] - self.keep)]
        while len(self._times) > self.max_keys:
            self._times.popitem(last=False)

    def __len__(self) -> int:
        return len(self._times)

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


# Sign-in: an address that keeps failing (password spraying, any usernames) is refused for the rest
# of the window; failures against one username, from anywhere, only slow that username down, so a
# stranger's guesses can never lock the sister out of her own ward.
ADDRESS_FAILURES = 5
SIGN_IN_WINDOW = timedelta(minutes=15)
USERNAME_FREE_FAILURES = 5
USERNAME_FIRST_DELAY = timedelta(seconds=2)  # after the 5th failure; doubles with each further one
USERNAME_MAX_DELAY = timedelta(seconds=5)  # the most the owner ever waits to type her password again


@dataclass(frozen=True)
class SignInRefusal:
    """Why a sign-in attempt is not even checked, and how many seconds until one may be."""

    by: str  # "address" or "username"
    seconds: int


class SignInGuard:
    """Who may try a password now. Keys are the client address (as the trusted proxy saw it) and the username."""

    def __init__(
        self,
        address_failures: int = ADDRESS_FAILURES,
        window: timedelta = SIGN_IN_WINDOW,
        free_failures: int = USERNAME_FREE_FAILURES,
        first_delay: timedelta = USERNAME_FIRST_DELAY,
        max_delay: timedelta = USERNAME_MAX_DELAY,
        max_keys: int = MAX_KEYS,
    ):
        self.address_failures = address_failures
        self.free_failures = free_failures
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._addresses = SlidingWindow(window, keep=window, max_keys=max_keys)
        self._usernames = SlidingWindow(window, keep=window, max_keys=max_keys)

    def refusal(self, address: str, username: str, now: datetime) -> SignInRefusal | None:
        """None if this attempt may be checked; otherwise who is held back and for how long."""
        failed = self._addresses.recent(address, now)
        if len(failed) >= self.address_failures:
            # Free again once the oldest failure that still makes up the limit leaves the window.
            return SignInRefusal("address", _seconds(failed[-self.address_failures] + self._addresses.window - now))
        wait = self.username_delay(username, now)
        if wait > timedelta(0):
            return SignInRefusal("username", _seconds(wait))
        return None

    def username_delay(self, username: str, now: datetime) -> timedelta:
        """How long this username must still wait after its last failure (zero for the first few)."""
        failed = self._usernames.recent(username, now)
        extra = len(failed) - self.free_failures
        if extra < 0:
            return timedelta(0)
        delay = min(self.first_delay * 2**min(extra, 16), self.max_delay)
        return max(failed[-1] + delay - now, timedelta(0))

    def failed(self, address: str, username: str, now: datetime) -> None:
        self._addresses.add(address, now)
        self._usernames.add(username, now)

    def signed_in(self, username: str) -> None:
        """The owner got in: her username starts afresh. The address keeps its count, so one valid
        account cannot be used to wipe a spraying address clean."""
        self._usernames.clear(username)

    def tracked(self) -> tuple[int, int]:
        """(addresses, usernames) remembered now; bounded by `max_keys` each."""
        return len(self._addresses), len(self._usernames)


def _seconds(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))
