"""server/picture.py: today's FFT counts and the feed."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from server.ward.picture import WardPicture, fft_stats, percent

LONDON = ZoneInfo("Europe/London")


def rating(i: int, score: str, at: str, misuse: bool = False) -> dict:
    return {"id": f"id-{i:03d}", "score": score, "tapped_at": at, "misuse": misuse}


@pytest.mark.parametrize("part, whole, expect", [(0, 0, None), (1, 3, 33.3), (2, 2, 100.0), (0, 5, 0.0)])
def test_percent(part, whole, expect):
    assert percent(part, whole) == expect


def test_dont_know_counts_in_the_total_but_in_neither_share():
    picture = WardPicture("7B", LONDON)
    for i, score in enumerate(["very_good", "good", "poor", "dont_know"]):
        picture.add(rating(i, score, f"2026-11-26T09:0{i}:00.000Z"))
    stats = picture.stats(datetime(2026, 11, 26, 12, tzinfo=timezone.utc))
    assert stats["total"] == 4
    assert stats["positive_pct"] == 50.0
    assert stats["negative_pct"] == 25.0
    assert stats["counts"]["dont_know"] == 1


def test_today_is_the_wards_local_day():
    picture = WardPicture("7B", LONDON)
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST).
    picture.add(rating(1, "good", "2026-06-30T23:30:00.000Z"))
    assert picture.stats(datetime(2026, 7, 1, 8, tzinfo=timezone.utc))["total"] == 1
    assert picture.stats(datetime(2026, 6, 30, 20, tzinfo=timezone.utc))["total"] == 0


def test_misuse_stays_in_the_feed_but_out_of_the_counts():
    picture = WardPicture("7B", LONDON)
    picture.add(rating(1, "very_poor", "2026-11-26T09:00:00.000Z", misuse=True))
    assert picture.stats(datetime(2026, 11, 26, 10, tzinfo=timezone.utc))["total"] == 0
    assert [r["id"] for r in picture.recent()] == ["id-001"]


def test_feed_is_newest_tap_first_and_bounded_even_with_late_batches():
    picture = WardPicture("7B", LONDON, feed_size=3)
    for i, minute in enumerate([10, 20, 30, 5, 25]):  # 5 and 25 arrive late from an outbox
        picture.add(rating(i, "good", f"2026-11-26T09:{minute:02d}:00.000Z"))
    assert [r["tapped_at"][14:16] for r in picture.recent()] == ["30", "25", "20"]


def test_fft_stats_lists_all_six_answers():
    from collections import Counter
    from datetime import date

    assert list(fft_stats(Counter(), date(2026, 11, 26))["counts"]) == [
        "very_good", "good", "neither", "poor", "very_poor", "dont_know"
    ]
