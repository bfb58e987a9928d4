"""A patient's own phone, from the bedside poster's QR code (/w/<CODE>): the same question, no
enrollment, rate-limited by the server and never showing the patient an error."""

from __future__ import annotations

import json
import re

import pytest

from browser_helpers import (
    OUTBOX_KEY,
    PHONE,
    answer,
    assert_no_serious_axe_violations,
    require,
    wait_online,
    with_short_timers,
)

pytestmark = pytest.mark.browser
expect = require("playwright.sync_api", "browser tests").expect

DEVICE_KEY = "wardpulse.own.device"
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def storage(page, key):
    return page.evaluate(f"localStorage.getItem({json.dumps(key)})")


def test_own_phone_gives_feedback_without_enrollment(live_server, pages):
    phone = pages.new(viewport=PHONE, phone=True)
    with_short_timers(phone, idle_seconds=30)
    phone.goto(live_server.url + "/w/7B")
    wait_online(phone)

    expect(phone.get_by_text("Ward 7B · Anonymous feedback")).to_be_visible()
    expect(phone.locator("#connection")).to_be_hidden()  # no status dot for patients
    device = storage(phone, DEVICE_KEY)
    assert UUID4.fullmatch(device), device
    for label in ("Very good", "Don't know"):
        button = phone.get_by_role("button", name=label, exact=True)
        box = button.bounding_box()
        assert box["height"] >= 60 and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing sideways
    assert_no_serious_axe_violations(phone, "own-phone question")

    answer(phone, "Very good", comment="Kind nurses")
    expect(phone.get_by_text("You can close this page now.")).to_be_visible()
    expect(phone.locator("body")).to_have_attribute("data-waiting", "0")
    assert_no_serious_axe_violations(phone, "own-phone thank-you")

    [stored] = live_server.export()
    assert (stored["score"], stored["comment"], stored["channel"]) == ("very_good", "Kind nurses", "own_device")
    # Its outbox is its own; the phone never pretends to be an enrolled tablet.
    assert storage(phone, OUTBOX_KEY + ".own") == "[]"
    assert storage(phone, OUTBOX_KEY) is None
    assert storage(phone, "wardpulse.kiosk.token") is None

    phone.reload()
    wait_online(phone)
    assert storage(phone, DEVICE_KEY) == device  # made once


def test_own_phone_over_its_limit_is_thanked_not_refused(live_server, pages):
    phone = pages.new(viewport=PHONE, phone=True)
    with_short_timers(phone, idle_seconds=30)
    phone.goto(live_server.url + "/w/7B")
    wait_online(phone)
    errors = []
    phone.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    # The server takes a few ratings an hour from one phone.
    accepted = 0
    while True:
        answer(phone, "Good")
        expect(phone.locator("body")).to_have_attribute("data-waiting", "0")
        if phone.get_by_text("You have already told us what you think recently").is_visible():
            break
        accepted += 1
        assert accepted < 10, "the server never limited this phone"
        phone.get_by_role("button", name="Give more feedback").click()

    expect(phone.get_by_role("heading", name="Thank you for your feedback")).to_be_visible()
    expect(phone.get_by_role("button", name="Give more feedback")).to_be_hidden()
    assert len(live_server.export()) == accepted
    assert_no_serious_axe_violations(phone, "own-phone thank-you over the limit")

    # Asking for someone to come is never turned away by the per-phone limit.
    phone.goto(live_server.url + "/w/7B")
    wait_online(phone)
    answer(phone, "Very poor", follow_up="Bay 5")
    expect(phone.get_by_text("We will ask a member of staff to come and talk to you.")).to_be_visible()
    expect(phone.locator("body")).to_have_attribute("data-waiting", "0")
    stored = live_server.export()
    assert len(stored) == accepted + 1
    assert stored[-1]["follow_up"] == {"location": "Bay 5"} and stored[-1]["channel"] == "own_device"
    assert not any("rate_limited" in e for e in errors), errors
