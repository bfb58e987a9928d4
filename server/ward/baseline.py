"""What "usual" is for a ward: its negative rate p0 and the trend threshold h, estimated from its ratings. Pure logic.

- p0 is the mean of a beta posterior: the trust's pooled rate (or the 8 % default) worth PRIOR_RATINGS
  ratings, updated by the ward's own counts, so a young ward is neither deaf nor noisy and no clamp is needed.
- h allows for the error in that estimate: it is set so that the false-alert rate *averaged over what the
  ward's true rate may still be* (the posterior, by Gauss-Hermite quadrature on the logit scale) is one per
  100 days. A p0 estimated from few ratings gets a higher h; a settled ward gets the plain one.
- The days of a spell that raised three trend alerts or more are set aside (SpellLedger), so a bad month
  does not teach the ward that bad is usual; nor do the newest few days (days_to_notice), so a rise
  being caught does not teach it either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from server.ward.trends import DEFAULT_P0, TARGET_DAYS, Baseline, chain_run_length, gamma_for, lattice, limit_for, restart_units, threshold_for

# Pseudo-ratings the prior is worth. Trusts' wards run from 2 % to 30 % negative: a prior this weak
# (logit sd about 0.8 at 8 %) lets a ward's own ratings decide within its first few weeks.
PRIOR_RATINGS = 20
POOL_AFTER = 500  # ratings all wards together need before their pooled rate replaces the default
VOLUME_AFTER_DAYS = 7  # days of ratings before h follows the ward's measured volume
# Probabilists' Gauss-Hermite nodes and weights: E[f(Z)] for Z ~ N(0, 1) with five evaluations.
_NODES = ((0.0, 8 / 15), (1.3556261799742659, 0.2220759220056126), (-1.3556261799742659, 0.2220759220056126),
          (2.8569700138728056, 0.011257411327720691), (-2.8569700138728056, 0.011257411327720691))
# Inputs are rounded onto these ratios before the threshold search, so wards alike share one result
# (the search costs tens of exact run lengths) and the audit trail is not filled by hair-width changes.
P0_STEP, SPREAD_STEP, VOLUME_STEP = 1.02, 1.2, 1.1
# A ward with next to no ratings could have almost any rate; averaging over all of them would make it
# deaf for weeks. Its first days are judged as if its rate were known to within about 1.6 times.
MAX_SPREAD = 0.5
WEEKDAY_EVIDENCE = 22.46  # chi-square with 6 degrees of freedom at p = 0.001
WEEKDAY_STEP = 1.1  # weekdays whose rates are within about 10 % of each other are judged together


def trigamma(x: float) -> float:
    """psi'(x): the variance of log(p / (1 - p)) under Beta(a, b) is trigamma(a) + trigamma(b)."""
    total = 0.0
    while x < 6:
        total += 1 / (x * x)
        x += 1
    return total + 1 / x + 1 / (2 * x**2) + 1 / (6 * x**3) - 1 / (30 * x**5) + 1 / (42 * x**7)


def on_grid(value: float, ratio: float) -> float:
    """`value` rounded to the nearest power of `ratio` (relative rounding)."""
    return ratio ** round(math.log(value) / math.log(ratio))


@dataclass(frozen=True)
class Estimate:
    """The posterior of a ward's negative rate: Beta(a, b)."""

    a: float
    b: float

    @property
    def p0(self) -> float:
        return self.a / (self.a + self.b)

    @property
    def spread(self) -> float:
        """Standard deviation of the rate on the logit scale."""
        return math.sqrt(trigamma(self.a) + trigamma(self.b))


def estimate(negatives: int, counted: int, prior_p0: float = DEFAULT_P0, prior_ratings: float = PRIOR_RATINGS) -> Estimate:
    """The ward's own counts on top of a prior centred on `prior_p0`."""
    return Estimate(prior_p0 * prior_ratings + negatives, (1 - prior_p0) * prior_ratings + counted - negatives)


def rates_it_may_be(p0: float, spread: float) -> list[tuple[float, float]]:
    """(true rate, weight) pairs spanning the posterior, for averaging a false-alert rate over it."""
    centre = math.log(p0 / (1 - p0))
    return [(1 / (1 + math.exp(-(centre + spread * z))), w) for z, w in _NODES]


def threshold_units(p0: float, per_day: float, days: float) -> int:
    """The limit for a ward whose rate is known exactly: where the search for an uncertain one starts."""
    return round(threshold_for(per_day, p0, days) * lattice(gamma_for(p0))[1])


