"""The nurses'-station screen in real Chromium, fed by a real tablet page through a real server."""

from __future__ import annotations

import pytest

from browser_helpers import (
    PHONE,
    TABLET_PORTRAIT,
    answer,
    assert_no_serious_axe_violations,
    enroll,
    require,
    sign_in,
    wait_online,
    with_short_timers,
)

pytestmark = pytest.mark.browser
expect = require("playwright.sync_api", "browser tests").expect

HOSTILE = '<script>alert(1)</script><img src=x onerror="document.body.dataset.pwned=1">'
HOSTILE_PLACE = "<img src=x onerror=alert(2)>"


def stat(page, name):
    return page.locator(f'[data-stat="{name}"]')


def count(page, code):
    return page.locator(f'[data-count="{code}"]')


def test_tap_on_the_tablet_shows_on_the_ward_screen_with_todays_numbers(live_server, pages):
    kiosk = live_server.add_kiosk(label="Day room")
    username, password = live_server.add_staff()
    ward = pages.new()
    sign_in(ward, live_server.url, username, password, "7B")
    expect(ward.get_by_role("heading", name="Ward 7B")).to_be_visible()
    expect(ward.get_by_role("status").filter(has_text="Live")).to_be_visible()
    expect(stat(ward, "total")).to_have_text("0")
    expect(stat(ward, "positive_pct")).to_have_text("—")
    expect(stat(ward, "negative_pct")).to_have_text("—")

    tablet = pages.new(touch=True)
    with_short_timers(tablet, idle_seconds=30, thank_you_seconds=1)
    enroll(tablet, kiosk)
    answer(tablet, "Very good", comment="Lovely staff")

    row = ward.locator("[data-rating-id]")
    expect(row).to_have_count(1, timeout=5_000)
    expect(row).to_contain_text("Very good")
    expect(row).to_contain_text("Lovely staff")
    expect(row).to_contain_text("Day room")
    expect(count(ward, "very_good")).to_have_text("1")
    expect(count(ward, "poor")).to_have_text("0")
    expect(stat(ward, "total")).to_have_text("1")
    expect(stat(ward, "positive_pct")).to_have_text("100%")
    expect(stat(ward, "negative_pct")).to_have_text("0%")

    answer(tablet, "Poor")
    expect(row).to_have_count(2, timeout=5_000)
    expect(row.first).to_contain_text("Poor")  # newest first
    expect(stat(ward, "total")).to_have_text("2")
    expect(stat(ward, "positive_pct")).to_have_text("50%")
    expect(stat(ward, "negative_pct")).to_have_text("50%")

    stored = {r["id"] for r in live_server.export()}
    assert set(row.evaluate_all("rows => rows.map(r => r.dataset.ratingId)")) == stored


def test_comment_markup_is_shown_as_plain_text(live_server, pages):
    kiosk = live_server.add_kiosk()
    username, password = live_server.add_staff()
    ward = pages.new()
    dialogs = []
    ward.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(ward, live_server.url, username, password, "7B")

    tablet = pages.new(touch=True)
    enroll(tablet, kiosk)
    answer(tablet, "Neither good nor poor", comment=HOSTILE, follow_up=HOSTILE_PLACE)

    comment = ward.locator("[data-rating-id] .rating__comment")
    expect(comment).to_have_text(HOSTILE, timeout=5_000)
    card = ward.locator("[data-alert-id]")
    expect(card).to_contain_text(HOSTILE_PLACE)
    expect(card).to_contain_text(HOSTILE)
    # Once more from the snapshot a reconnecting screen gets.
    ward.reload()
    wait_online(ward)
    expect(comment).to_have_text(HOSTILE)
    expect(card).to_contain_text(HOSTILE_PLACE)

    assert ward.locator("#feed img, #feed script, #alerts script").count() == 0
    assert ward.locator("#alerts img").count() == 1  # the QR code, nothing else
    assert ward.evaluate("document.body.dataset.pwned") is None
    assert dialogs == []


def test_wall_display_does_not_show_what_patients_wrote(live_server, pages):
    kiosk = live_server.add_kiosk()
    display = live_server.add_display()
    wall = pages.new()
    wall.goto(display["url"])
    wait_online(wall)

    tablet = pages.new(touch=True)
    enroll(tablet, kiosk)
    answer(tablet, "Poor", comment="Bed 4 was not cleaned", follow_up="Bay 2")

    row = wall.locator("[data-rating-id]")
    expect(row).to_contain_text("shown to signed-in staff only", timeout=5_000)
    expect(row).not_to_contain_text("Bed 4 was not cleaned")
    card = wall.locator("[data-alert-id]")
    expect(card).to_contain_text("Patient asks to talk to someone")
    expect(card.locator(".alert-card__facts")).to_have_count(0)
    expect(card.get_by_role("button")).to_have_count(0)  # read-only: nothing to press


def test_ward_screen_shows_reconnecting_when_the_server_goes_away(live_server, page):
    display = live_server.add_display()
    page.goto(display["url"])
    wait_online(page)

    live_server.stop()
    expect(page.get_by_role("status").filter(has_text="Reconnecting")).to_be_visible()
    assert page.evaluate("document.body.dataset.connection") == "offline"

    live_server.start()
    wait_online(page, timeout=15_000)
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()


def test_wrong_password_shows_a_problem_on_the_sign_in_page(live_server, page):
    live_server.add_staff()
    page.goto(live_server.url + "/login")
    page.get_by_label("Username").fill("sister")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    assert_no_serious_axe_violations(page, "sign-in page with an error")


@pytest.mark.parametrize("viewport", [None, PHONE, TABLET_PORTRAIT], ids=["wall", "phone", "portrait"])
def test_staff_pages_have_no_serious_accessibility_violations(live_server, pages, viewport):
    kiosk = live_server.add_kiosk(label="Bay 2")
    username, password = live_server.add_staff()
    ward = pages.new(viewport=viewport)
    ward.goto(live_server.url + "/login")
    assert_no_serious_axe_violations(ward, "sign-in page")

    sign_in(ward, live_server.url, username, password, "7B")
    tablet = pages.new(touch=True)
    with_short_timers(tablet, idle_seconds=30, thank_you_seconds=1)
    enroll(tablet, kiosk)
    answer(tablet, "Very poor", comment="Nobody came when I rang the bell.")
    answer(tablet, "Good")
    expect(ward.locator("[data-rating-id]")).to_have_count(2, timeout=5_000)
    assert_no_serious_axe_violations(ward, "ward screen")
