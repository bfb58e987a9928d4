"""Accounts covering several wards and the matrons' overview: every visitor x the pages it touches.

An old registry (accounts with one `ward`, written before an account could cover several) is read as it is."""

from __future__ import annotations

import csv
import io
import json

import pytest

from kiosk.client import make_rating
from server.store.registry import Registry
from server.web.app import create_app
from server.web.extensions import ward_service

from support import STAFF_PASSWORD

VISITORS = ("anonymous", "staff_9c", "sister_7b", "matron", "admin", "old_sister_7b")
SIGN_IN = "sign-in"


@pytest.fixture
def wards(tmp_path, staff_hash):
    """Wards 7A, 7B and 9C; a matron covering 7A and 7B; an account from an older registry (one `ward`)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    registry = Registry(data_dir)
    for code in ("7A", "7B", "9C"):
        registry.add_ward(code, f"Ward {code}")
    registry.add_staff("staff_9c", "9C", "staff", staff_hash)
    registry.add_staff("sister_7b", "7B", "sister", staff_hash)
    registry.add_staff("matron", ["7A", "7B"], "matron", staff_hash)
    registry.add_staff("admin", "9C", "admin", staff_hash)
    # As an older WardPulse wrote it: `ward`, no `wards`.
    stored = json.loads((data_dir / "wardpulse.json").read_text())
    stored["staff"]["99"] = {"username": "old_sister_7b", "ward": "7B", "role": "sister", "password_hash": staff_hash,
                             "created_at": "2026-01-01T00:00:00Z"}
    (data_dir / "wardpulse.json").write_text(json.dumps(stored))
    app = create_app({"DATA_DIR": str(data_dir), "TESTING": True, "WTF_CSRF_ENABLED": False})
    service = ward_service(app)
    kiosk_7a, kiosk_9c = service.registry.add_kiosk("7A"), service.registry.add_kiosk("9C")
    service.registry_changed()
    _, _, raised = service.receive_rating(kiosk_7a, make_rating("poor", comment="Cold tea", follow_up={"location": "Bay 1"}))
    service.receive_rating(kiosk_9c, make_rating("very_good"))
    yield app, raised[0]
    service.close()


def visit(app, visitor, method, path, data=None):
    client = app.test_client()
    if visitor != "anonymous":
        assert client.post("/login", data={"username": visitor, "password": STAFF_PASSWORD}).status_code == 302
    response = client.open(path, method=method, data=data)
    if response.status_code == 302 and "/login" in response.headers["Location"]:
        return SIGN_IN, response
    return response.status_code, response


ROUTES = [
    # method, path, expected for: anonymous, staff_9c, sister_7b, matron, admin, old_sister_7b
    ("GET", "/overview", (SIGN_IN, 200, 200, 200, 200, 200)),
    ("GET", "/overview/return.csv", (SIGN_IN, 200, 200, 200, 200, 200)),
    ("GET", "/overview/return.xlsx?month=2026-11", (SIGN_IN, 200, 200, 200, 200, 200)),
    ("GET", "/overview/return.csv?month=November", (SIGN_IN, 400, 400, 400, 400, 400)),
    ("GET", "/ward/7A", (SIGN_IN, 403, 403, 200, 200, 403)),
    ("GET", "/ward/7B", (SIGN_IN, 403, 200, 200, 200, 200)),
    ("GET", "/ward/9C", (SIGN_IN, 200, 403, 403, 200, 403)),
    ("GET", "/ward/7A/settings", (SIGN_IN, 403, 403, 200, 200, 403)),  # a matron acts as a sister on her wards
    ("POST", "/ward/7B/settings", (SIGN_IN, 403, 302, 302, 302, 302)),
    ("GET", "/ward/9C/settings", (SIGN_IN, 403, 403, 403, 200, 403)),  # ... and only on hers
    ("GET", "/admin", (SIGN_IN, 403, 403, 403, 200, 403)),
    ("GET", "/f/{token}", (SIGN_IN, 403, 403, 200, 200, 403)),
]


@pytest.mark.parametrize("method, path, expected", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
@pytest.mark.parametrize("visitor", VISITORS)
def test_route_by_account(wards, method, path, expected, visitor):
    app, alert = wards
    data = {"urgent_phrases": "unsafe"} if "settings" in path else None
    outcome, _ = visit(app, visitor, method, path.format(token=alert["follow_up_token"]), data)
    assert outcome == expected[VISITORS.index(visitor)]


@pytest.mark.parametrize(
    ("visitor", "wards_listed"),
    [("staff_9c", ["Ward 9C"]), ("sister_7b", ["Ward 7B"]), ("matron", ["Ward 7A", "Ward 7B"]),
     ("admin", ["Ward 7A", "Ward 7B", "Ward 9C"]), ("old_sister_7b", ["Ward 7B"])],
)
def test_the_monthly_return_on_the_overview_has_only_the_wards_the_viewer_covers(wards, visitor, wards_listed):
    app, _ = wards
    month = ward_service(app).clock().strftime("%Y-%m")
    outcome, response = visit(app, visitor, "GET", f"/overview/return.csv?month={month}")
    assert outcome == 200 and response.headers["Content-Disposition"] == f'attachment; filename="fft-return-{month}.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["Ward name"] for r in rows] == wards_listed
    responses = {r["Ward name"]: r["Total Responses"] for r in rows}
    assert responses.get("Ward 7A", "1") == "1" and responses.get("Ward 9C", "1") == "1"


def test_a_month_that_is_not_one_gets_a_plain_answer(wards):
    app, _ = wards
    _, response = visit(app, "matron", "GET", "/overview/return.xlsx?month=2026-13")
    assert b"Choose a month as its year and month" in response.data


@pytest.mark.parametrize(("visitor", "lands_on"), [("matron", "/overview"), ("admin", "/overview"), ("sister_7b", "/ward/7B"),
                                                    ("old_sister_7b", "/ward/7B")])
def test_signing_in_lands_on_the_overview_for_those_who_cover_several_wards(wards, visitor, lands_on):
    app, _ = wards
    response = app.test_client().post("/login", data={"username": visitor, "password": STAFF_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == lands_on


def test_an_admin_adds_an_account_covering_several_wards(wards):
    app, _ = wards
    client = app.test_client()
    assert client.post("/login", data={"username": "admin", "password": STAFF_PASSWORD}).status_code == 302
    form = {"add": "staff", "staff-username": "bank.nurse", "staff-wards": ["7A", "9C"], "staff-role": "staff",
            "staff-password": "long-enough-pw"}
    assert client.post("/admin", data=form).status_code == 302
    assert ward_service(app).registry.staff("bank.nurse")["wards"] == ["7A", "9C"]
    page = client.get("/admin").get_data(as_text=True)
    assert "7A, 9C" in page and 'type="checkbox"' in page
