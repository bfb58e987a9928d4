"""server/auth.py over Flask's test client: where `next` may lead, the sign-in limits by address and by
username, proxy headers, and sign-out that ends the session on the server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kiosk.client import make_rating
from server.web.app import create_app
from server.web.auth import same_site_path
from server.web.extensions import ward_service
from shared.protocol import STAFF_NAMESPACE

from support import STAFF_PASSWORD

WRONG = "not-the-password"


@pytest.fixture
def ward(app, registry, staff_hash):
    registry.add_ward("7B", "Ward 7B")
    for username, role in [("sister", "sister"), ("nurse", "staff"), ("admin", "admin")]:
        registry.add_staff(username, "7B", role, staff_hash)
    kiosk = registry.add_kiosk("7B", "Day room")
    ward_service(app).registry_changed()
    _, _, raised = ward_service(app).receive_rating(kiosk, make_rating("poor", comment="SECRET-COMMENT", follow_up={"location": "Bay 2"}))
    return {"follow_up": f"/f/{raised[0]['follow_up_token']}"}


@pytest.fixture
def clock(monkeypatch):
    """The sign-in limiter's clock, moved by hand."""
    now = [datetime(2026, 11, 30, 10, tzinfo=timezone.utc)]
    monkeypatch.setattr("server.web.auth.now_utc", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += timedelta(seconds=seconds)

    return advance


def sign_in(client, username="sister", password=STAFF_PASSWORD, address="10.1.1.1", next_url=None, headers=None):
    query = {"next": next_url} if next_url is not None else None
    return client.post("/login", query_string=query, data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


# --------------------------------------------------------------------------- next


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/ward/7B", "/ward/7B"),
        ("/ward/7B/chart?days=60", "/ward/7B/chart?days=60"),
        ("/f/abc-DEF_123", "/f/abc-DEF_123"),
        (None, None),
        ("", None),
        ("ward/7B", None),
        ("//evil.example/x", None),
        ("///evil.example", None),
        ("/\\evil.example", None),
        ("\\\\evil.example", None),
        ("/\t/evil.example/phish", None),  # browsers drop the tab and see //evil.example
        ("/\n/evil.example", None),
        ("/\r/evil.example", None),
        ("/\x00/evil.example", None),
        ("/\x7f/evil.example", None),
        ("/\u200b/evil.example", None),  # zero-width space: invisible in the address bar
        ("/ /evil.example", None),
        ("https://evil.example/", None),
        ("http://x", None),
        ("javascript:alert(1)", None),
        ("/javascript:alert(1)", "/javascript:alert(1)"),  # a path on this server, harmless
    ],
)
def test_same_site_path(target, expected):
    assert same_site_path(target) == expected


