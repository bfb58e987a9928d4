"""Security headers on every kind of response (server/headers.py), through Flask's test client."""

from __future__ import annotations

import pytest

from server.web.extensions import ward_service

EVERY_KIND = [
    "/login",  # a page
    "/kiosk/",  # the tablet page
    "/kiosk/sw.js",  # its service worker
    "/static/ward.css",  # a static file
    "/healthz",  # JSON
    "/ward/7B",  # a redirect to sign in
    "/no-such-page",  # an error page
]


@pytest.mark.parametrize("path", EVERY_KIND)
def test_every_response_carries_the_security_headers(client, path):
    with client.get(path) as response:  # closes a static file's handle
        headers = response.headers
    policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("base_url, hsts", [("http://localhost", False), ("https://localhost", True)])
def test_hsts_only_over_tls(client, base_url, hsts):
    headers = client.get("/login", base_url=base_url).headers
    assert ("Strict-Transport-Security" in headers) is hsts
    if hsts:
        assert headers["Strict-Transport-Security"] == "max-age=31536000"


def test_plain_http_is_not_redirected_and_cookie_flags_stay_the_apps(client, app):
    """nginx redirects to HTTPS; the server itself also answers on loopback without TLS (tests, demo)."""
    assert client.get("/login").status_code == 200
    assert app.config["SESSION_COOKIE_SECURE"] is False  # WARDPULSE_SESSION_COOKIE_SECURE decides
    assert (app.config["SESSION_COOKIE_HTTPONLY"], app.config["SESSION_COOKIE_SAMESITE"]) == (True, "Lax")


def test_a_form_posted_over_https_without_a_referer_is_accepted(tmp_path):
    """Browsers send no Referer under no-referrer, so Flask-WTF's HTTPS Referer check must be off."""
    from server.web.app import create_app

    from support import csrf_token_in

    app = create_app({"DATA_DIR": str(tmp_path / "data"), "TESTING": True})
    try:
        client = app.test_client()
        form = client.get("/login", base_url="https://ward.example").get_data(as_text=True)
        answer = client.post("/login", base_url="https://ward.example",
                             data={"csrf_token": csrf_token_in(form), "username": "nobody", "password": "wrong"})
        assert answer.status_code == 401  # the password was checked: the form itself was accepted
    finally:
        ward_service(app).close()
