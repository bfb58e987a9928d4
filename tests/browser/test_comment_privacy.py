"""What a patient is told about names and numbers, and what staff then see, in real Chromium."""

from __future__ import annotations

import pytest

from server.ward.redact import EMAIL, NHS_NUMBER, PHONE_NUMBER

from browser_helpers import PHONE, enroll, require, sign_in, wait_online, with_short_timers

pytestmark = pytest.mark.browser
expect = require("playwright.sync_api", "browser tests").expect

ADVICE = "Please do not write names, phone numbers or NHS numbers."


def test_tablet_asks_for_no_names_or_numbers_and_staff_see_them_masked(live_server, pages, tmp_path):
    username, password = live_server.add_staff()
    ward = pages.new()
    sign_in(ward, live_server.url, username, password, "7B")
    tablet = pages.new(touch=True)
    with_short_timers(tablet, idle_seconds=30)
    enroll(tablet, live_server.add_kiosk())

    tablet.get_by_role("button", name="Poor", exact=True).click()
    box = tablet.get_by_role("textbox", name="What was good? What could we do better?")
    expect(box).to_have_accessible_description(f"You do not have to write anything. {ADVICE}")
    tablet.screenshot(path=tmp_path / "comment-screen.png")
    box.fill("I am scared, my NHS number is 943 476 5919, ring 07700 900123")
    tablet.get_by_role("button", name="Send", exact=True).click()
    tablet.get_by_role("button", name="No", exact=True).click()

    masked = f"I am scared, my NHS number is {NHS_NUMBER}, ring {PHONE_NUMBER}"
    expect(ward.locator("[data-rating-id] .rating__comment")).to_have_text(masked, timeout=5_000)
    expect(ward.locator("[data-alert-id]")).to_contain_text(masked)  # "scared" still raised the alert
    ward.screenshot(path=tmp_path / "ward-screen.png", full_page=True)
    assert [r["comment"] for r in live_server.export()] == [masked]


def test_own_phone_asks_for_no_names_or_numbers(live_server, pages):
    phone = pages.new(viewport=PHONE, phone=True)
    with_short_timers(phone, idle_seconds=30)
    phone.goto(live_server.url + "/w/7B")
    wait_online(phone)
    phone.get_by_role("button", name="Good", exact=True).click()
    expect(phone.get_by_text(ADVICE)).to_be_visible()
    phone.get_by_role("textbox").fill("Thanks, email me at jo@example.com")
    phone.get_by_role("button", name="Send", exact=True).click()
    phone.get_by_role("button", name="No", exact=True).click()
    phone.get_by_role("heading", name="Thank you for your feedback").wait_for()
    expect(phone.locator("body")).to_have_attribute("data-waiting", "0")
    assert [r["comment"] for r in live_server.export()] == [f"Thanks, email me at {EMAIL}"]
