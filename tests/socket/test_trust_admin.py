"""/admin's trust part: the trust's and each ward's codes, shown and edited with plain errors, and the monthly return download."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook

from kiosk.client import make_rating
from server.store.files import THEMES_FILE
from server.ward.monthly_return import WARD_COLUMNS
from server.web.app import create_app
from server.web.extensions import ward_service

from support import STAFF_PASSWORD

NOW = datetime.now(timezone.utc)
MONTH = NOW.strftime("%Y-%m")


@pytest.fixture
def admin(app, registry, staff_hash):
    registry.add_ward("7B", "Ward 7B")
    registry.add_ward("4A", "Ward 4A", site_code="RXX02", site_name="General", specialties=["300 - GENERAL MEDICINE"])
    registry.add_staff("admin", "7B", "admin", staff_hash)
    client = app.test_client()
    assert client.post("/login", data={"username": "admin", "password": STAFF_PASSWORD}).status_code == 302
    return client


def test_the_admin_page_shows_the_codes_and_the_return_picker(admin):
    page = admin.get("/admin").get_data(as_text=True)
    assert "RXX02 · General" in page and "300 - GENERAL MEDICINE" in page
    assert 'href="/admin/ward/7B/codes"' in page and 'href="/ward/7B/you-said-we-did"' in page
    assert 'action="/admin/trust"' in page and "Electronic Discharge" in page  # the default for tablets
    assert 'action="/admin/return"' in page and 'type="month"' in page


def test_an_admin_sets_the_trusts_codes_and_collection_modes(admin, registry):
    done = admin.post("/admin/trust", data={"trust-org_code": "rxx", "trust-name": "Example NHS Trust",
                                            "trust-kiosk_mode": "Electronic Home", "trust-own_device_mode": "Online"})
    assert done.status_code == 302
    assert registry.trust() == {"org_code": "RXX", "name": "Example NHS Trust",
                                "modes": {"kiosk": "Electronic Home", "own_device": "Online"}}
    assert "Trust codes saved." in admin.get("/admin").get_data(as_text=True)


@pytest.mark.parametrize("data, says", [
    ({"trust-org_code": "R!", "trust-name": "Example", "trust-kiosk_mode": "Online", "trust-own_device_mode": "Online"},
     "An organisation code is 3-9 letters and digits"),
    ({"trust-org_code": "RXX", "trust-name": "", "trust-kiosk_mode": "Online", "trust-own_device_mode": "Online"},
     "the organisation code and the trust name are both needed"),
    ({"trust-org_code": "RXX", "trust-name": "Example", "trust-kiosk_mode": "Carrier pigeon", "trust-own_device_mode": "Online"},
     "Check the form"),
])
def test_a_bad_trust_form_says_why_and_changes_nothing(admin, registry, data, says):
    refused = admin.post("/admin/trust", data=data)
    assert refused.status_code == 400 and says in refused.get_data(as_text=True)
    assert registry.trust() == {}


def test_an_admin_edits_a_wards_site_and_specialties(admin, registry):
    done = admin.post("/admin/ward/7B/codes", data={"name": "Ward 7B (Respiratory)", "site_code": "rxx01", "site_name": "City Hospital",
                                                    "specialty_1": "340 - RESPIRATORY MEDICINE", "specialty_2": ""})
    assert done.status_code == 302
    ward = registry.ward("7B")
    assert (ward["name"], ward["site_code"], ward["site_name"], ward["specialties"]) == (
        "Ward 7B (Respiratory)", "RXX01", "City Hospital", ["340 - RESPIRATORY MEDICINE"])


@pytest.mark.parametrize("data, says", [
    ({"name": "Ward 7B", "site_code": "R1", "site_name": "", "specialty_1": "", "specialty_2": ""}, "A site code is 3-9 letters and digits"),
    ({"name": "Ward 7B", "site_code": "", "site_name": "", "specialty_1": "Respiratory", "specialty_2": ""}, "Give up to two specialties"),
    ({"name": "", "site_code": "", "site_name": "", "specialty_1": "", "specialty_2": ""}, "Check the form: a ward needs a name"),
])
def test_bad_ward_codes_say_why_and_change_nothing(admin, registry, data, says):
    before = registry.ward("7B")
    refused = admin.post("/admin/ward/7B/codes", data=data)
    assert refused.status_code == 400 and says in refused.get_data(as_text=True).replace("&#34;", '"')
    assert registry.ward("7B") == before
    assert admin.get("/admin/ward/NOPE/codes").status_code == 404


def test_the_monthly_return_downloads_as_csv_and_xlsx_with_every_ward(app, admin, registry):
    registry.set_trust("RXX", "Example NHS Trust")
    kiosk = registry.add_kiosk("7B", "Day room")
    ward_service(app).registry_changed()
    for score in ("very_good", "good", "poor"):
        assert ward_service(app).receive_rating(kiosk, make_rating(score))[0]["ok"]

    sheet = admin.get(f"/admin/return?month={MONTH}&format=csv")
    assert sheet.status_code == 200 and sheet.mimetype == "text/csv"
    assert sheet.headers["Content-Disposition"] == f'attachment; filename="fft-return-{MONTH}.csv"'
    rows = list(csv.DictReader(io.StringIO(sheet.get_data(as_text=True))))
    assert tuple(rows[0]) == WARD_COLUMNS
    by_ward = {r["Ward name"]: r for r in rows}
    assert set(by_ward) == {"Ward 7B", "Ward 4A"}
    assert (by_ward["Ward 7B"]["Org code"], by_ward["Ward 7B"]["Total Responses"], by_ward["Ward 7B"]["Prop_Pos"]) == ("RXX", "3", "0.6667")

    book = admin.get(f"/admin/return?month={MONTH}&format=xlsx")
    assert book.status_code == 200 and book.headers["Content-Disposition"].endswith(f'fft-return-{MONTH}.xlsx"')
    assert load_workbook(io.BytesIO(book.data)).sheetnames == ["Ward", "Site", "Organisation", "Collection mode", "Themes", "Notes"]


@pytest.mark.parametrize("query", ["month=2026-13&format=csv", "month=last&format=csv", "month=2026-11&format=pdf", "format=csv"])
def test_a_bad_month_or_format_is_a_plain_error(admin, query):
    refused = admin.get("/admin/return?" + query)
    assert refused.status_code == 400 and "Choose a month as YYYY-MM" in refused.get_data(as_text=True)


def test_a_bad_themes_file_is_shown_on_the_admin_page(tmp_path, staff_hash):
    data = tmp_path / "bad"
    data.mkdir()
    (data / THEMES_FILE).write_text('{"Food": "meal"}')
    app = create_app({"DATA_DIR": str(data), "TESTING": True, "WTF_CSRF_ENABLED": False})
    try:
        ward_service(app).registry.add_ward("7B", "Ward 7B")
        ward_service(app).registry.add_staff("admin", "7B", "admin", staff_hash)
        client = app.test_client()
        assert client.post("/login", data={"username": "admin", "password": STAFF_PASSWORD}).status_code == 302
        page = client.get("/admin").get_data(as_text=True)
        assert "The trust&#39;s themes file is not used" in page and "one list per language" in page
    finally:
        ward_service(app).close()
