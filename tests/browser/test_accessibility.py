"""axe-core with its full rule set (every impact, minor to critical) on every page WardPulse shows."""

from __future__ import annotations

import pytest

from browser_helpers import PHONE, axe_violations, rate, require, sign_in, wait_for
from support import kiosk_socket

pytestmark = pytest.mark.browser
expect = require("playwright.sync_api", "browser tests").expect


def test_every_staff_page_and_the_own_phone_page_pass_axe(live_server, pages):
    found: list[str] = []
    kiosk = live_server.add_kiosk(label="Day room")
    tablet = kiosk_socket(live_server.url, kiosk["token"])
    try:
        rate(tablet, "very_poor", comment="Nobody came when I rang", follow_up={"location": "Bay 1"}, lang="pl")
        rate(tablet, "good", comment="Kind nurses")
    finally:
        tablet.disconnect()

    phone = pages.new(viewport=PHONE, phone=True)
    phone.goto(live_server.url + "/w/7B")
    expect(phone.get_by_role("heading", name="Overall, how was your experience of our service?")).to_be_visible()
    found += axe_violations(phone, "own-phone page")

    signed_out = pages.new()
    signed_out.goto(live_server.url + "/login")
    found += axe_violations(signed_out, "login page")

    username, password = live_server.add_staff(username="lead", role="admin")
    staff = pages.new()
    sign_in(staff, live_server.url, username, password, "7B")
    expect(staff.locator(".rating__comment").first).to_be_visible()
    follow_up = staff.locator("[data-kind='follow_up'] .alert-card__short-link")
    expect(follow_up).to_be_visible()
    found += axe_violations(staff, "ward screen")
    short_link = follow_up.inner_text()
    for name, path in [
        ("chart", "/ward/7B/chart"),
        ("settings page", "/ward/7B/settings"),
        ("admin page", "/admin"),
        ("kiosks page", "/admin/ward/7B/kiosks"),
        ("poster", "/ward/7B/poster"),
    ]:
        staff.goto(live_server.url + path)
        found += axe_violations(staff, name)
    staff.goto(short_link)
    wait_for(staff, "location.pathname.startsWith('/f/')")
    found += axe_violations(staff, "follow-up page")
    assert not found, "axe:\n" + "\n".join(found)
