"""Negative-trend detection: a one-sided Bernoulli CUSUM per ward. Pure logic.

X = 1 for a poor or very poor answer, 0 for any other answer except "don't know" (skipped).
B_t = max(0, B_{t-1} + X_t - gamma); alert when B_t >= h (Reynolds & Stoumbos 1999), with
p1 = 3 * p0. h is chosen from the ward's volume so that a false alert is expected about once
per 100 days. Counting ratings, not clock time, means quiet nights change nothing.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

from shared.fft import NEGATIVE

DEFAULT_P0 = 0.08
OWN_BASELINE_AFTER = 900  # ratings before a ward's own negative rate replaces the default
TARGET_DAYS = 100  # one false alert per this many days of the ward's volume
EPSILON = 1e-9  # float sums of gamma steps must not miss a lattice threshold by rounding


def shift_p1(p0: float) -> float:
    """The out-of-control rate the CUSUM is tuned to catch fastest: three times the baseline."""
    return min(3 * p0, 0.99)


def gamma_for(p0: float, p1: float | None = None) -> float:
    """Reference value: gamma = -ln((1-p1)/(1-p0)) / ln(p1(1-p0) / (p0(1-p1)))."""
    p1 = shift_p1(p0) if p1 is None else p1
    return -math.log((1 - p1) / (1 - p0)) / math.log(p1 * (1 - p0) / (p0 * (1 - p1)))


def observation(score: str) -> int | None:
    """1 for a negative answer, 0 for other answers, None for "don't know" (skipped)."""
    if score == "dont_know":
        return None
    return 1 if score in NEGATIVE else 0


def step(b: float, x: int, gamma: float) -> float:
    return max(0.0, b + x - gamma)


# --------------------------------------------------------------------------- exact run lengths


def _lattice(gamma: float, max_denominator: int = 60) -> tuple[int, int]:
    """B moves on a lattice of 1/den: up (den - num) steps for a negative, down num otherwise."""
    g = Fraction(gamma).limit_denominator(max_denominator)
    return g.numerator, g.denominator


def run_length(p: float, gamma: float, h: float, start: float = 0.0) -> float:
    """Exact average run length (ratings until an alert) when the true negative rate is p.

    Markov chain on the lattice of B; (I - Q) L = 1 is solved by elimination on its narrow band.
    """
    num, den = _lattice(gamma)
    up, down = den - num, num
    states = math.ceil(h * den - 1e-6)  # B >= h is absorbing
    rows: list[dict[int, float]] = []
    rhs = [1.0] * states
    for k in range(states):
        row = {k: 1.0}
        if k + up < states:
            row[k + up] = row.get(k + up, 0.0) - p
        target = max(0, k - down)
        row[target] = row.get(target, 0.0) - (1 - p)
        rows.append(row)
    # Forward elimination: below the diagonal, only the first `down` columns and a band of `down` rows.
    for j in range(states):
        pivot = rows[j][j]
        for i in range(j + 1, states):
            factor = rows[i].get(j)
            if not factor:
                if i > j + down:
                    break
                continue
            factor /= pivot
            for col, value in rows[j].items():
                rows[i][col] = rows[i].get(col, 0.0) - factor * value
            del rows[i][j]
            rhs[i] -= factor * rhs[j]
    solution = [0.0] * states
    for k in range(states - 1, -1, -1):
        total = rhs[k] - sum(v * solution[c] for c, v in rows[k].items() if c > k)
        solution[k] = total / rows[k][k]
    return solution[min(states - 1, int(round(start * den)))]


@lru_cache(maxsize=256)
def threshold_for(ratings_per_day: float, p0: float = DEFAULT_P0, days: float = TARGET_DAYS) -> float:
    """The h whose in-control run length is nearest `days` of this ward's volume."""
    gamma = gamma_for(p0)
    _, den = _lattice(gamma)
    target = max(ratings_per_day, 1.0) * days
    # The run length grows with h: find the first lattice point past the target, then take the nearer.
    low, high = 1, den
    while run_length(p0, gamma, high / den) < target:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        if run_length(p0, gamma, mid / den) < target:
            low = mid
        else:
            high = mid
    nearest = min((low, high), key=lambda k: abs(math.log(run_length(p0, gamma, k / den) / target)))
    return nearest / den


# --------------------------------------------------------------------------- the detector


@dataclass
class Baseline:
    """What "usual" means for a ward right now: its negative rate, and the resulting gamma and h."""

    p0: float
    h: float
    own: bool = False  # True once the ward's own rate is used
    gamma: float = field(init=False)

    def __post_init__(self):
        self.gamma = gamma_for(self.p0)


@dataclass
class TrendAlarm:
    negatives: int  # poor or very poor answers in the run that built the trend
    counted: int  # answers counted in that run
    p0: float
    b: float
    h: float

    def summary(self) -> str:
        usual = max(1, round(1 / self.p0))
        return (
            f"{self.negatives} of the last {self.counted} ratings were poor or very poor "
            f"— usually 1 in {usual}"
        )


