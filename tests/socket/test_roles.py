"""Every staff route x every kind of visitor, with the outcome each must get (README, "Who may do what")."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kiosk.client import make_rating
from server.web.extensions import ward_service

from support import STAFF_PASSWORD

VISITORS = ("anonymous", "display", "staff", "sister", "admin", "other_ward_staff")
SIGN_IN = "sign-in"  # redirected to /login?next=...


@pytest.fixture
def ward(app, registry, staff_hash):
    registry.add_ward("7B", "Ward 7B")
    registry.add_ward("4A", "Ward 4A")
    for username, ward_code, role in [("staff", "7B", "staff"), ("sister", "7B", "sister"), ("admin", "4A", "admin"), ("other_ward_staff", "4A", "staff")]:
        registry.add_staff(username, ward_code, role, staff_hash)
    kiosk = registry.add_kiosk("7B", "Day room")
    ward_service(app).registry_changed()
    ack, _, raised = ward_service(app).receive_rating(
        kiosk, make_rating("poor", comment="SECRET-COMMENT the tea was cold", follow_up={"location": "Bay 2"})
    )
    assert ack["ok"] and raised
    return {"kiosk": kiosk, "alert": raised[0], "display": registry.add_display("7B")["token"]}


def visit(app, visitor, ward, method, path, data=None):
    client = app.test_client()
    if visitor in ("staff", "sister", "admin", "other_ward_staff"):
        assert client.post("/login", data={"username": visitor, "password": STAFF_PASSWORD}).status_code == 302
    if visitor == "display":
        path += ("&" if "?" in path else "?") + "display=" + ward["display"]
    response = client.open(path, method=method, data=data)
    if response.status_code == 302 and "/login" in response.headers["Location"]:
        return SIGN_IN, response
    return response.status_code, response


ROUTES = [
    # method, path, expected for: anonymous, display, staff, sister, admin, other_ward_staff
    ("GET", "/ward/7B", (SIGN_IN, 200, 200, 200, 200, 403)),
    ("GET", "/ward/7B/chart", (SIGN_IN, 200, 200, 200, 200, 403)),
    ("GET", "/ward/7B/poster", (SIGN_IN, SIGN_IN, 200, 200, 200, 403)),
    ("GET", "/ward/7B/you-said-we-did", (SIGN_IN, SIGN_IN, 200, 200, 200, 403)),
    ("GET", "/ward/7B/settings", (SIGN_IN, SIGN_IN, 403, 200, 200, 403)),
    ("POST", "/ward/7B/settings", (SIGN_IN, SIGN_IN, 403, 302, 302, 403)),
    ("GET", "/admin", (SIGN_IN, SIGN_IN, 403, 403, 200, 403)),
    ("GET", "/admin/ward/7B/kiosks", (SIGN_IN, SIGN_IN, 403, 403, 200, 403)),
    ("GET", "/admin/trust", (SIGN_IN, SIGN_IN, 403, 403, 200, 403)),
    ("GET", "/admin/ward/7B/codes", (SIGN_IN, SIGN_IN, 403, 403, 200, 403)),
    ("GET", "/admin/return?month=2026-11&format=csv", (SIGN_IN, SIGN_IN, 403, 403, 200, 403)),
    ("POST", "/admin/kiosks/{kiosk}/revoke", (SIGN_IN, SIGN_IN, 403, 403, 302, 403)),
    ("POST", "/admin/staff/staff/sign-out", (SIGN_IN, SIGN_IN, 403, 403, 302, 403)),
    ("GET", "/f/{token}", (SIGN_IN, SIGN_IN, 200, 200, 200, 403)),
    ("POST", "/f/{token}", (SIGN_IN, SIGN_IN, 302, 302, 302, 403)),
    ("GET", "/a/{short}", (SIGN_IN, SIGN_IN, 302, 302, 302, 302)),  # the short code only leads on to /f/, which checks the ward
    ("GET", "/kiosk", (200, 200, 200, 200, 200, 200)),
    ("GET", "/w/7B", (200, 200, 200, 200, 200, 200)),
    ("GET", "/healthz", (200, 200, 200, 200, 200, 200)),
    ("POST", "/control", (403, 403, 403, 403, 403, 403)),
]


@pytest.mark.parametrize("method, path, expected", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
@pytest.mark.parametrize("visitor", VISITORS)
def test_route_by_role(app, ward, method, path, expected, visitor):
    path = path.format(kiosk=ward["kiosk"]["id"], token=ward["alert"]["follow_up_token"], short=ward["alert"]["short_code"])
    data = {"step": "acknowledge"} if path.startswith("/f/") else {"urgent_phrases": "unsafe"} if "settings" in path else None
    outcome, response = visit(app, visitor, ward, method, path, data)
    assert outcome == expected[VISITORS.index(visitor)]


@pytest.mark.parametrize("path", ["/ward/7B", "/ward/7B/chart", "/ward/7B/poster", "/ward/7B/you-said-we-did", "/f/{token}", "/f/{token}/qr.svg", "/a/{short}", "/w/7B", "/kiosk"])
def test_a_patients_comment_never_reaches_anyone_not_signed_in(app, ward, path):
    path = path.format(token=ward["alert"]["follow_up_token"], short=ward["alert"]["short_code"])
    response = app.test_client().get(path)
    assert b"SECRET-COMMENT" not in response.data
    assert b"Bay 2" not in response.data


def test_staff_of_the_ward_see_the_comment_on_the_follow_up_page(app, ward):
    outcome, response = visit(app, "staff", ward, "GET", f"/f/{ward['alert']['follow_up_token']}")
    assert outcome == 200
    assert b"SECRET-COMMENT" in response.data and b"Bay 2" in response.data


def test_follow_up_token_is_long_and_url_safe(ward):
    token = ward["alert"]["follow_up_token"]
    assert len(token) >= 22  # >= 128 bits in URL-safe base64
    assert all(c.isalnum() or c in "-_" for c in token)
    assert ward["alert"]["follow_up_url"].endswith("/f/" + token)


def test_a_resolved_alerts_link_no_longer_acts(app, ward):
    path = f"/f/{ward['alert']['follow_up_token']}"
    outcome, _ = visit(app, "staff", ward, "POST", path, {"step": "resolve", "action": "Made fresh tea"})
    assert outcome == 302
    outcome, response = visit(app, "staff", ward, "POST", path, {"step": "acknowledge"})
    assert outcome == 200 and b"no longer active" in response.data
    alert = ward_service(app).alerts.alert("7B", ward["alert"]["id"])
    assert alert["status"] == "resolved" and [h["event"] for h in alert["history"]] == ["raised", "acknowledged", "resolved"]


def test_a_follow_up_link_expires_after_7_days(app, ward):
    wards = ward_service(app)
    old = dict(wards.alerts.alert("7B", ward["alert"]["id"]), raised_at="2026-01-01T00:00:00.000Z")
    wards.alerts.save("7B", [old])
    outcome, response = visit(app, "staff", ward, "POST", f"/f/{old['follow_up_token']}", {"step": "acknowledge"})
    assert outcome == 200 and b"no longer active" in response.data
    assert wards.alerts.alert("7B", old["id"])["status"] == "open"


def test_enrollment_code_is_single_use(app, registry, ward):
    code = registry.add_enrollment(ward["kiosk"]["id"])["code"]
    assert len(code) >= 22
    first = app.test_client().get(f"/kiosk/enroll/{code}")
    page, _, fragment = first.headers["Location"].partition("#")
    assert first.status_code == 302 and page.rstrip("/") == "/kiosk" and fragment.startswith("enroll=")
    token = first.headers["Location"].split("#enroll=")[1]
    assert ward_service(app).kiosk_for_token(token)["id"] == ward["kiosk"]["id"]
    again = app.test_client().get(f"/kiosk/enroll/{code}")
    assert again.status_code == 410 and b"already been used" in again.data


def test_enrollment_code_expires_after_10_minutes(app, registry, ward, monkeypatch):
    code = registry.add_enrollment(ward["kiosk"]["id"])["code"]
    later = datetime.now(timezone.utc) + timedelta(minutes=11)
    monkeypatch.setattr("server.store.registry.now_utc", lambda: later)
    response = app.test_client().get(f"/kiosk/enroll/{code}")
    assert response.status_code == 410 and b"expired" in response.data


def test_sign_in_is_rate_limited(app, ward):
    client = app.test_client()
    for _ in range(5):
        assert client.post("/login", data={"username": "staff", "password": "wrong-password"}).status_code == 401
    blocked = client.post("/login", data={"username": "staff", "password": STAFF_PASSWORD})
    assert blocked.status_code == 429 and b"Too many failed sign-ins from this device. Wait 15 minutes" in blocked.data


def test_session_cookie_is_httponly_and_samesite(app, ward):
    response = app.test_client().post("/login", data={"username": "staff", "password": STAFF_PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_is_secure_behind_tls(tmp_path, staff_hash):
    from server.web.app import create_app

    app = create_app({"DATA_DIR": str(tmp_path / "tls"), "TESTING": True, "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": True})
    ward_service(app).registry.add_ward("7B", "Ward 7B")
    ward_service(app).registry.add_staff("staff", "7B", "staff", staff_hash)
    response = app.test_client().post("/login", data={"username": "staff", "password": STAFF_PASSWORD})
    ward_service(app).close()
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_sisters_phrases_take_effect_at_once(app, ward):
    outcome, _ = visit(app, "sister", ward, "POST", "/ward/7B/settings", {"urgent_phrases": "buzzer\ncall bell", "trend_volume": "12"})
    assert outcome == 302
    wards = ward_service(app)
    ack, _, raised = wards.receive_rating(ward["kiosk"], make_rating("neither", comment="Nobody answered the call bell"))
    assert [a["kind"] for a in raised] == ["comment"]
    _, _, raised = wards.receive_rating(ward["kiosk"], make_rating("neither", comment="I felt unsafe"))
    assert raised == []  # the ward replaced the default list
    # h for 12 ratings a day, not the default 30 (a ward with no ratings yet: h allows for its unknown rate)
    trend = wards.trend_settings("7B")
    assert trend["per_day"] == pytest.approx(12, rel=0.1)  # h for 12 ratings a day, not the default 30
    assert trend["changes"][0]["why"] == "settings" and trend["h"] < trend["changes"][1]["h"]
    assert wards.snapshot("7B")["trend"]["h"] == pytest.approx(trend["h"], abs=1e-3)
