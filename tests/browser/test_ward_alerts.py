"""Alerts on the nurses'-station screen, their QR codes and the follow-up page on a staff phone,
in real Chromium against a real ward server."""

from __future__ import annotations

import re

import pytest

from browser_helpers import (
    PHONE,
    answer,
    assert_no_serious_axe_violations,
    decode_qr,
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

TALK_TO_SOMEONE = "Patient asks to talk to someone"


def test_alert_is_acknowledged_and_resolved_on_the_ward_screen_and_a_wall_display_follows(live_server, pages):
    kiosk = live_server.add_kiosk(label="Day room")
    username, password = live_server.add_staff()
    display = live_server.add_display()
    ward = pages.new()
    sign_in(ward, live_server.url, username, password, "7B")
    wall = pages.new()
    wall.goto(display["url"])
    wait_online(wall)
    expect(ward.get_by_text("No open alerts")).to_be_visible()
    title = ward.title()

    tablet = kiosk_socket(live_server.url, kiosk["token"])
    try:
        rate(tablet, "poor", comment="Nobody came when I rang", follow_up={"location": "Bay 3, bed 12"})
    finally:
        tablet.disconnect()

    card, wall_card = ward.locator("[data-alert-id]"), wall.locator("[data-alert-id]")
    expect(card).to_have_count(1, timeout=5_000)
    expect(wall_card).to_have_count(1, timeout=5_000)
    expect(card).to_contain_text(TALK_TO_SOMEONE)
    expect(card).to_contain_text("A patient would like a member of staff to come and talk to them")
    expect(card).to_contain_text("Bay 3, bed 12")
    expect(card).to_contain_text("Nobody came when I rang")
    expect(card).to_contain_text(re.compile(r"Raised now \(\d\d:\d\d\)"))
    expect(card.locator(".alert-card__status")).to_have_text("Open")
    # The cue: the alerts area flashes and the tab title counts the alerts nobody has taken yet.
    expect(ward.locator("#alerts-area")).to_have_class(re.compile(r"\bis-flashing\b"))
    expect(ward).to_have_title("(1) " + title)
    expect(wall_card.get_by_role("button")).to_have_count(0)  # a wall display is read-only
    assert_no_serious_axe_violations(ward, "ward screen with an alert card")

    card.get_by_role("button", name="I'm on it").click()
    for screen in (card, wall_card):
        expect(screen.locator(".alert-card__status")).to_have_text("Acknowledged")
        expect(screen).to_contain_text(f"{username} is on it")
    expect(card.get_by_role("button", name="I'm on it")).to_be_hidden()
    expect(ward).to_have_title(title)

    card.get_by_role("button", name="Resolve", exact=True).click()
    form = card.locator("form")
    expect(form.get_by_label("What was done")).to_be_focused()
    assert_no_serious_axe_violations(ward, "ward screen with the resolve form open")
    form.get_by_role("button", name="Resolve alert").click()
    expect(card.get_by_role("alert")).to_have_text("Say what was done before resolving the alert.")
    form.get_by_label("What was done").fill("Went to see her; the call bell was fixed.")
    form.get_by_label('"You said, we did" for patients (optional)').fill("You said call bells went unanswered; we now check them every shift.")
    form.get_by_role("button", name="Resolve alert").click()

    expect(card).to_have_count(0, timeout=5_000)
    expect(wall_card).to_have_count(0, timeout=5_000)
    expect(ward.get_by_text("No open alerts")).to_be_visible()
    expect(wall.get_by_text("No open alerts")).to_be_visible()


def test_trend_gauge_fills_up_and_waits_for_acknowledgement(live_server, pages):
    live_server.known_ward()
    kiosk = live_server.add_kiosk()
    username, password = live_server.add_staff()
    ward = pages.new()
    sign_in(ward, live_server.url, username, password, "7B")
    gauge = ward.get_by_role("region", name="How close to a trend alert")
    expect(gauge).to_contain_text("0% of the way to an alert")
    expect(gauge).to_contain_text(re.compile(r"Usually 1 in \d+ ratings is poor or very poor\."))

    tablet = kiosk_socket(live_server.url, kiosk["token"])
    try:
        # Minutes apart by tap time, so none of them looks like a child tapping on and on.
        rate(tablet, "very_poor", minutes_ago=30)
        expect(gauge).to_contain_text(re.compile(r"\b([1-9]\d?)% of the way to an alert"), timeout=5_000)
        for minutes_ago in (28, 26, 24, 22, 20):
            rate(tablet, "very_poor", minutes_ago=minutes_ago)
            if ward.locator('[data-kind="trend"]').count():
                break
    finally:
        tablet.disconnect()

    trend = ward.locator('[data-kind="trend"]')
    expect(trend).to_have_count(1, timeout=5_000)
    expect(trend).to_contain_text("Negative trend")
    expect(trend).to_contain_text(re.compile(r"\d+ of the last \d+ ratings were poor or very poor"))
    expect(gauge).to_contain_text("Alert raised — waiting for acknowledgement")

    trend.get_by_role("button", name="I'm on it").click()
    # Acknowledged: the detector watches again from half-way (README, "Alerts").
    expect(gauge).to_contain_text("50% of the way to an alert")


def test_qr_code_on_the_ward_screen_takes_a_staff_phone_to_the_alert(live_server, pages):
    kiosk = live_server.add_kiosk()
    username, password = live_server.add_staff(role="staff", username="nurse")
    ward = pages.new()
    sign_in(ward, live_server.url, username, password, "7B")
    tablet = kiosk_socket(live_server.url, kiosk["token"])
    try:
        rate(tablet, "very_poor", comment="My pain is not controlled", follow_up={"location": "Bay 1"})
    finally:
        tablet.disconnect()

    card = ward.locator("[data-kind='follow_up']")
    qr = card.get_by_role("img", name="QR code: scan to follow up on your phone")
    expect(qr).to_be_visible(timeout=5_000)
    expect(qr).to_have_js_property("complete", True)
    box = qr.bounding_box()
    assert box["width"] >= 160 and box["height"] >= 160, box  # scannable at arm's length
    link = decode_qr(qr)
    assert re.fullmatch(re.escape(live_server.url) + r"/f/[A-Za-z0-9_-]{20,}", link), link
    assert qr.get_attribute("src") == link.removeprefix(live_server.url) + "/qr.svg"
    expect(card.locator(".alert-card__short-link")).to_have_text(re.compile(re.escape(live_server.url) + r"/a/[A-Z0-9]{6}"))

    phone = pages.new(viewport=PHONE, phone=True)
    phone.goto(link)
    expect(phone).to_have_url(re.compile(r"/login\?next="))  # the QR code is a locator, not a key
    fill_sign_in(phone, username, password)
    expect(phone).to_have_url(link)
    expect(phone.get_by_role("heading", level=1)).to_contain_text(
        "A patient would like a member of staff to come and talk to them"
    )
    expect(phone.locator(".followup__facts")).to_contain_text("Bay 1")
    expect(phone.get_by_text("My pain is not controlled")).to_be_visible()
    assert_no_serious_axe_violations(phone, "follow-up page on a phone")
    button = phone.get_by_role("button", name="Mark as resolved")
    assert button.bounding_box()["height"] >= 44  # a thumb-sized target

    phone.get_by_label("What was done").fill("Spoke to him; pain relief reviewed with the doctor.")
    button.click()

    expect(phone.locator(".followup__status")).to_have_text("Resolved")
    expect(phone.get_by_text("Spoke to him; pain relief reviewed with the doctor.")).to_be_visible()
    # The ward screen hears about it at once.
    expect(ward.locator("[data-alert-id]")).to_have_count(0, timeout=5_000)
    expect(ward.get_by_text("No open alerts")).to_be_visible()


def test_yes_on_the_kiosk_follow_up_question_alerts_the_ward_screen_at_once(live_server, pages):
    kiosk = live_server.add_kiosk(label="Day room")
    username, password = live_server.add_staff()
    ward = pages.new()
    sign_in(ward, live_server.url, username, password, "7B")

    tablet = pages.new(touch=True)
    with_short_timers(tablet, idle_seconds=30)
    enroll(tablet, kiosk)
    answer(tablet, "Poor", follow_up="Bay 4, bed 2")
    expect(tablet.get_by_text("We will ask a member of staff to come and talk to you.")).to_be_visible()

    card = ward.locator("[data-alert-id]")
    expect(card).to_have_count(1, timeout=3_000)
    expect(card).to_contain_text(TALK_TO_SOMEONE)
    expect(card.locator(".alert-card__facts")).to_contain_text("Bay 4, bed 2")
    [stored] = live_server.export()
    assert (stored["score"], stored["follow_up"]) == ("poor", {"location": "Bay 4, bed 2"})

    answer(tablet, "Good")  # No: no alert
    expect(ward.locator("[data-rating-id]")).to_have_count(2, timeout=5_000)
    expect(card).to_have_count(1)


def test_sound_is_off_until_turned_on_then_chimes_for_each_new_alert(live_server, pages):
    kiosk = live_server.add_kiosk()
    display = live_server.add_display()
    wall = pages.new()
    # Count the notes the page plays (the real Web Audio API, only observed).
    wall.add_init_script(
        """window.__notes = 0;
        const original = AudioContext.prototype.createOscillator;
        AudioContext.prototype.createOscillator = function () { window.__notes += 1; return original.call(this); };"""
    )
    wall.goto(display["url"])
    wait_online(wall)
    sound = wall.get_by_role("button", name="Sound on")
    expect(sound).to_have_attribute("aria-pressed", "false")

    tablet = kiosk_socket(live_server.url, kiosk["token"])
    try:
        rate(tablet, "good", follow_up={})
        expect(wall.locator("[data-alert-id]")).to_have_count(1, timeout=5_000)
        assert wall.evaluate("window.__notes") == 0  # silent until someone turns it on

        sound.click()
        expect(sound).to_have_attribute("aria-pressed", "true")
        wait_for(wall, "window.__notes > 0")  # a sample chime, so they know what it sounds like
        heard = wall.evaluate("window.__notes")
        rate(tablet, "good", follow_up={"location": "Bay 6"})
        expect(wall.locator("[data-alert-id]")).to_have_count(2, timeout=5_000)
        wait_for(wall, f"window.__notes > {heard}")
    finally:
        tablet.disconnect()

    wall.reload()  # remembered on this screen
    wait_online(wall)
    expect(wall.get_by_role("button", name="Sound on")).to_have_attribute("aria-pressed", "true")


def test_an_alert_the_disk_refused_stays_on_the_screen_under_a_banner_that_clears_by_itself(live_server, pages):
    display = live_server.add_display()
    wall = pages.new()
    wall.goto(display["url"])
    wait_online(wall)
    blocker = live_server.data_dir / "alerts" / "7B.json.tmp"
    blocker.mkdir(parents=True)  # only the ward's alerts file refuses writes
    tablet = kiosk_socket(live_server.url, live_server.add_kiosk()["token"])
    try:
        rate(tablet, "poor", follow_up={"location": "Bay 1"})
    finally:
        tablet.disconnect()
    banner = wall.locator("#status-banner")
    expect(wall.locator("[data-alert-id]")).to_have_count(1, timeout=5_000)
    expect(wall.locator("[data-alert-id]")).to_contain_text(TALK_TO_SOMEONE)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Alerts are not being saved")
    expect(banner).to_contain_text("they stay on the screens")
    blocker.rmdir()
    expect(banner).to_be_hidden(timeout=10_000)
    expect(wall.locator("[data-alert-id]")).to_have_count(1)