@dataclass
class TrendDetector:
    """CUSUM state for one ward, in tap order even when an outbox delivers a late batch.

    The state is a checkpoint (B at `cutoff`, the last judged tap time) plus the observations tapped
    after it. A late rating is slotted into place and the path replayed from the checkpoint. Ratings
    tapped at or before the cutoff belong to a period already judged and are ignored.
    """

    baseline: Baseline
    b0: float = 0.0
    cutoff: str = ""  # tapped_at of the last judged rating ("" = none yet)
    held: bool = False  # an alert is waiting for acknowledgement
    window: list[tuple[str, str, int]] = field(default_factory=list)  # (tapped_at, id, x), in tap order
    b: float = 0.0  # B after the newest observation

    def observe(self, rating_id: str, tapped_at: str, score: str) -> TrendAlarm | None:
        """Take in one rating; return an alarm if B reaches h."""
        x = observation(score)
        if x is None or self.held or tapped_at <= self.cutoff:
            return None
        item = (tapped_at, rating_id, x)
        if self.window and item < self.window[-1]:
            bisect.insort(self.window, item)
            crossed = self._replay()
        else:
            self.window.append(item)
            self.b = step(self.b, x, self.baseline.gamma)
            crossed = len(self.window) - 1 if self.b >= self.baseline.h - EPSILON else None
        if crossed is None:
            return None
        return self._alarm(crossed)

    def _replay(self) -> int | None:
        """Recompute B over the window in tap order; the index where it first reaches h, if any."""
        b, gamma, h = self.b0, self.baseline.gamma, self.baseline.h
        for i, (_, _, x) in enumerate(self.window):
            b = step(b, x, gamma)
            if b >= h - EPSILON:
                self.b = b
                return i
        self.b = b
        return None

    def _alarm(self, crossed: int) -> TrendAlarm:
        run = self._run_ending_at(crossed)
        alarm = TrendAlarm(
            negatives=sum(x for _, _, x in run),
            counted=len(run),
            p0=self.baseline.p0,
            b=round(self.b, 3),
            h=self.baseline.h,
        )
        # Reset and hold: no further trend alert for this ward until staff acknowledge this one.
        self.cutoff = self.window[-1][0]
        self.window.clear()
        self.b0 = self.b = 0.0
        self.held = True
        return alarm

    def _run_ending_at(self, end: int) -> list[tuple[str, str, int]]:
        """The observations since B last stood at zero: the stretch that built this trend."""
        b, gamma, start = self.b0, self.baseline.gamma, 0
        for i, (_, _, x) in enumerate(self.window[: end + 1]):
            b = step(b, x, gamma)
            if b == 0.0:
                start = i + 1
        return self.window[start : end + 1]

    def acknowledge(self, baseline: Baseline | None = None) -> None:
        """Staff have seen the alert: restart at h/2, so a trend that carries on alerts again sooner."""
        if baseline is not None:
            self.baseline = baseline
        self.held = False
        self.b0 = self.b = self.baseline.h / 2
        self.window.clear()

    def fold(self, before: str) -> bool:
        """Move observations tapped before `before` into the checkpoint (no late rating can precede them)."""
        count = bisect.bisect_left(self.window, (before,))
        if count == 0:
            return False
        b, gamma = self.b0, self.baseline.gamma
        for _, _, x in self.window[:count]:
            b = step(b, x, gamma)
        self.b0, self.cutoff = b, self.window[count - 1][0]
        del self.window[:count]
        return True

    @property
    def closeness(self) -> float:
        """How close to an alert, 0..1, for the ward screen's gauge."""
        return 0.0 if self.held else min(1.0, self.b / self.baseline.h)

    def gauge(self) -> dict:
        return {
            "b": round(self.b, 3),
            "h": self.baseline.h,
            "p0": round(self.baseline.p0, 4),
            "own_baseline": self.baseline.own,
            "closeness": round(self.closeness, 3),
            "held": self.held,
        }

    def checkpoint(self) -> dict:
        """What must be stored so a restart (replaying the journal after `cutoff`) continues exactly."""
        return {
            "b0": self.b0,
            "cutoff": self.cutoff,
            "held": self.held,
            "p0": self.baseline.p0,
            "h": self.baseline.h,
            "own": self.baseline.own,
        }

    @classmethod
    def from_checkpoint(cls, saved: dict) -> TrendDetector:
        baseline = Baseline(saved["p0"], saved["h"], saved.get("own", False))
        return cls(baseline, b0=saved["b0"], cutoff=saved["cutoff"], held=saved["held"], b=saved["b0"])


def baseline_for(negatives: int, counted: int, ratings_per_day: float, default_p0: float = DEFAULT_P0) -> Baseline:
    """The ward's own negative rate once it has enough ratings, else the default; h from its volume."""
    own = counted >= OWN_BASELINE_AFTER
    # Clamp: a ward with almost no negatives must not alert on the first one.
    p0 = min(max(negatives / counted, 0.02), 0.3) if own else default_p0
    return Baseline(p0=p0, h=threshold_for(ratings_per_day, p0), own=own)
