"""Each ward's trend baseline kept current: p0 and h re-estimated daily by the ward service's clock,
spells that raised trend alerts set aside, and every change in the ward's audit trail.

Domain logic over the wards' pictures (no Flask, no storage): the ward service calls it under its lock
and stores `saved(ward)` with the detector's checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo

from server.ward.baseline import (
    PRIOR_RATINGS,
    SpellLedger,
    baseline_change,
    baseline_from,
    day_after,
    days_to_notice,
    estimate,
    pooled_rate,
    volume_for,
    weekday_pattern,
)
from server.ward.picture import WardPicture
from server.ward.trends import Baseline, TrendAlarm, TrendDetector, observation, threshold_for
from shared.protocol import iso_utc, parse_utc

BASELINE_DAYS = 90
VOLUME_DAYS = 28
# The newest days are kept out of p0 (twice the days the detector takes to notice a threefold rise:
# a ward at 5 a day takes about 5 days and its p0 rose 11 % on the rise meanwhile, 31 ratings to an
# alert against 25 from the same start without) once the ward has this many days of its own.
SETTLED_DAYS = VOLUME_DAYS
AUDITED_CHANGES = 100  # changes of p0 and h kept in the ward's audit trail


class BaselineKeeper:
    """What "usual" is for every ward, and when it last changed."""

    def __init__(self, tz: tzinfo, pictures: dict[str, WardPicture], settings: Callable[[str], dict],
                 default_p0: float, default_volume: float):
        self.tz = tz
        self._pictures = pictures  # the ward service's own, read only
        self._settings = settings  # ward code -> the sister's overrides (trend_p0, trend_volume)
        self.default_p0 = default_p0
        self.default_volume = default_volume
        self._spells: dict[str, SpellLedger] = {}
        self._estimated_on: dict[str, str] = {}  # ward -> local day p0 and h were last estimated
        self._changes: dict[str, list[dict]] = {}  # ward -> audit trail of p0 and h, oldest first
        self._pool: tuple[str, float] = ("", default_p0)  # (local day, the trust's pooled negative rate)

    def _day(self, now: datetime) -> str:
        return now.astimezone(self.tz).date().isoformat()

    def _spell(self, ward: str) -> SpellLedger:
        return self._spells.setdefault(ward, SpellLedger())

    def restore(self, ward: str, saved: dict) -> None:
        """Take back what `saved` stored with the ward's checkpoint."""
        self._spells[ward] = SpellLedger.from_saved(saved.get("spells"))
        self._changes[ward] = saved.get("changes") or []

    def saved(self, ward: str) -> dict:
        """What to store with the detector's checkpoint: spells set aside and the audit trail."""
        return {"spells": self._spell(ward).saved(), "changes": self._changes.get(ward, [])}

    def due(self, ward: str, now: datetime) -> bool:
        """Not yet estimated on this local day."""
        return self._estimated_on.get(ward) != self._day(now)

    def estimate(self, ward: str, now: datetime, why: str, current: Baseline | None) -> Baseline:
        """p0 and h now; a change from `current` goes into the ward's audit trail with `why`."""
        self._estimated_on[ward] = self._day(now)
        baseline = self._baseline(ward, now, current)
        if current is None or (current.p0, current.h) != (baseline.p0, baseline.h):
            changes = self._changes.setdefault(ward, [])
            changes.append(baseline_change(baseline, iso_utc(now), why))
            del changes[:-AUDITED_CHANGES]
        return baseline

    def _baseline(self, ward: str, now: datetime, current: Baseline | None) -> Baseline:
        """The sister's settings if she set them, else the ward's own history (spells set aside) shrunk toward the trust's."""
        settings = self._settings(ward) or {}
        picture = self._pictures.get(ward) or WardPicture(ward, self.tz)
        _, _, volume, days = picture.history(now, BASELINE_DAYS, VOLUME_DAYS)
        per_day = settings.get("trend_volume") or volume_for(volume, days, self.default_volume)
        if settings.get("trend_p0"):
            return Baseline(settings["trend_p0"], threshold_for(per_day, settings["trend_p0"]), per_day=per_day)
        negatives, counted = picture.counts_on(self._usual_days(ward, picture, now, current, days))
        own = estimate(negatives, counted, self._pooled_rate(now))
        pattern = weekday_pattern(picture.weekday_counts(now, BASELINE_DAYS))
        return baseline_from(own, per_day, own=counted >= PRIOR_RATINGS, guess=current, pattern=pattern)

    def _usual_days(self, ward: str, picture: WardPicture, now: datetime, current: Baseline | None, days: int) -> set[str]:
        """The local days p0 is estimated from: the last 90, less spells set aside and, once the ward is settled, the newest."""
        spell = self._spell(ward)
        spell.forget_before(self._day(now - timedelta(days=BASELINE_DAYS)))
        window = picture.days(now, BASELINE_DAYS)
        window -= spell.excluded(window)
        if current is not None and days >= SETTLED_DAYS:
            window -= picture.days(now, 2 * days_to_notice(current))
        return window

    def _pooled_rate(self, now: datetime) -> float:
        """The negative rate of all wards together (once they have enough ratings), worked out once a day."""
        day = self._day(now)
        if self._pool[0] != day:
            totals = [0, 0]
            for ward, picture in self._pictures.items():
                window = picture.days(now, BASELINE_DAYS)
                negatives, counted = picture.counts_on(window - self._spell(ward).excluded(window))
                totals[0] += negatives
                totals[1] += counted
            self._pool = (day, pooled_rate(*totals, self.default_p0))
        return self._pool[1]

    def watch(self, ward: str, rating: dict, alarm: TrendAlarm | None, detector: TrendDetector) -> None:
        """After the detector judged a counted rating: keep the days of a spell that raised trend alerts apart."""
        x = observation(rating["score"])
        if x is None:
            return
        spell, picture = self._spell(ward), self._pictures[ward]
        notice, day = days_to_notice(detector.baseline), picture.local_day(parse_utc(rating["tapped_at"])).isoformat()
        spell.take(day)
        if alarm and alarm.since:
            spell.alarm(day_after(picture.local_day(parse_utc(alarm.since)).isoformat(), -notice))
        if not detector.held and detector.units == 0:
            spell.back_to_usual(day, 2 * notice)

    def view(self, ward: str, baseline: Baseline) -> dict:
        """p0, h, volume, expected false alerts per 100 days, when they last changed, and the trail, newest first."""
        changes = list(self._changes.get(ward, []))
        return dict(baseline_change(baseline, changes[-1]["at"] if changes else None, ""), changes=changes[::-1])