@pytest.mark.parametrize(
    "raw_query",
    ["next=/%09/evil.example/phish", "next=/\\evil.example", "next=/%5Cevil.example", "next=/%5C/evil.example",
     "next=javascript:alert(1)", "next=http://x", "next=///x", "next=%2F%2Fevil.example", "next=/%0D%0A/evil.example",
     "next=/%E2%80%8B/evil.example"],
)
def test_sign_in_never_leads_off_this_server_however_next_is_encoded(client, ward, raw_query):
    response = client.post("/login?" + raw_query, data={"username": "sister", "password": STAFF_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/ward/7B"


def test_sign_in_still_leads_back_to_the_page_asked_for(client, ward):
    response = sign_in(client, next_url="/ward/7B/chart")
    assert response.headers["Location"] == "/ward/7B/chart"


# --------------------------------------------------------------------------- limits


def test_a_spraying_address_is_refused_but_never_another_address(app, ward, clock):
    attacker = app.test_client()
    for username in ["sister", "nurse", "admin", "matron", "sister"]:
        assert sign_in(attacker, username, WRONG, address="203.0.113.9").status_code == 401
        clock(1)
    refused = sign_in(attacker, "nurse", STAFF_PASSWORD, address="203.0.113.9")
    assert refused.status_code == 429
    assert "Too many failed sign-ins from this device. Wait 15 minutes" in refused.get_data(as_text=True)
    assert refused.headers["Retry-After"] == "895"
    clock(5)  # past the sister's own short slow-down (two failures for her name is well under five)
    assert sign_in(app.test_client(), "sister", address="10.1.1.1").status_code == 302


def test_a_hammered_username_is_slowed_down_never_locked_out(app, ward, clock):
    for i in range(30):  # a botnet: a fresh address for every guess, as fast as the slow-down allows
        response = sign_in(app.test_client(), "sister", WRONG, address=f"198.51.100.{i}")
        assert response.status_code == 401
        clock(5)
    assert sign_in(app.test_client(), "sister", WRONG, address="198.51.100.200").status_code == 401
    clock(2)
    on_ward = app.test_client()
    slowed = sign_in(on_ward, "sister", address="10.1.1.1")
    assert slowed.status_code == 429
    assert "Wait 3 seconds and try again" in slowed.get_data(as_text=True)
    assert sign_in(app.test_client(), "nurse", address="10.1.1.2").status_code == 302  # nobody else is slowed
    clock(3)
    assert sign_in(on_ward, "sister", address="10.1.1.1").status_code == 302
    assert sign_in(on_ward, "sister", WRONG, address="10.1.1.1").status_code == 401  # her count starts afresh
    assert sign_in(on_ward, "sister", address="10.1.1.1").status_code == 302


@pytest.fixture
def behind_proxy(tmp_path, staff_hash):
    """An app told that one proxy (nginx) sits in front."""
    app = create_app({"DATA_DIR": str(tmp_path / "proxied"), "TESTING": True, "WTF_CSRF_ENABLED": False, "TRUSTED_PROXIES": 1})
    ward_service(app).registry.add_ward("7B", "Ward 7B")
    ward_service(app).registry.add_staff("sister", "7B", "sister", staff_hash)
    yield app
    ward_service(app).close()


def spray_with_forged_headers(app, address, forwarded_for):
    """Five failures from `address`, each with a different client-written X-Forwarded-For; then one more."""
    client = app.test_client()
    for i in range(5):
        assert sign_in(client, f"user{i}", WRONG, address=address, headers={"X-Forwarded-For": forwarded_for(i)}).status_code == 401
    return sign_in(client, "user9", WRONG, address=address, headers={"X-Forwarded-For": forwarded_for(99)})


def test_with_no_trusted_proxy_a_forged_forwarded_for_changes_nothing(app, ward, clock):
    attacker = app.test_client()
    for i in range(5):
        forged = {"X-Forwarded-For": f"10.9.9.{i}"}
        assert sign_in(attacker, "sister", WRONG, address="203.0.113.9", headers=forged).status_code == 401
    assert sign_in(attacker, "nurse", STAFF_PASSWORD, address="203.0.113.9", headers={"X-Forwarded-For": "10.1.1.1"}).status_code == 429
    clock(2)  # the sister's name was slowed for two seconds; the attacker's address stays refused
    assert sign_in(app.test_client(), address="10.1.1.1", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 302


def test_behind_one_proxy_each_device_counts_by_the_address_the_proxy_saw(behind_proxy):
    # nginx appends the peer it saw; the attacker's own prefix changes with every try, and is ignored.
    refused = spray_with_forged_headers(behind_proxy, "127.0.0.1", lambda i: f"10.9.9.{i}, 203.0.113.9")
    assert refused.status_code == 429
    sister = sign_in(behind_proxy.test_client(), address="127.0.0.1", headers={"X-Forwarded-For": "10.1.1.1"})
    assert sister.status_code == 302


def test_behind_one_proxy_the_forwarded_scheme_and_host_are_believed(behind_proxy):
    response = behind_proxy.test_client().get(
        "/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "wardpulse.example.nhs.uk:8443"}
    )
    assert response.status_code == 200
    with behind_proxy.test_request_context(
        "/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example, wardpulse.example.nhs.uk:8443"}
    ):
        from flask import request

        behind_proxy.wsgi_app(request.environ, lambda *a: None)  # ProxyFix rewrites the environ in place
        assert request.environ["HTTP_HOST"] == "wardpulse.example.nhs.uk:8443"
        assert request.environ["wsgi.url_scheme"] == "https"


@pytest.mark.parametrize("value", ["two", -1, 1.5, True])
def test_a_mistyped_trusted_proxies_setting_is_refused_plainly(tmp_path, value):
    with pytest.raises(ValueError, match="whole number of proxy hops"):
        create_app({"DATA_DIR": str(tmp_path / "bad"), "TRUSTED_PROXIES": value})


def test_trusted_proxies_comes_from_the_environment_as_a_number(tmp_path, monkeypatch):
    monkeypatch.setenv("WARDPULSE_TRUSTED_PROXIES", "1")
    app = create_app({"DATA_DIR": str(tmp_path / "env")})
    ward_service(app).close()
    assert app.config["TRUSTED_PROXIES"] == 1
    assert type(app.wsgi_app).__name__ == "ProxyFix"


# --------------------------------------------------------------------------- sign-out


def signed_in_cookie(app, username="sister"):
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client, client.get_cookie("session").value


def with_cookie(app, cookie):
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def opens(client, path) -> bool:
    response = client.get(path)
    return response.status_code == 200 and b"/login" not in response.headers.get("Location", "").encode()


def test_a_cookie_copied_before_sign_out_opens_nothing_after(app, ward):
    phone, cookie = signed_in_cookie(app)
    copy = with_cookie(app, cookie)
    assert opens(copy, "/ward/7B") and opens(copy, ward["follow_up"])
    assert phone.post("/logout").status_code == 302
    for path in ["/ward/7B", ward["follow_up"], "/ward/7B/settings"]:
        response = copy.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    acted = copy.post(ward["follow_up"], data={"step": "acknowledge"})
    assert acted.status_code == 302 and "/login" in acted.headers["Location"]
    assert ward_service(app).alerts.alerts("7B")[0]["status"] == "open"


def test_sign_out_signs_out_every_device_and_a_new_sign_in_works(app, ward):
    phone, _ = signed_in_cookie(app)
    desk, _ = signed_in_cookie(app)
    phone.post("/logout")
    assert not opens(desk, "/ward/7B")
    again, _ = signed_in_cookie(app)
    assert opens(again, "/ward/7B")


def test_a_new_password_ends_every_session(app, ward, registry):
    _, cookie = signed_in_cookie(app)
    from server.web.auth import hash_password

    registry.set_password("sister", hash_password("a-brand-new-password"))
    assert not opens(with_cookie(app, cookie), "/ward/7B")
    assert sign_in(app.test_client()).status_code == 401
    assert sign_in(app.test_client(), password="a-brand-new-password").status_code == 302


def test_an_admin_signs_someone_out_everywhere_from_the_staff_page(app, ward):
    _, cookie = signed_in_cookie(app, "nurse")
    admin, _ = signed_in_cookie(app, "admin")
    page = admin.get("/admin").get_data(as_text=True)
    assert 'action="/admin/staff/nurse/sign-out"' in page and "Sign out everywhere" in page
    done = admin.post("/admin/staff/nurse/sign-out")
    assert done.status_code == 302
    assert "nurse is signed out on every device" in admin.get("/admin").get_data(as_text=True)
    assert not opens(with_cookie(app, cookie), "/ward/7B")
    assert admin.post("/admin/staff/nobody/sign-out").status_code == 404


def test_sign_out_closes_the_ward_screens_open_with_that_session(app, ward, socket_client):
    phone, cookie = signed_in_cookie(app)
    screen = socket_client(STAFF_NAMESPACE, auth={"ward": "7B"}, flask_client=with_cookie(app, cookie))
    _, other = signed_in_cookie(app, "nurse")
    colleague = socket_client(STAFF_NAMESPACE, auth={"ward": "7B"}, flask_client=with_cookie(app, other))
    assert screen.is_connected(STAFF_NAMESPACE) and colleague.is_connected(STAFF_NAMESPACE)
    phone.post("/logout")
    assert not screen.is_connected(STAFF_NAMESPACE)
    assert colleague.is_connected(STAFF_NAMESPACE)
    again = socket_client(STAFF_NAMESPACE, auth={"ward": "7B"}, flask_client=with_cookie(app, cookie))
    assert not again.is_connected(STAFF_NAMESPACE)


def test_a_ward_screen_whose_session_has_ended_cannot_act(app, ward, registry, socket_client):
    _, cookie = signed_in_cookie(app)
    screen = socket_client(STAFF_NAMESPACE, auth={"ward": "7B"}, flask_client=with_cookie(app, cookie))
    registry.end_sessions("sister")  # straight in the registry: the screen is still connected
    alert_id = ward_service(app).alerts.alerts("7B")[0]["id"]
    ack = screen.emit("acknowledge_alert", {"id": alert_id}, namespace=STAFF_NAMESPACE, callback=True)
    assert ack["ok"] is False and ack["error"] == "not_signed_in"
    assert ward_service(app).alerts.alerts("7B")[0]["status"] == "open"