_LIMITS: dict[tuple[float, float, float, float], int] = {}  # shared by wards alike; bounded by the grids above


def _limit(p0: float, spread: float, per_day: float, days: float, guess: int | None, pattern: tuple = ((1.0, 1.0),)) -> int:
    key = (p0, spread, per_day, days, pattern)
    if key not in _LIMITS:
        down, den = lattice(gamma_for(p0))
        up = den - down
        rates = [(p, w * share) for ratio, share in pattern for p, w in rates_it_may_be(min(p0 * ratio, 0.95), spread)]

        def mean_gap(limit: int) -> float:
            # Ratings between false alerts, from the mean false-alert rate over the rates the ward may have.
            start = restart_units(limit)
            return 1 / sum(w / chain_run_length(p, up, down, limit, start) for p, w in rates)

        _LIMITS[key] = limit_for(per_day * days, mean_gap, guess or threshold_units(p0, per_day, days))
    return _LIMITS[key]


def baseline_from(est: Estimate, per_day: float, days: float = TARGET_DAYS, own: bool = True,
                  guess: Baseline | None = None, pattern: tuple[tuple[float, float], ...] | None = None) -> Baseline:
    """p0 from the posterior and h so that false alerts average one per `days` days over what p0 may be.

    `guess`: the ward's current baseline, where the search for the new h starts. `pattern`: the
    ward's weekday pattern (see weekday_pattern), averaged over as well.
    """
    spread = on_grid(min(max(est.spread, 1e-3), MAX_SPREAD), SPREAD_STEP)
    # p0 on a grid a quarter of its own uncertainty wide: finer than the estimate can tell, coarse
    # enough that a young ward's daily wobble does not cost a new search every day.
    p0 = min(on_grid(est.p0, max(P0_STEP, math.exp(spread / 4))), 0.9)
    per_day = on_grid(max(per_day, 1.0), VOLUME_STEP)
    den = lattice(gamma_for(p0))[1]
    limit = _limit(p0, spread, per_day, days, guess and round(guess.h * den), pattern or ((1.0, 1.0),))
    return Baseline(p0=p0, h=limit / den, own=own, per_day=per_day)


def weekday_pattern(counts: list[tuple[int, int]]) -> tuple[tuple[float, float], ...] | None:
    """(rate / overall rate, share of ratings) per group of like weekdays, if they differ beyond chance.

    `counts`: (negatives, counted) for Monday to Sunday. A ward busier or worse on some weekdays
    spends whole days above its average; h must allow for those days, as it allows for an uncertain
    p0 (the false-alert rate is averaged over the weekdays' rates). Chance alone would show a pattern
    this strong one time in a thousand (chi-square, 6 degrees of freedom).
    """
    negatives, counted = sum(n for n, _ in counts), sum(c for _, c in counts)
    if not negatives or negatives == counted:
        return None
    p = negatives / counted
    spread = sum((n - c * p) ** 2 / (c * p * (1 - p)) for n, c in counts if c)
    if spread < WEEKDAY_EVIDENCE:
        return None
    groups: dict[float, float] = {}
    keep = 1 - 6 / spread  # James-Stein: part of each weekday's difference is chance, more so when the pattern is faint
    for n, c in counts:
        if c:
            ratio = round(on_grid(max(1 + keep * (n / c / p - 1), 0.05), WEEKDAY_STEP), 3)
            groups[ratio] = groups.get(ratio, 0.0) + c / counted
    return tuple(sorted((ratio, round(share, 2)) for ratio, share in groups.items()))


def pooled_rate(negatives: int, counted: int, default_p0: float = DEFAULT_P0) -> float:
    """The trust's negative rate over all its wards, once there are enough ratings; else the default."""
    return negatives / counted if counted >= POOL_AFTER and negatives > 0 else default_p0


def baseline_change(baseline: Baseline, at: str | None, why: str) -> dict:
    """One entry of a ward's audit trail of p0 and h (also what the settings page shows)."""
    return {
        "at": at,
        "why": why,
        "p0": round(baseline.p0, 4),
        "h": round(baseline.h, 3),
        "per_day": round(baseline.per_day, 1) if baseline.per_day else None,
        "false_alerts_per_100_days": round(baseline.expected_false_alerts(), 2) if baseline.per_day else None,
    }


