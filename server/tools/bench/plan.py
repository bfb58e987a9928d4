"""What a benchmark run is: its two sizes, the wards and devices it sets up, and its one error."""

from __future__ import annotations

from dataclasses import dataclass

MODES = ("eventlet", "threading")
WARD = "7B"
OTHER_WARDS = tuple(f"B{n:02d}" for n in range(1, 10))  # row 5 spreads its sockets over ten wards
KIOSKS_PER_OTHER_WARD = 20
# Roughly the national FFT mix (about 93 % positive), so a trend detector, once built, stays quiet.
SCORE_WEIGHTS = {"very_good": 70, "good": 20, "neither": 3, "poor": 2, "very_poor": 2, "dont_know": 3}
SOCKETS_PER_WORKER = 400  # python-socketio clients are heavy: a few hundred per client process
SCREENS_PER_WORKER = 5  # ward screens that must each see every rating at once: a few per client process
PROBE_EVERY_S = 0.02  # the stall probe's gap between one ack and its next rating
ALERT_WAIT_S = 2.0
SMALL_BOX_KIOSKS = 200  # row 6: kiosks tapping at a set rate on the small box
CLIENT_BUSY_PCT = 70.0  # a client process above this share of a core may be what limits a rate: its row is marked


class BenchError(RuntimeError):
    """Something the benchmark needs did not work; the message says what and where to look."""


@dataclass(frozen=True)
class Plan:
    """How long and how big each part of a run is."""

    name: str
    rounds: int  # each comparison alternates its sides this many times, so a busy moment hits both
    window_s: float  # one round of an ingest or ack-latency job
    feed_window_s: float  # one round of tap -> screen
    history: tuple[int, int]  # ratings stored before the ack-latency runs: small, big
    hold_sockets: int
    hold_s: float
    hold_modes: tuple[str, ...]
    warmup_s: float = 0.3  # each round's first moments are not counted
    quiet_s: float = 3.0  # the stall probe alone, before the idle sockets arrive
    feed_kiosks: int = 100
    feed_screens: int = 20
    tap_every_s: float = 2.0  # mean gap between one kiosk's taps while the screens watch
    hold_tap_every_s: float = 60.0  # mean gap between one held kiosk's taps: ratings flow, sockets mostly idle
    alert_probes: int = 2  # follow-up requests per tap -> screen round, timed to their alert
    ingest_workers: int = 4  # client processes the server-bound kiosks are spread over, so none limits the rate
    # The server-bound rows' rounds: one 2 s round's CPU per rating moves by about 20 % on a shared
    # box, so the headline ratio, a median over rounds, needs more of them than the latency rows.
    bound_rounds: int = 8


QUICK = Plan("quick", rounds=2, window_s=0.8, feed_window_s=2.0, history=(1_000, 100_000),
             hold_sockets=500, hold_s=4, hold_modes=("eventlet",), quiet_s=2.0, bound_rounds=2)
FULL = Plan("full", rounds=4, window_s=2.0, feed_window_s=5.0, history=(1_000, 200_000),
            hold_sockets=2_000, hold_s=15, hold_modes=MODES)
