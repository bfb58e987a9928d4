"""Every page under its Content-Security-Policy, in real Chromium against a real ward server: each one
works as a person uses it, with no CSP violation and no console error, and carries the security headers."""

from __future__ import annotations

import re

import pytest

from browser_helpers import (
    PHONE,
    answer,
    enroll,
    fill_sign_in,
    rate,
    require,
    sign_in,
    wait_for,
    wait_online,
    with_short_timers,
)
from support import kiosk_socket

pytestmark = pytest.mark.browser
expect = require("playwright.sync_api", "browser tests").expect

# Reported on the console too, in case a violation happens where no console message is printed.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", event => {
  console.error(`CSP violation: ${event.violatedDirective} refused ${event.blockedURI || "inline code"}`
                + ` in ${event.sourceFile || event.documentURI}:${event.lineNumber}`);
});
"""


class Watched:
    """Pages whose console errors and CSP violations are collected; error pages may report their own status."""

    def __init__(self, pages):
        self.pages = pages
        self.problems: list[str] = []
        self.expected_status: set[str] = set()  # URLs opened on purpose that answer 4xx

    def watch(self, page):
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", lambda message: self._console(page, message))
        return page

    def new(self, **options):
        return self.watch(self.pages.new(**options))

    def _console(self, page, message):
        if message.type != "error":
            return
        if message.text.startswith("Failed to load resource") and message.location.get("url") in self.expected_status:
            return  # Chromium reports an error page's own status; the page itself must still be clean
        self.problems.append(f"{page.url}: {message.text}")

    def open(self, page, url: str, status: int = 200):
        """Go to `url`; check its status and security headers."""
        if status >= 400:
            self.expected_status.add(url)
        response = page.goto(url)
        assert response.status == status, (url, response.status)
        assert_security_headers(response.headers, url)
        return response


def assert_security_headers(headers: dict, where: str) -> None:
    policy = headers.get("content-security-policy", "")
    for directive in ("script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"):
        assert directive in policy, (where, policy)
    assert "unsafe-" not in policy, (where, policy)
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") == "no-referrer", where
    assert "strict-transport-security" not in headers, where  # plain HTTP on loopback: never HSTS


@pytest.fixture
def watched(pages):
    opened = Watched(pages)
    yield opened
    assert not opened.problems, "console errors or CSP violations:\n" + "\n".join(opened.problems)


def test_patient_pages_run_under_their_policy(live_server, watched):
    kiosk = live_server.add_kiosk(label="Day room")
    unenrolled = watched.new(touch=True)
    watched.open(unenrolled, live_server.url + "/kiosk/")
    expect(unenrolled.get_by_role("heading", name="This tablet is not enrolled yet.")).to_be_visible()

    tablet = watched.new(touch=True)
    with_short_timers(tablet, idle_seconds=30)
    enroll(tablet, kiosk)  # the websocket connects (connect-src)
    assert_security_headers(tablet.evaluate("fetch(location.href).then(r => Object.fromEntries(r.headers))"), "kiosk page")
    answer(tablet, "Good", comment="Lovely staff")
    # The offline copy still works: the service worker is allowed (worker-src) and takes control.
    wait_for(tablet, "navigator.serviceWorker.getRegistration('/kiosk/').then(r => !!(r && r.active))")
    tablet.reload()
    wait_online(tablet)
    assert tablet.evaluate("!!navigator.serviceWorker.controller")

    phone = watched.new(viewport=PHONE, phone=True)
    with_short_timers(phone, idle_seconds=30)
    watched.open(phone, live_server.url + "/w/7B")
    wait_online(phone)
    answer(phone, "Very good", follow_up="Bay 2")
    assert {r["score"] for r in live_server.export()} == {"good", "very_good"}


def test_staff_pages_run_under_their_policy(live_server, watched):
    username, password = live_server.add_staff(username="lead", role="admin")
    kiosk = live_server.add_kiosk()
    screen = watched.new()
    watched.open(screen, live_server.url + "/login")
    expect(screen.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in(screen, live_server.url, username, password, "7B")
    tablet = kiosk_socket(live_server.url, kiosk["token"])
    try:
        rate(tablet, "very_poor", comment="Nobody came", follow_up={"location": "Bay 1"})
    finally:
        tablet.disconnect()
    qr = screen.get_by_role("img", name="QR code: scan to follow up on your phone")  # img-src
    expect(qr).to_have_js_property("complete", True, timeout=5_000)
    assert qr.evaluate("img => img.naturalWidth") > 0
    follow_up = live_server.url + qr.get_attribute("src").removesuffix("/qr.svg")

    staff_pages = watched.watch(screen.context.new_page())
    for path, heading in [
        ("/ward/7B", "Ward 7B"),
        ("/ward/7B/chart", re.compile("poor or very poor, day by day")),
        ("/ward/7B/settings", "Settings for Ward 7B"),
        ("/admin", "Wards"),
        ("/admin/ward/7B/kiosks", "Kiosks on Ward 7B"),
        ("/ward/7B/poster", "Tell us how we did"),
    ]:
        watched.open(staff_pages, live_server.url + path)
        expect(staff_pages.get_by_role("heading", name=heading, exact=isinstance(heading, str))).to_be_visible()

    # The poster's print button is a script file now, not inline: it must still print.
    staff_pages.evaluate("window.print = () => { window.printed = true; }")
    staff_pages.get_by_role("button", name="Print this card").click()
    assert staff_pages.evaluate("window.printed === true")

    # An enrollment QR code is inline SVG on the kiosks page.
    watched.open(staff_pages, live_server.url + "/admin/ward/7B/kiosks")
    staff_pages.get_by_label("Where the tablet stands").fill("Bay 4")
    staff_pages.get_by_role("button", name="Add kiosk").click()
    expect(staff_pages.get_by_role("img", name="Enrollment QR code")).to_be_visible()

    phone = watched.new(viewport=PHONE, phone=True)
    watched.open(phone, follow_up)  # sends the phone to sign in first
    fill_sign_in(phone, username, password)
    expect(phone).to_have_url(follow_up)
    phone.get_by_label("What was done").fill("Sat with her and explained the plan.")
    phone.get_by_role("button", name="Mark as resolved").click()
    expect(phone.locator(".followup__status")).to_have_text("Resolved")
    expect(screen.locator("[data-alert-id]")).to_have_count(0, timeout=5_000)


def test_wall_display_runs_under_its_policy(live_server, watched):
    display = live_server.add_display()
    wall = watched.new()
    watched.open(wall, display["url"])
    wait_online(wall)
    expect(wall.get_by_role("heading", name="Ward 7B")).to_be_visible()


def test_error_pages_run_under_their_policy(live_server, watched):
    live_server.add_staff(username="nurse", role="staff")
    page = watched.new()
    watched.open(page, live_server.url + "/no-such-page", status=404)
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    watched.open(page, live_server.url + "/kiosk/enroll/not-a-code", status=410)
    expect(page.get_by_role("heading", name="This QR code cannot be used")).to_be_visible()

    # A nurse opening the sister's settings page.
    sign_in(page, live_server.url, "nurse", "correct-horse-battery", "7B")
    watched.open(page, live_server.url + "/ward/7B/settings", status=403)
    expect(page.get_by_role("heading", name="You cannot open this page")).to_be_visible()

    # A form whose session has gone (CSRF): a plain explanation.
    other = watched.new()
    watched.open(other, live_server.url + "/login")
    other.context.clear_cookies()
    watched.expected_status.add(live_server.url + "/login")
    fill_sign_in(other, "nurse", "correct-horse-battery")
    expect(other.get_by_role("heading", name="Please try again")).to_be_visible()
