"""The staff pages around the ward screen: kiosk enrollment by QR, settings, header navigation and
the bedside poster, in real Chromium against a real ward server."""

from __future__ import annotations

import re

import pytest

from browser_helpers import (
    PHONE,
    answer,
    assert_no_serious_axe_violations,
    decode_qr,
    require,
    sign_in,
    wait_online,
    with_short_timers,
)

pytestmark = pytest.mark.browser
expect = require("playwright.sync_api", "browser tests").expect

QUESTION = "Overall, how was your experience of our service?"
PAGES = {"Ward screen": "/ward/7B", "Poster": "/ward/7B/poster", "You said, we did": "/ward/7B/you-said-we-did",
         "Settings": "/ward/7B/settings", "Overview": "/overview", "Admin": "/admin"}


def test_new_kiosk_is_enrolled_by_scanning_its_qr_code_once(live_server, pages):
    username, password = live_server.add_staff(username="lead", role="admin")
    admin = pages.new()
    sign_in(admin, live_server.url, username, password, "7B")
    ward_screen = admin.context.new_page()
    ward_screen.goto(live_server.url + "/ward/7B")
    wait_online(ward_screen)

    admin.goto(live_server.url + "/admin/ward/7B/kiosks")
    expect(admin.get_by_role("heading", name="Kiosks on Ward 7B")).to_be_visible()
    assert_no_serious_axe_violations(admin, "admin kiosks page")
    admin.get_by_label("Where the tablet stands").fill("Bay 4")
    admin.get_by_role("button", name="Add kiosk").click()

    qr = admin.get_by_role("img", name="Enrollment QR code")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] >= 200
    link = decode_qr(qr)
    assert link == admin.locator("[data-enroll-url]").get_attribute("data-enroll-url")
    assert re.fullmatch(re.escape(live_server.url) + r"/kiosk/enroll/\S+", link), link
    expect(admin.get_by_role("row").filter(has_text="Bay 4")).to_contain_text("Offline")
    assert_no_serious_axe_violations(admin, "admin kiosks page with an enrollment QR code")

    tablet = pages.new(touch=True)
    with_short_timers(tablet, idle_seconds=30)
    tablet.goto(link)
    expect(tablet.get_by_role("heading", name=QUESTION)).to_be_visible()
    wait_online(tablet)
    assert "enroll" not in tablet.url
    answer(tablet, "Good")
    row = ward_screen.locator("[data-rating-id]")
    expect(row).to_have_count(1, timeout=5_000)
    expect(row).to_contain_text("From Bay 4")

    admin.goto(live_server.url + "/admin/ward/7B/kiosks")  # not reload(): that would post the form again
    expect(admin.get_by_role("row").filter(has_text="Bay 4")).to_contain_text("Online")

    # The code is spent: a second tablet scanning the same QR gets a plain explanation.
    second = pages.new(touch=True)
    response = second.goto(link)
    assert response.status == 410
    expect(second.get_by_role("heading", name="This QR code cannot be used")).to_be_visible()
    expect(second.get_by_text("already been used")).to_be_visible()
    expect(second.get_by_role("button", name="Good", exact=True)).to_have_count(0)


def test_settings_page_saves_and_says_so(live_server, pages):
    username, password = live_server.add_staff()  # a sister
    page = pages.new(viewport=PHONE, phone=True)
    sign_in(page, live_server.url, username, password, "7B")
    page.goto(live_server.url + "/ward/7B/settings")
    expect(page.get_by_role("heading", name="Settings for Ward 7B")).to_be_visible()
    assert_no_serious_axe_violations(page, "settings page")

    page.get_by_label("Expected ratings a day").fill("12")
    page.get_by_role("button", name="Save settings").click()

    expect(page.get_by_role("status")).to_have_text("Settings saved.")
    expect(page.get_by_label("Expected ratings a day")).to_have_value("12.0")
    assert_no_serious_axe_violations(page, "settings page after saving")

    # How the trend alert sees the ward, and the audit trail of its p0 and h.
    expect(page.get_by_role("heading", name="How the trend alert sees this ward")).to_be_visible()
    expect(page.locator("[data-figure=p0]")).to_have_text("8.0%")  # a new ward: the trust's 8 %
    expect(page.locator("[data-figure=per_day]")).to_have_text("11.9")  # the volume the sister set
    expect(page.locator("[data-figure=false_alerts]")).not_to_be_empty()
    expect(page.locator(".trend-baseline__changes tbody tr").first).to_contain_text("settings")


@pytest.mark.parametrize(
    "role, links",
    [
        ("staff", ["Ward screen", "Poster", "You said, we did"]),
        ("sister", ["Ward screen", "Poster", "You said, we did", "Settings"]),
        ("matron", ["Ward screen", "Poster", "You said, we did", "Settings", "Overview"]),
        ("admin", ["Ward screen", "Poster", "You said, we did", "Settings", "Overview", "Admin"]),
    ],
)
def test_header_navigation_offers_what_the_role_may_open(live_server, pages, role, links):
    username, password = live_server.add_staff(username=f"a-{role}", role=role)
    page = pages.new()
    sign_in(page, live_server.url, username, password, "7B")

    nav = page.get_by_role("navigation", name="Staff pages")
    expect(nav.get_by_role("link")).to_have_text(links)
    expect(nav.get_by_role("link", name="Ward screen")).to_have_attribute("aria-current", "page")
    hrefs = {name: nav.get_by_role("link", name=name).get_attribute("href") for name in links}
    assert hrefs == {k: v for k, v in PAGES.items() if k in links}
    for name in sorted(links, key=lambda name: name == "Settings"):  # Settings last: /admin has no ward links
        response = page.goto(live_server.url + hrefs[name])
        assert response.ok, (name, response.status)
    if "Settings" in links:
        expect(nav.get_by_role("link", name="Settings")).to_have_attribute("aria-current", "page")


def test_wall_display_has_no_staff_navigation(live_server, page):
    display = live_server.add_display()
    page.goto(display["url"])
    wait_online(page)
    expect(page.get_by_role("navigation")).to_have_count(0)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_bedside_poster_prints_as_one_a4_card(live_server, pages):
    username, password = live_server.add_staff()
    page = pages.new()
    sign_in(page, live_server.url, username, password, "7B")
    page.goto(live_server.url + "/ward/7B/poster")
    expect(page.get_by_role("heading", name="Tell us how we did")).to_be_visible()
    expect(page.get_by_text(QUESTION)).to_be_visible()
    link = decode_qr(page.get_by_role("img", name="QR code to give feedback"))
    assert link == live_server.url + "/w/7B"

    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("button", name="Print this card")).to_be_hidden()
    expect(page.get_by_role("img", name="QR code to give feedback")).to_be_visible()
    pdf = page.pdf(prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1, "the poster must fit on one A4 page"


def test_staff_pages_fit_a_phone_without_sideways_scrolling(live_server, pages):
    live_server.add_kiosk(label="A very long label for the tablet in the day room")
    username, password = live_server.add_staff(username="lead", role="admin")
    phone = pages.new(viewport=PHONE, phone=True)
    sign_in(phone, live_server.url, username, password, "7B")
    for path in ("/ward/7B", "/ward/7B/chart", "/ward/7B/poster", "/ward/7B/settings", "/admin", "/admin/ward/7B/kiosks"):
        phone.goto(live_server.url + path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide on a {PHONE['width']}px phone"
