"""The live picture of a ward: today's FFT counts and the recent feed. Pure domain logic."""

from __future__ import annotations

import bisect
from collections import Counter
from datetime import date, datetime, timedelta, tzinfo

from shared.fft import NEGATIVE, POSITIVE, SCORES
from shared.protocol import parse_utc

KEEP_DAYS = 100  # enough for a 90-day baseline and a 60-day chart
# A ward's day and month, everywhere they are counted (screen, chart, export): the app's TIMEZONE.
WARD_TIMEZONE = "Europe/London"


def percent(part: int, whole: int) -> float | None:
    """NHS FFT percentages are shares of all responses, don't-know included."""
    return round(100.0 * part / whole, 1) if whole else None


def fft_stats(counts: Counter, day: date) -> dict:
    """Counts per answer with % positive and % negative, as the ward screen shows them."""
    total = sum(counts[s] for s in SCORES)
    return {
        "date": day.isoformat(),
        "counts": {s: counts[s] for s in SCORES},
        "total": total,
        "positive_pct": percent(sum(counts[s] for s in POSITIVE), total),
        "negative_pct": percent(sum(counts[s] for s in NEGATIVE), total),
    }


def counted(rating: dict) -> bool:
    """Whether a stored rating counts in the ward's numbers: misuse and the rest of an already-counted tap do not."""
    return not rating.get("misuse") and not rating.get("amends")


class WardPicture:
    """Counts per local day and the newest ratings (by tap time) for one ward."""

    def __init__(self, code: str, tz: tzinfo, feed_size: int = 50):
        self.code = code
        self.tz = tz
        self.feed_size = feed_size
        self._by_day: dict[date, Counter] = {}
        self._feed: list[tuple[str, str, dict]] = []  # (tapped_at, id, rating), oldest first

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def add(self, rating: dict) -> None:
        """Take in a stored rating; ratings marked as misuse, or amending a counted tap, stay out of the counts."""
        if counted(rating):
            day = self.local_day(parse_utc(rating["tapped_at"]))
            if day not in self._by_day and len(self._by_day) >= KEEP_DAYS:
                del self._by_day[min(self._by_day)]
            self._by_day.setdefault(day, Counter())[rating["score"]] += 1
        key = (rating["tapped_at"], rating["id"], rating)
        if len(self._feed) >= self.feed_size and key[:2] <= self._feed[0][:2]:
            return  # older than everything in a full feed (a late outbox batch)
        bisect.insort(self._feed, key, key=lambda item: item[:2])
        del self._feed[: max(0, len(self._feed) - self.feed_size)]

    def stats(self, now: datetime) -> dict:
        day = self.local_day(now)
        return fft_stats(self._by_day.get(day, Counter()), day)

    def day_counts(self, now: datetime) -> Counter:
        """Today's counted answers (local day)."""
        return Counter(self._by_day.get(self.local_day(now), Counter()))

    def month_counts(self, now: datetime) -> tuple[str, Counter]:
        """(YYYY-MM, counted answers so far this local month), as the monthly return counts them."""
        today = self.local_day(now)
        counts = Counter()
        for day, day_counts in self._by_day.items():
            if (day.year, day.month) == (today.year, today.month):
                counts.update(day_counts)
        return today.strftime("%Y-%m"), counts

    def recent(self) -> list[dict]:
        """Newest first."""
        return [item[2] for item in reversed(self._feed)]

    def history(self, now: datetime, baseline_days: int, volume_days: int) -> tuple[int, int, int, int]:
        """(negatives, answers counted for the baseline, ratings in the volume window, days that window covers)."""
        today = self.local_day(now)
        negatives = counted = volume = 0
        for day, counts in self._by_day.items():
            age = (today - day).days
            if 0 <= age < baseline_days:
                negatives += sum(counts[s] for s in NEGATIVE)
                counted += sum(counts.values()) - counts["dont_know"]
            if 0 <= age < volume_days:
                volume += sum(counts.values())
        first = min(self._by_day, default=today)
        return negatives, counted, volume, min(volume_days, (today - first).days + 1)

    def counts_on(self, days: set[str]) -> tuple[int, int]:
        """(negatives, answers counted) on these local days (ISO dates)."""
        negatives = counted = 0
        for day, counts in self._by_day.items():
            if day.isoformat() in days:
                negatives += sum(counts[s] for s in NEGATIVE)
                counted += sum(counts.values()) - counts["dont_know"]
        return negatives, counted

    def weekday_counts(self, now: datetime, count: int) -> list[tuple[int, int]]:
        """(negatives, answers counted) for Monday to Sunday over the last `count` local days."""
        today = self.local_day(now)
        totals = [[0, 0] for _ in range(7)]
        for day, counts in self._by_day.items():
            if 0 <= (today - day).days < count:
                totals[day.weekday()][0] += sum(counts[s] for s in NEGATIVE)
                totals[day.weekday()][1] += sum(counts.values()) - counts["dont_know"]
        return [tuple(t) for t in totals]

    def days(self, now: datetime, count: int) -> set[str]:
        """The last `count` local days up to today, as ISO dates."""
        today = self.local_day(now)
        return {(today - timedelta(days=age)).isoformat() for age in range(count)}

    def daily_negative(self, days: int, now: datetime) -> list[tuple[str, float, int]]:
        """(day, % negative of all answers, answers) for days with ratings in the last `days` days."""
        today = self.local_day(now)
        series = []
        for day in sorted(self._by_day):
            counts = self._by_day[day]
            total = sum(counts.values())
            if 0 <= (today - day).days < days and total:
                series.append((day.isoformat(), percent(sum(counts[s] for s in NEGATIVE), total), total))
        return series
