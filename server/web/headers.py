"""Security headers on every page, stylesheet, script and image the ward server answers (flask-talisman).

Every script is a local file and every page's configuration sits in a `<script type="application/json">`
block, which the browser never runs, so scripts need no 'unsafe-inline' or 'unsafe-eval'. The pages
carry no inline styles either: scripts set sizes through `element.style`, which CSP allows.
"""

from __future__ import annotations

from flask import Flask
from flask_talisman import Talisman

SELF = "'self'"

# connect-src 'self' covers the page's own ws:// and wss:// origin too (CSP level 3, as Chromium does).
CONTENT_SECURITY_POLICY = {
    "default-src": SELF,
    "script-src": SELF,
    "style-src": SELF,
    "img-src": SELF,  # QR codes are inline <svg> or /f/<token>/qr.svg
    "connect-src": SELF,
    "worker-src": SELF,  # the kiosk's offline service worker
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": SELF,
    # The staff pages acknowledge and resolve alerts with one click: no other site may frame them.
    "frame-ancestors": "'none'",
}

ONE_YEAR = 365 * 24 * 3600


def init_app(app: Flask) -> None:
    """Send the security headers on every response of `app`."""
    # One Talisman per app: it keeps the app it serves, and tests build many apps.
    Talisman(
        app,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",  # for browsers older than frame-ancestors
        referrer_policy="no-referrer",  # links carry display and follow-up tokens
        # nginx redirects plain HTTP; the server itself also runs on loopback without TLS (tests, demo).
        force_https=False,
        # HSTS is sent only on requests that arrived over TLS (browsers ignore it over plain HTTP anyway).
        strict_transport_security=True,
        strict_transport_security_max_age=ONE_YEAR,
        strict_transport_security_include_subdomains=False,
        # Cookie flags stay the app's own settings (WARDPULSE_SESSION_COOKIE_SECURE behind TLS).
        session_cookie_secure=False,
        session_cookie_http_only=app.config["SESSION_COOKIE_HTTPONLY"],
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
    )
