"""A ward's row on the matrons' overview, and the order of the rows."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from server.ward.overview import overview_order, share_of, unanswered_row, ward_summary
from server.ward.picture import WardPicture

WARD = {"code": "7B", "name": "Ward 7B"}


def row(code="7B", alerts=(), closeness=0.0, name=None, **extra) -> dict:
    return ward_summary({"code": code, "name": name or f"Ward {code}"}, [dict(a) for a in alerts], Counter(), "2026-11", Counter(),
                        {"closeness": closeness}, None, extra.get("kiosks", []))


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        (Counter(), {"total": 0, "positive_pct": None, "negative_pct": None}),
        (Counter(very_good=6, good=2, poor=1, dont_know=1), {"total": 10, "positive_pct": 80.0, "negative_pct": 10.0}),
        # "don't know" counts in the total, as in the FFT return
        (Counter(dont_know=3, very_poor=1), {"total": 4, "positive_pct": 0.0, "negative_pct": 25.0}),
        (Counter(very_good=1, good=1, neither=1), {"total": 3, "positive_pct": 66.7, "negative_pct": 0.0}),
    ],
)
def test_shares_of_all_responses(counts, expected):
    assert share_of(counts) == expected


def test_a_row_has_what_the_overview_shows_and_not_what_patients_wrote():
    alert = {"id": "a1", "kind": "follow_up", "status": "open", "summary": "Asks to talk", "raised_at": "2026-11-30T10:00:00.000Z",
             "acknowledged_by": None, "comment": "my name is Jane", "location": "Bay 2", "follow_up_token": "secret"}
    kiosks = [{"online": True, "revoked": False}, {"online": False, "revoked": False}, {"online": False, "revoked": True}]
    summary = ward_summary(WARD, [alert], Counter(very_good=3, poor=1), "2026-11", Counter(very_good=30, poor=10),
                           {"closeness": 0.4567, "held": False}, "2026-11-30T10:00:00.000Z", kiosks)
    assert summary["open_alerts"] == [{k: alert[k] for k in ("id", "kind", "status", "summary", "raised_at", "acknowledged_by")}]
    assert summary["today"] == {"total": 4, "positive_pct": 75.0, "negative_pct": 25.0}
    assert summary["month"] == {"total": 40, "positive_pct": 75.0, "negative_pct": 25.0, "month": "2026-11"}
    assert summary["trend"] == {"closeness": 0.457, "alert_open": False}
    assert summary["kiosks"] == {"total": 2, "offline": 1}  # a revoked tablet is not missed
    assert summary["last_rating"] == "2026-11-30T10:00:00.000Z"


@pytest.mark.parametrize(("closeness", "shown"), [(None, 0.0), (-0.1, 0.0), (1.7, 1.0), (0.25, 0.25)])
def test_closeness_is_a_share_of_the_threshold(closeness, shown):
    assert row(closeness=closeness)["trend"]["closeness"] == shown


def test_a_trend_alert_open_is_marked():
    assert row(alerts=[{"kind": "trend"}])["trend"]["alert_open"] is True


def test_wards_with_open_alerts_come_first_then_the_nearest_to_a_trend_alert():
    calm = row("1A", closeness=0.1)
    near = row("2A", closeness=0.9)
    one_alert = row("3A", alerts=[{"kind": "comment"}])
    two_alerts = row("4A", alerts=[{"kind": "comment"}, {"kind": "follow_up"}], closeness=0.0)
    also_calm = row("0A", closeness=0.1)
    assert [r["code"] for r in overview_order([calm, near, one_alert, two_alerts, also_calm])] == ["4A", "3A", "2A", "0A", "1A"]


def test_a_ward_whose_server_is_not_answering_comes_after_open_alerts_and_before_calm_wards_with_no_figures():
    unanswered = unanswered_row({"code": "8A", "name": "Ward 8A"})
    assert unanswered == {"code": "8A", "name": "Ward 8A", "unanswered": True, "seq": -1, "order": [0, -1, "Ward 8A", "8A"]}
    rows = [row("1A", closeness=1.0), unanswered, row("3A", alerts=[{"kind": "comment"}]), row("0A", closeness=0.9)]
    assert [r["code"] for r in overview_order(rows)] == ["3A", "1A", "8A", "0A"]  # at the threshold itself: a tie, by name


def tapped(at: str, score: str, **extra) -> dict:
    return {"id": at + score, "tapped_at": at, "score": score, **extra}


def test_the_month_counts_as_the_monthly_return_does():
    picture = WardPicture("7B", ZoneInfo("Europe/London"))
    for rating in [
        tapped("2026-10-31T23:30:00.000Z", "poor"),  # October in UTC and in London (GMT)
        tapped("2026-11-01T00:30:00.000Z", "good"),
        tapped("2026-11-15T12:00:00.000Z", "very_good"),
        tapped("2026-11-15T12:01:00.000Z", "very_poor", misuse=True),  # possible misuse: not counted
        tapped("2026-11-15T12:02:00.000Z", "dont_know"),
        tapped("2026-11-30T09:00:00.000Z", "very_good"),
    ]:
        picture.add(rating)
    now = datetime(2026, 11, 30, 10, tzinfo=timezone.utc)
    month, counts = picture.month_counts(now)
    assert month == "2026-11"
    assert counts == Counter(good=1, very_good=2, dont_know=1)
    assert picture.day_counts(now) == Counter(very_good=1)