def volume_for(volume: int, days: int, default_volume: float) -> float:
    """Ratings a day for h: measured once the ward has a week of them; before that never below the default.

    A busy young ward judged at the default volume would alert ten times too often; a quiet one at
    the default is only slower to alert for its first week.
    """
    measured = volume / days if days else 0.0
    return measured if days >= VOLUME_AFTER_DAYS else max(measured, default_volume)


# --------------------------------------------------------------------------- spells set aside


def days_to_notice(baseline: Baseline) -> int:
    """Whole days this detector takes, on average from B = 0, to catch a threefold rise at its volume.

    A rise is in the ward's ratings this long before the detector can tell: the newest days are kept
    out of p0 (a rise must not teach p0 that it is usual while it is being caught), and a spell is
    taken to have begun this long before the run that raised its first alert.
    """
    ratings = chain_run_length(min(3 * baseline.p0, 0.99), baseline.up, baseline.down, baseline.limit)
    return max(1, math.ceil(ratings / max(baseline.per_day or 1.0, 1.0)))


def day_after(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


SPELL_ALERTS = 3  # trend alerts that make a spell (a 28-day 3x spell raises about 26 at 30 a day, 2-13 at 5)


@dataclass
class SpellLedger:
    """Local days of spells that raised trend alerts, kept out of the ward's baseline.

    A spell opens on the day the run that raised a trend alert began, less the days the detector takes
    to notice a threefold rise (the rise was there before the run). It is back to usual when, after
    acknowledgement, the detector is at zero; it closes if no alert comes for twice those days more
    (the detector touches zero now and then inside a spell: measured, 8 % of a 28-day 3x spell's
    ratings at 30 a day, a quarter at 5 a day, went back into p0 when it closed there). A spell that
    raised one or two alerts may well be chance, and dropping its days would bias the baseline low: a
    quiet ward whose p0 came out low alerts twice within the wait more often than others, and with
    its two runs set aside p0 fell lower still (4 % at 5 a day: 1.68 false alerts a 100 days, 1.15 at
    three). A spell that raised three or more is set aside, first to last day, while in the window.
    """

    set_aside: set[str] = field(default_factory=set)  # local days (ISO dates)
    first: str = ""  # first day of the spell in progress ("" = none)
    last: str = ""  # the day it was last back to usual ("" = not back yet)
    until: str = ""  # a spell back to usual closes after this day unless another alert comes
    alarms: int = 0

    def alarm(self, first_day: str) -> None:
        """A trend alert whose spell began on `first_day`: open a spell or count one more."""
        if not self.first:
            self.first, self.alarms = first_day, 0
        self.first = min(self.first, first_day)
        self.last = self.until = ""
        self.alarms += 1

    def back_to_usual(self, day: str, wait_days: int) -> None:
        """The detector is at zero after an acknowledgement: the spell ends today unless another alert comes soon."""
        if self.first and not self.last:
            self.last, self.until = day, day_after(day, wait_days)

    def take(self, day: str) -> bool:
        """A counted rating on `day`: close a spell back to usual long enough; True if its days were set aside."""
        if not (self.last and day > self.until):
            return False
        kept = self.alarms >= SPELL_ALERTS
        if kept:
            span = (date.fromisoformat(self.last) - date.fromisoformat(self.first)).days
            self.set_aside.update(day_after(self.first, d) for d in range(span + 1))
        self.first = self.last = self.until = ""
        self.alarms = 0
        return kept

    def excluded(self, days: set[str]) -> set[str]:
        """Those of `days` set aside, or in a spell in progress that has raised three alerts or more."""
        left_out = days & self.set_aside
        if self.first and self.alarms >= SPELL_ALERTS:
            left_out |= {d for d in days if self.first <= d and (not self.last or d <= self.last)}
        return left_out

    def forget_before(self, day: str) -> None:
        self.set_aside = {d for d in self.set_aside if d >= day}

    def saved(self) -> dict:
        return {"set_aside": sorted(self.set_aside), "first": self.first, "last": self.last, "until": self.until, "alarms": self.alarms}

    @classmethod
    def from_saved(cls, saved: dict | None) -> SpellLedger:
        saved = saved or {}
        # Checkpoints before days were set aside whole kept counts per day (a dict): its days are the keys.
        first = saved.get("first") or min(saved.get("open_days") or [""])
        return cls(set(saved.get("set_aside") or ()), first, saved.get("last", ""), saved.get("until", ""), saved.get("alarms", 0))
