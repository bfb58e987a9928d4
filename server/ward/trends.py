"""Negative-trend detection: a one-sided Bernoulli CUSUM per ward. Pure logic.

X = 1 for a poor or very poor answer, 0 for any other answer except "don't know" (skipped).
B_t = max(0, B_{t-1} + X_t - gamma); alert when B_t >= h (Reynolds & Stoumbos 1999), with
p1 = 3 * p0. gamma is a fraction num/den and B moves in whole steps of 1/den, so the exact run
lengths of the Markov chain on that lattice are the detector's own. h is chosen from the ward's
volume so that a false alert is expected about once per 100 days (server/ward/baseline.py allows for
the error in p0). Counting ratings, not clock time, means quiet nights change nothing.
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from shared.fft import NEGATIVE

DEFAULT_P0 = 0.08
TARGET_DAYS = 100  # one false alert per this many days of the ward's volume


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


@lru_cache(maxsize=1024)
def lattice(gamma: float, max_denominator: int = 30, min_denominator: int = 20) -> tuple[int, int]:
    """gamma as a fraction num/den: B moves on a lattice of 1/den, up (den - num) for a negative, down num otherwise.

    The detector steps by exactly these integers, so the run lengths computed here are the detector's own.
    The fraction is the nearest in lowest terms with a denominator of 20 to 30: a small one (2/7)
    would leave h too coarse to land near its target (B only visits multiples of 1/den).
    """
    candidates = [(n, d) for d in range(min_denominator, max_denominator + 1)
                  for n in {max(1, math.floor(gamma * d)), max(1, math.ceil(gamma * d))} if n < d and math.gcd(n, d) == 1]
    return min(candidates, key=lambda f: (abs(f[0] / f[1] - gamma), f[1]))


def step(units: int, x: int, up: int, down: int) -> int:
    """One CUSUM step on the lattice: B_t = max(0, B_{t-1} + X_t - gamma), in units of 1/den."""
    return units + up if x else max(0, units - down)


# --------------------------------------------------------------------------- exact run lengths


# Wards re-estimated each day ask again and again for the same rates on the same lattice (p0 and its
# spread sit on grids, see baseline.py): remembered, a weekday-pattern ward's daily search took 40 %
# less time in the study. A few hundred bytes an entry.
@lru_cache(maxsize=1 << 14)
def chain_run_length(p: float, up: int, down: int, limit: int, start: int = 0) -> float:
    """Exact average run length (ratings until B reaches `limit` units) when the true negative rate is p.

    Markov chain on the lattice of B; (I - Q) L = 1 is a band matrix (`down` below the diagonal, `up`
    above), solved by elimination inside the band: states x down x up steps.
    """
    states = max(limit, 1)  # B >= limit is absorbing
    width = down + up + 1
    # rows[k][c - k + down] holds the coefficient of L_c in equation k.
    rows = [[0.0] * width for _ in range(states)]
    for k in range(states):
        row = rows[k]
        row[down] = 1.0
        if k + up < states:
            row[down + up] -= p
        row[max(0, k - down) - k + down] -= 1 - p
    rhs = [1.0] * states
    for j in range(states):
        pivot_row = rows[j]
        pivot = pivot_row[down]
        reach = min(states - 1, j + up) - j  # columns right of the diagonal that can be non-zero
        for i in range(j + 1, min(states, j + down + 1)):
            row = rows[i]
            at = down - (i - j)
            a = row[at]
            if a:
                factor = a / pivot
                row[at] = 0.0
                tail = pivot_row[down + 1 : down + reach + 1]
                row[at + 1 : at + reach + 1] = [r - factor * v for r, v in zip(row[at + 1 : at + reach + 1], tail)]
                rhs[i] -= factor * rhs[j]
    solution = [0.0] * states
    for k in range(states - 1, -1, -1):
        row, reach = rows[k], min(up, states - 1 - k)
        total = rhs[k] - sum(map(operator.mul, row[down + 1 : down + reach + 1], solution[k + 1 : k + reach + 1]))
        solution[k] = total / row[down]
    return solution[min(states - 1, start)]


def run_length(p: float, gamma: float, h: float, start: float = 0.0) -> float:
    """Exact average run length of a detector with this gamma and h, started at B = `start`."""
    down, den = lattice(gamma)
    return chain_run_length(p, den - down, down, math.ceil(h * den - 1e-6), int(round(start * den)))


def restart_units(limit: int) -> int:
    """Where B restarts after an acknowledged alert: h/2, so a trend that carries on alerts again sooner."""
    return limit // 2


def limit_for(target: float, run_length_at: Callable[[int], float], guess: int = 1) -> int:
    """The lattice limit whose run length (increasing in the limit) is nearest `target`, on a log scale.

    Gallops from `guess` (the last limit, when re-estimating) and then bisects, so a small change
    of p0 or volume costs a few run lengths, not a full search.
    """
    measured = run_length_at

    def run_length_at(limit: int) -> float:
        # Past about 1e15 ratings the elimination loses every digit and may even come out negative:
        # such a run length is only "far above any target". Taken at face value, a 30 % ward's search
        # galloped up to limits of a million and its daily re-estimation never finished.
        found = measured(limit)
        return found if 0 < found < 1e15 else math.inf

    guess = max(1, guess)
    if run_length_at(guess) >= target:
        high, stride = guess, 1
        while high - stride >= 1 and run_length_at(high - stride) >= target:
            high, stride = high - stride, stride * 2
        low = max(0, high - stride)
    else:
        low, stride = guess, 1
        while run_length_at(low + stride) < target:
            low, stride = low + stride, stride * 2
        high = low + stride
    while high - low > 1:
        mid = (low + high) // 2
        if run_length_at(mid) < target:
            low = mid
        else:
            high = mid
    if low < 1:
        return high
    return min((low, high), key=lambda k: abs(math.log(run_length_at(k) / target)))


@lru_cache(maxsize=256)
def threshold_for(ratings_per_day: float, p0: float = DEFAULT_P0, days: float = TARGET_DAYS) -> float:
    """The h at which this ward expects one false alert per `days` days, counting restarts at h/2.

    After each acknowledged alert B restarts at h/2, so false alerts recur every ARL(from h/2) ratings.
    """
    down, den = lattice(gamma_for(p0))
    up = den - down
    target = max(ratings_per_day, 1.0) * days  # ratings between false alerts
    limit = limit_for(target, lambda k: chain_run_length(p0, up, down, k, restart_units(k)), den)
    return limit / den


# --------------------------------------------------------------------------- the detector


@dataclass
class Baseline:
    """What "usual" means for a ward right now: its negative rate, and the resulting gamma and h."""

    p0: float
    h: float
    own: bool = False  # True once the ward's own ratings outweigh the prior
    per_day: float | None = None  # the volume h was chosen for
    gamma: float = field(init=False)  # the lattice value the detector steps by
    up: int = field(init=False)
    down: int = field(init=False)
    den: int = field(init=False)
    limit: int = field(init=False)  # h in lattice units

    def __post_init__(self):
        self.down, self.den = lattice(gamma_for(self.p0))
        self.up = self.den - self.down
        self.gamma = self.down / self.den
        self.limit = max(1, math.ceil(self.h * self.den - 1e-6))

    def expected_false_alerts(self, ratings_per_day: float | None = None, days: float = TARGET_DAYS) -> float:
        """False alerts in `days` days at this volume (default: the one h was chosen for) if p0 is the true rate."""
        per_day = self.per_day if ratings_per_day is None else ratings_per_day
        ratings = chain_run_length(self.p0, self.up, self.down, self.limit, restart_units(self.limit))
        return days * max(per_day or 0.0, 0.0) / ratings


@dataclass
class TrendAlarm:
    negatives: int  # poor or very poor answers in the run that built the trend
    counted: int  # answers counted in that run
    p0: float
    b: float
    h: float
    since: str = ""  # tap time of the run's first rating

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
    tapped at or before the cutoff belong to a period already judged and are ignored. B is kept in
    whole lattice units (1/den), exactly as the run-length calculation models it.
    """

    baseline: Baseline
    units0: int = 0  # B at the checkpoint, in lattice units
    cutoff: str = ""  # tapped_at of the last judged rating ("" = none yet)
    held: bool = False  # an alert is waiting for acknowledgement
    window: list[tuple[str, str, int]] = field(default_factory=list)  # (tapped_at, id, x), in tap order
    units: int = 0  # B after the newest observation

    @property
    def b(self) -> float:
        return self.units / self.baseline.den

    @property
    def b0(self) -> float:
        return self.units0 / self.baseline.den

    def _step(self, units: int, x: int) -> int:
        return step(units, x, self.baseline.up, self.baseline.down)

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
            self.units = self._step(self.units, x)
            crossed = len(self.window) - 1 if self.units >= self.baseline.limit else None
        if crossed is None:
            return None
        return self._alarm(crossed)

    def _replay(self) -> int | None:
        """Recompute B over the window in tap order; the index where it first reaches h, if any."""
        units = self.units0
        for i, (_, _, x) in enumerate(self.window):
            units = self._step(units, x)
            if units >= self.baseline.limit:
                self.units = units
                return i
        self.units = units
        return None

    def _alarm(self, crossed: int) -> TrendAlarm:
        run = self._run_ending_at(crossed)
        alarm = TrendAlarm(
            negatives=sum(x for _, _, x in run),
            counted=len(run),
            p0=self.baseline.p0,
            b=round(self.b, 3),
            h=self.baseline.h,
            since=run[0][0] if run else "",
        )
        # Reset and hold: no further trend alert for this ward until staff acknowledge this one.
        self.cutoff = self.window[-1][0]
        self.window.clear()
        self.units0 = self.units = 0
        self.held = True
        return alarm

    def _run_ending_at(self, end: int) -> list[tuple[str, str, int]]:
        """The observations since B last stood at zero: the stretch that built this trend."""
        units, start = self.units0, 0
        for i, (_, _, x) in enumerate(self.window[: end + 1]):
            units = self._step(units, x)
            if units == 0:
                start = i + 1
        return self.window[start : end + 1]

    def acknowledge(self, baseline: Baseline | None = None) -> None:
        """Staff have seen the alert: restart at h/2, so a trend that carries on alerts again sooner."""
        if baseline is not None:
            self.baseline = baseline
        self.held = False
        self.units0 = self.units = restart_units(self.baseline.limit)
        self.window.clear()

    def rebase(self, baseline: Baseline) -> None:
        """Judge from now on against a new baseline, keeping B where it stands (on the new lattice, below h)."""
        b0 = self.b0
        self.baseline = baseline
        self.units0 = min(int(round(b0 * baseline.den)), baseline.limit - 1)
        self._replay()
        self.units = min(self.units, baseline.limit - 1)

    def fold(self, before: str) -> bool:
        """Move observations tapped before `before` into the checkpoint (no late rating can precede them)."""
        count = bisect.bisect_left(self.window, (before,))
        if count == 0:
            return False
        units = self.units0
        for _, _, x in self.window[:count]:
            units = self._step(units, x)
        self.units0, self.cutoff = units, self.window[count - 1][0]
        del self.window[:count]
        return True

    @property
    def closeness(self) -> float:
        """How close to an alert, 0..1, for the ward screen's gauge."""
        return 0.0 if self.held else min(1.0, self.units / self.baseline.limit)

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
            "per_day": self.baseline.per_day,
        }

    @classmethod
    def from_checkpoint(cls, saved: dict) -> TrendDetector:
        baseline = Baseline(saved["p0"], saved["h"], saved.get("own", False), saved.get("per_day"))
        units0 = int(round(saved["b0"] * baseline.den))
        return cls(baseline, units0=units0, cutoff=saved["cutoff"], held=saved["held"], units=units0)
