"""The ward screen's theme chips in real Chromium: a chip shows only the comments on its theme."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from browser_helpers import assert_no_serious_axe_violations, rate, require, sign_in
from support import kiosk_socket

pytestmark = pytest.mark.browser
expect = require("playwright.sync_api", "browser tests").expect

SHOTS = Path(os.environ.get("WARDPULSE_SCREENSHOTS", "var/screenshots"))


def test_theme_chips_filter_the_feed(live_server, pages):
    username, password = live_server.add_staff("nurse", "7B", "staff")
    ward = pages.new()
    sign_in(ward, live_server.url, username, password, "7B")
    tablet = kiosk_socket(live_server.url, live_server.add_kiosk()["token"])
    try:
        rate(tablet, "poor", minutes_ago=3, comment="The food was cold again")
        rate(tablet, "good", minutes_ago=2, comment="Kind nurses, but it was noisy at night")
        rate(tablet, "very_good", minutes_ago=1)
    finally:
        tablet.disconnect()
    feed = ward.locator("#feed > li")
    expect(feed).to_have_count(3)
    chips = ward.get_by_role("group", name="Show comments about")
    expect(chips.get_by_role("button", name="Food 1")).to_be_visible()
    expect(chips.get_by_role("button", name="Noise and sleep 1")).to_be_visible()
    expect(chips.get_by_role("button", name="Cleanliness 0")).to_be_visible()

    chips.get_by_role("button", name="Food 1").click()
    expect(chips.get_by_role("button", name="Food 1")).to_have_attribute("aria-pressed", "true")
    expect(ward.locator("#feed > li:visible")).to_have_count(1)
    expect(ward.locator("#feed > li:visible")).to_contain_text("The food was cold again")
    assert_no_serious_axe_violations(ward, "ward screen filtered by a theme")
    SHOTS.mkdir(parents=True, exist_ok=True)
    ward.screenshot(path=str(SHOTS / "ward-theme-food.png"), full_page=True)

    chips.get_by_role("button", name="Cleanliness 0").click()
    expect(ward.locator("#feed > li:visible")).to_have_count(0)
    expect(ward.get_by_text("No comments on this theme in the latest feedback.")).to_be_visible()
    chips.get_by_role("button", name="All feedback").click()
    expect(ward.locator("#feed > li:visible")).to_have_count(3)
