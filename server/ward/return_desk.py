"""The monthly return read from the stored journals, for the CLI, the admin page and the "You said, we did" poster.

Counted exactly as `wardpulse fft-return` counts: by month of tapping in the wards' calendar, possible
misuse left out. Not pure: it reads the journal (the counting itself is `monthly_return`, which is).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path

from server.store.journal import read_ward_month
from server.store.registry import Registry
from server.ward.monthly_return import MonthlyReturn, build_return
from server.ward.themes import ThemeFinder

SMALLEST_SHOWN = 5  # NHS England does not publish a count of 1-4: it could point to a patient


def month_of(moment: datetime, tz: tzinfo) -> str:
    """The ward month (YYYY-MM) a moment falls in."""
    return moment.astimezone(tz).strftime("%Y-%m")


def monthly_return(data_dir: Path, registry: Registry, month: str, tz: tzinfo, codes: list[str] | None = None,
                   finder: ThemeFinder | None = None) -> MonthlyReturn:
    """One month's return for every ward (or the wards named), from the journals."""
    wards = [w for w in registry.wards() if codes is None or w["code"] in codes]
    ratings = (r for w in wards for r in read_ward_month(data_dir, w["code"], month, tz))
    trust = registry.trust()
    return build_return(month, trust, wards, ratings, modes=trust.get("modes"), finder=finder)


def month_positive(data_dir: Path, registry: Registry, ward: str, month: str, tz: tzinfo) -> dict:
    """A ward's month as a poster may show it: responses, and % positive only from 5 responses up."""
    [row] = monthly_return(data_dir, registry, month, tz, [ward]).ward_rows
    total = row["Total Responses"]
    shown = total >= SMALLEST_SHOWN
    return {"month": month, "responses": total if shown else None, "fewer_than": SMALLEST_SHOWN if 0 < total < SMALLEST_SHOWN else None,
            "positive_pct": round(row["Prop_Pos"] * 100) if shown else None}
