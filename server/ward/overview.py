"""What a matron's overview shows of each ward she covers, and in which order. Pure.

One row per ward: open alerts, today's counts, this month's % positive and % negative (counted as the
monthly return counts them: misuse and second versions of a tap left out, "don't know" in the total),
how close the ward is to a trend alert (the trend statistic as a share of its threshold), the last
rating and the tablets offline. Wards with open alerts come first, then the nearest to a trend alert.
"""

from __future__ import annotations

from collections import Counter

from server.ward.picture import percent
from shared.fft import NEGATIVE, POSITIVE, SCORES

# What the overview shows of an alert: enough to see what and how long, the rest is on the ward screen.
ALERT_FIELDS = ("id", "kind", "status", "summary", "raised_at", "acknowledged_by")


def share_of(counts: Counter) -> dict:
    """Responses with % positive and % negative of all of them, "don't know" included (as the FFT counts)."""
    total = sum(counts[s] for s in SCORES)
    return {
        "total": total,
        "positive_pct": percent(sum(counts[s] for s in POSITIVE), total),
        "negative_pct": percent(sum(counts[s] for s in NEGATIVE), total),
    }


def ward_summary(ward: dict, open_alerts: list[dict], today: Counter, month: str, month_counts: Counter,
                 gauge: dict, last_rating: str | None, kiosks: list[dict]) -> dict:
    """One ward's row of the overview."""
    working = [k for k in kiosks if not k.get("revoked")]
    summary = {
        "code": ward["code"],
        "name": ward.get("name", ward["code"]),
        "open_alerts": [{k: a.get(k) for k in ALERT_FIELDS} for a in open_alerts],
        "today": share_of(today),
        "month": dict(share_of(month_counts), month=month),
        "trend": {"closeness": round(min(1.0, max(0.0, gauge.get("closeness") or 0.0)), 3),
                  "alert_open": any(a.get("kind") == "trend" for a in open_alerts)},
        "last_rating": last_rating,
        "kiosks": {"total": len(working), "offline": sum(1 for k in working if not k.get("online"))},
    }
    # The screen sorts live rows by this key too, so it never needs its own copy of the rule.
    summary["order"] = [-len(open_alerts), -summary["trend"]["closeness"], summary["name"], summary["code"]]
    return summary


def unanswered_row(ward: dict) -> dict:
    """The row of a ward whose server is not answering: its name, and nothing that would pass for figures. It comes
    after the wards with open alerts and before the rest (what it cannot show may need a look); seq -1, so the
    ward's first real row replaces it."""
    name = ward.get("name", ward["code"])
    return {"code": ward["code"], "name": name, "unanswered": True, "seq": -1, "order": [0, -1, name, ward["code"]]}


def overview_order(summaries: list[dict]) -> list[dict]:
    """Wards with open alerts first (most first), then the nearest to a trend alert, then by name."""
    return sorted(summaries, key=lambda s: s["order"])
