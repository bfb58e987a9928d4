"""server/routes.py and server/auth.py over Flask's test client."""

from __future__ import annotations

import pytest

from server.web.extensions import ward_service

from support import STAFF_PASSWORD


@pytest.fixture
def ward(registry, staff_hash):
    registry.add_ward("7B", "Ward 7B")
    registry.add_staff("sister", "7B", "sister", staff_hash)
    return "7B"


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["ok"] is True


def test_healthz_is_503_when_the_data_dir_is_not_writable(app, client, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("builtins.open", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "cannot write" in response.json["storage"]


def test_kiosk_page_asks_the_fft_question_with_six_answers(client):
    page = client.get("/kiosk").get_data(as_text=True)
    assert "Overall, how was your experience of our service?" in page
    for label in ["Very good", "Good", "Neither good nor poor", "Poor", "Very poor", "Don&#39;t know"]:
        assert label in page
    assert "/vendor/socket.io.min.js" in page


def test_socketio_client_is_served_locally(app, client):
    from pathlib import Path

    with client.get("/vendor/socket.io.min.js") as response:
        assert response.status_code == 200
        assert response.data == (Path(app.config["VENDOR_DIR"]) / "socket.io.min.js").read_bytes()
        assert b"Socket.IO v4.8.1" in response.data[:200]


def test_ward_screen_needs_sign_in(client, ward):
    response = client.get("/ward/7B")
    assert response.status_code == 302
    assert "/login?next=/ward/7B" in response.headers["Location"]


def test_sign_in_and_back_to_the_ward(client, ward):
    response = client.post("/login?next=/ward/7B", data={"username": "Sister", "password": STAFF_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/ward/7B"
    page = client.get("/ward/7B")
    assert page.status_code == 200 and "Ward 7B" in page.get_data(as_text=True)


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x"])
def test_sign_in_never_redirects_off_site(client, ward, next_url):
    response = client.post(f"/login?next={next_url}", data={"username": "sister", "password": STAFF_PASSWORD})
    assert response.headers["Location"] == "/ward/7B"


def test_wrong_password_is_refused_plainly(client, ward):
    response = client.post("/login", data={"username": "sister", "password": "wrong-password"})
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)


def test_display_token_opens_the_ward_screen_read_only(client, registry, ward):
    token = registry.add_display(ward)["token"]
    assert client.get(f"/ward/7B?display={token}").status_code == 200
    assert client.get("/ward/7B?display=wrong").status_code == 403


def test_login_form_is_csrf_protected(tmp_path, staff_hash):
    from server.web.app import create_app

    app = create_app({"DATA_DIR": str(tmp_path / "csrf"), "TESTING": True})
    ward_service(app).registry.add_ward("7B", "Ward 7B")
    ward_service(app).registry.add_staff("sister", "7B", "sister", staff_hash)
    response = app.test_client().post("/login", data={"username": "sister", "password": STAFF_PASSWORD})
    ward_service(app).close()
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert "staff" not in response.headers.get("Set-Cookie", "")


def test_control_endpoint_needs_the_token(app, client):
    app.config["CONTROL_TOKEN"] = "s3cret"
    assert client.post("/control", json={"command": "add_ward", "args": {"code": "1", "name": "x"}}).status_code == 403
    ok = client.post(
        "/control",
        json={"command": "add_ward", "args": {"code": "1A", "name": "Ward 1A"}},
        headers={"Authorization": "Bearer s3cret"},
    )
    assert ok.json["ok"] is True
    bad = client.post(
        "/control", json={"command": "drop_everything", "args": {}}, headers={"Authorization": "Bearer s3cret"}
    )
    assert bad.status_code == 409
