"""The monthly FFT return to NHS England: counts per ward, site and trust, and per collection mode. Pure.

The sheets and column names are the ones NHS England's own processing reads (its Ward, Site and
Organisation sheets and the trust-level Collection mode sheet). Percentages, like everywhere in the
FFT, are shares of all responses with "don't know" included; here they are proportions (0-1).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

from openpyxl import Workbook

from server.ward.picture import counted
from server.ward.spreadsheet import inert_row
from server.ward.themes import ThemeFinder
from shared.fft import COLLECTION_MODES, NEGATIVE, POSITIVE, SCORES

# The six answer columns, in the scale's order (shared.fft.SCORES).
COUNT_COLUMNS = ("1 Very Good", "2 Good", "3 Neither good nor poor", "4 Poor", "5 Very poor", "6 Dont Know")
TOTALS = ("Total Responses", "Total Eligible", "Prop_Pos", "Prop_Neg")
WARD_COLUMNS = ("Org code", "Site code", "Ward name", "Spec 1", "Spec 2", *COUNT_COLUMNS, *TOTALS)
SITE_COLUMNS = ("Org code", "Site code", "Site name", *COUNT_COLUMNS, *TOTALS)
ORG_COLUMNS = ("Org code", "Org name", *COUNT_COLUMNS, *TOTALS)
MODE_COLUMNS = ("Org code", "Org name", *COLLECTION_MODES)
THEME_COLUMNS = ("Ward name", "Theme", "Comments", "Positive", "Negative")

# How each channel was collected, unless the trust maps it otherwise: a ward tablet asks before the
# patient leaves; the bedside poster's link is answered on the patient's own phone, online.
DEFAULT_MODES = {"kiosk": "Electronic Discharge", "own_device": "Online"}


@dataclass
class MonthlyReturn:
    """One month's return: a row per ward, site and trust, the trust's modes, and what was left out."""

    month: str
    ward_rows: list[dict] = field(default_factory=list)
    site_rows: list[dict] = field(default_factory=list)
    org_rows: list[dict] = field(default_factory=list)
    mode_rows: list[dict] = field(default_factory=list)
    theme_rows: list[dict] = field(default_factory=list)
    misuse_left_out: int = 0

    @property
    def note(self) -> str:
        return (f"FFT return for {self.month}. Ratings marked as possible misuse are not counted: "
                f"{self.misuse_left_out}. Total Eligible is left blank: WardPulse does not know how many patients were eligible.")


def _counts_row(counts: Counter) -> dict:
    total = sum(counts[s] for s in SCORES)
    row = {column: counts[score] for column, score in zip(COUNT_COLUMNS, SCORES)}
    row["Total Responses"] = total
    row["Total Eligible"] = ""
    row["Prop_Pos"] = round(sum(counts[s] for s in POSITIVE) / total, 4) if total else ""
    row["Prop_Neg"] = round(sum(counts[s] for s in NEGATIVE) / total, 4) if total else ""
    return row


def build_return(month: str, trust: dict, wards: list[dict], ratings, modes: dict | None = None,
                 finder: ThemeFinder | None = None) -> MonthlyReturn:
    """Count one month's ratings (already restricted to the month, in the wards' time zone) into the return.

    `trust` has `org_code` and `name`; each ward has `code`, `name`, and optionally `site_code`,
    `site_name` and up to two `specialties`. Every ward is listed, with zeros if it had no ratings.
    """
    modes = {**DEFAULT_MODES, **(modes or {})}
    by_ward: dict[str, Counter] = {w["code"]: Counter() for w in wards}
    by_mode: Counter = Counter()
    by_theme: dict[str, Counter] = {w["code"]: Counter() for w in wards}
    finder = finder or ThemeFinder()
    result = MonthlyReturn(month)
    for rating in ratings:
        if rating.get("misuse") and not rating.get("amends"):
            result.misuse_left_out += 1
        if not counted(rating) or rating["ward"] not in by_ward:
            continue
        by_ward[rating["ward"]][rating["score"]] += 1
        by_mode[modes.get(rating.get("channel", "kiosk"), "Other")] += 1
        for theme in finder.themes(rating.get("comment")):
            by_theme[rating["ward"]].update([(theme, "all"), (theme, "positive" if rating["score"] in POSITIVE else
                                                               "negative" if rating["score"] in NEGATIVE else "other")])

    org = trust.get("org_code", "")
    by_site: dict[str, Counter] = {}
    site_names: dict[str, str] = {}
    for ward in sorted(wards, key=lambda w: (w.get("site_code") or "", w["name"])):
        specialties = list(ward.get("specialties") or []) + ["", ""]
        site = ward.get("site_code") or ""
        result.ward_rows.append({"Org code": org, "Site code": site, "Ward name": ward["name"],
                                 "Spec 1": specialties[0], "Spec 2": specialties[1], **_counts_row(by_ward[ward["code"]])})
        by_site.setdefault(site, Counter()).update(by_ward[ward["code"]])
        site_names.setdefault(site, ward.get("site_name") or "")
        themes = by_theme[ward["code"]]
        result.theme_rows += [{"Ward name": ward["name"], "Theme": theme, "Comments": themes[theme, "all"],
                               "Positive": themes[theme, "positive"], "Negative": themes[theme, "negative"]}
                              for theme in finder.names if themes[theme, "all"]]
    result.site_rows = [{"Org code": org, "Site code": site, "Site name": site_names[site], **_counts_row(counts)}
                        for site, counts in by_site.items()]
    result.org_rows = [{"Org code": org, "Org name": trust.get("name", ""), **_counts_row(sum(by_ward.values(), Counter()))}]
    result.mode_rows = [{"Org code": org, "Org name": trust.get("name", ""), **{mode: by_mode[mode] for mode in COLLECTION_MODES}}]
    return result


def ward_sheet_csv(monthly: MonthlyReturn) -> str:
    """The Ward sheet as CSV: the return's columns, in order."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=WARD_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(inert_row(row) for row in monthly.ward_rows)
    return out.getvalue()


def write_xlsx(monthly: MonthlyReturn, target) -> None:
    """The Ward, Site, Organisation and Collection mode sheets, the comments' themes and a note, as one workbook."""
    book = Workbook()
    book.remove(book.active)
    for title, columns, rows in (("Ward", WARD_COLUMNS, monthly.ward_rows), ("Site", SITE_COLUMNS, monthly.site_rows),
                                 ("Organisation", ORG_COLUMNS, monthly.org_rows), ("Collection mode", MODE_COLUMNS, monthly.mode_rows),
                                 ("Themes", THEME_COLUMNS, monthly.theme_rows)):
        sheet = book.create_sheet(title)
        sheet.append(columns)
        for row in rows:
            sheet.append([inert_row(row)[column] for column in columns])
    book.create_sheet("Notes").append([monthly.note])
    book.save(target)
