"""The monthly FFT return: what each sheet counts, and what it leaves out."""

import csv
import io

import pytest
from openpyxl import load_workbook

from server.ward.monthly_return import COUNT_COLUMNS, WARD_COLUMNS, build_return, ward_sheet_csv, write_xlsx
from shared.fft import COLLECTION_MODES

TRUST = {"org_code": "RXX", "name": "Example Hospitals NHS Trust"}
WARDS = [
    {"code": "7A", "name": "Ward 7A", "site_code": "RXX01", "site_name": "General", "specialties": ["300 - GENERAL MEDICINE"]},
    {"code": "7B", "name": "Ward 7B", "site_code": "RXX01", "site_name": "General",
     "specialties": ["326 - ACUTE INTERNAL MEDICINE", "430 - GERIATRIC MEDICINE"]},
    {"code": "C1", "name": "Children's ward", "site_code": "RXX02", "site_name": "Children's"},
]


def rating(ward, score, **extra):
    return {"ward": ward, "score": score, "channel": "kiosk", "misuse": False, **extra}


def test_ward_sheet_has_the_columns_nhs_england_reads_in_order():
    monthly = build_return("2026-11", TRUST, WARDS, [])
    header = ward_sheet_csv(monthly).splitlines()[0].split(",")
    assert header[:15] == ["Org code", "Site code", "Ward name", "Spec 1", "Spec 2", "1 Very Good", "2 Good",
                           "3 Neither good nor poor", "4 Poor", "5 Very poor", "6 Dont Know", "Total Responses",
                           "Total Eligible", "Prop_Pos", "Prop_Neg"]


@pytest.mark.parametrize("scores, counts, prop_pos, prop_neg", [
    (["very_good", "good", "neither", "poor", "very_poor", "dont_know"], [1, 1, 1, 1, 1, 1], 0.3333, 0.3333),
    (["very_good"] * 3 + ["dont_know"], [3, 0, 0, 0, 0, 1], 0.75, 0.0),  # don't know counts in the whole
    ([], [0] * 6, "", ""),
])
def test_a_ward_row_counts_each_answer_and_its_proportions(scores, counts, prop_pos, prop_neg):
    monthly = build_return("2026-11", TRUST, WARDS, [rating("7A", s) for s in scores])
    row = next(r for r in monthly.ward_rows if r["Ward name"] == "Ward 7A")
    assert [row[c] for c in COUNT_COLUMNS] == counts
    assert (row["Total Responses"], row["Prop_Pos"], row["Prop_Neg"]) == (len(scores), prop_pos, prop_neg)
    assert (row["Org code"], row["Site code"], row["Spec 1"], row["Spec 2"]) == ("RXX", "RXX01", "300 - GENERAL MEDICINE", "")


def test_misuse_and_second_versions_of_a_tap_are_left_out_and_misuse_is_noted():
    ratings = [rating("7A", "good"), rating("7A", "very_poor", misuse=True), rating("7A", "poor", misuse=True),
               rating("7A", "neither", amends="r1")]
    monthly = build_return("2026-11", TRUST, WARDS, ratings)
    row = next(r for r in monthly.ward_rows if r["Ward name"] == "Ward 7A")
    assert row["Total Responses"] == 1
    assert monthly.misuse_left_out == 2
    assert "possible misuse are not counted: 2" in monthly.note


def test_sites_and_the_trust_add_up_their_wards():
    ratings = [rating("7A", "good"), rating("7B", "poor"), rating("7B", "good"), rating("C1", "very_good")]
    monthly = build_return("2026-11", TRUST, WARDS, ratings)
    sites = {row["Site code"]: row["Total Responses"] for row in monthly.site_rows}
    assert sites == {"RXX01": 3, "RXX02": 1}
    assert monthly.org_rows[0]["Total Responses"] == 4
    assert monthly.org_rows[0]["2 Good"] == 2


def test_tablets_count_as_electronic_discharge_and_own_phones_as_online_unless_the_trust_maps_them():
    ratings = [rating("7A", "good"), rating("7A", "good", channel="own_device"), rating("7B", "poor", channel="own_device")]
    assert {m: n for m, n in build_return("2026-11", TRUST, WARDS, ratings).mode_rows[0].items() if m in COLLECTION_MODES and n} == \
        {"Electronic Discharge": 1, "Online": 2}
    mapped = build_return("2026-11", TRUST, WARDS, ratings, modes={"kiosk": "Paper Discharge"}).mode_rows[0]
    assert (mapped["Paper Discharge"], mapped["Electronic Discharge"], mapped["Online"]) == (1, 0, 2)


def test_a_ward_name_that_starts_a_formula_is_text_in_the_csv_and_the_workbook(tmp_path):
    wards = [{"code": "X", "name": "=HYPERLINK(\"http://evil.example\")"}]
    monthly = build_return("2026-11", TRUST, wards, [rating("X", "good")])
    row = next(csv.DictReader(io.StringIO(ward_sheet_csv(monthly))))
    assert row["Ward name"].startswith("'=")
    write_xlsx(monthly, tmp_path / "return.xlsx")
    assert load_workbook(tmp_path / "return.xlsx")["Ward"]["C2"].value.startswith("'=")


def test_the_workbook_has_the_four_sheets_and_a_note(tmp_path):
    monthly = build_return("2026-11", TRUST, WARDS, [rating("7A", "good"), rating("C1", "poor", misuse=True)])
    write_xlsx(monthly, tmp_path / "return.xlsx")
    book = load_workbook(tmp_path / "return.xlsx")
    assert book.sheetnames == ["Ward", "Site", "Organisation", "Collection mode", "Themes", "Notes"]
    assert [c.value for c in book["Ward"][1]] == list(WARD_COLUMNS)
    assert book["Organisation"]["C2"].value == 0 and book["Organisation"]["D2"].value == 1  # very good 0, good 1
    assert "not counted: 1" in book["Notes"]["A1"].value


def test_the_themes_sheet_counts_each_wards_comments_by_theme_positive_and_negative():
    ratings = [rating("7A", "very_poor", comment="Waited ages, in pain"), rating("7A", "good", comment="No wait at all"),
               rating("7A", "neither", comment="waiting"), rating("7B", "good", comment="Lovely food"),
               rating("7A", "poor", comment="long wait", misuse=True)]
    rows = build_return("2026-11", TRUST, WARDS, ratings).theme_rows
    assert rows == [
        {"Ward name": "Ward 7A", "Theme": "Waiting", "Comments": 3, "Positive": 1, "Negative": 1},
        {"Ward name": "Ward 7A", "Theme": "Pain", "Comments": 1, "Positive": 0, "Negative": 1},
        {"Ward name": "Ward 7B", "Theme": "Food", "Comments": 1, "Positive": 1, "Negative": 0},
    ]
