"""The one clock of the server. Tests move it with WARDPULSE_TEST_CLOCK; nothing else may.

Timestamps are formatted by `shared.protocol.iso_utc`, the wire format, so stored and sent times
read the same everywhere.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

TEST_CLOCK_ENV = "WARDPULSE_TEST_CLOCK"


def _clock_shift(start: str | None) -> timedelta:
    """How far this process's clock is moved: tests set WARDPULSE_TEST_CLOCK to an ISO time (e.g.
    2026-11-30T23:58:00Z) to start a real server at a month end; the clock then runs on from there."""
    if not start:
        return timedelta(0)
    return datetime.fromisoformat(start).astimezone(timezone.utc) - datetime.now(timezone.utc)


_CLOCK_SHIFT = _clock_shift(os.environ.get(TEST_CLOCK_ENV))


def now_utc() -> datetime:
    """The server's time now (moved only by WARDPULSE_TEST_CLOCK, which tests alone set)."""
    return datetime.now(timezone.utc) + _CLOCK_SHIFT
