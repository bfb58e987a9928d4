"""The matrons' overview in real Chromium: three wards on one screen, live as their tablets are used."""

from __future__ import annotations

import pytest

from browser_helpers import assert_no_serious_axe_violations, fill_sign_in, rate, require, wait_online
from support import kiosk_socket

pytestmark = pytest.mark.browser
expect = require("playwright.sync_api", "browser tests").expect


def card(page, code):
    return page.locator(f'.overview-card[data-ward="{code}"]')


def test_a_matron_sees_her_three_wards_update_live(live_server, pages):
    for code in ("7A", "9C", "4D"):
        live_server.add_ward(code, f"Ward {code}")
    tablets = {code: kiosk_socket(live_server.url, live_server.add_kiosk(code)["token"]) for code in ("7A", "7B", "9C", "4D")}
    username, password = live_server.add_staff("matron", ("7A", "7B", "9C"), "matron")

    page = pages.new()
    page.goto(f"{live_server.url}/login")
    fill_sign_in(page, username, password)
    page.wait_for_url("**/overview")  # someone covering several wards starts here
    wait_online(page)
    expect(page.locator(".overview-card")).to_have_count(3)
    expect(page.locator(".overview-card .overview-card__name")).to_have_text(["Ward 7A", "Ward 7B", "Ward 9C"])
    expect(card(page, "4D")).to_have_count(0)  # not hers

    rate(tablets["7B"], "very_good")
    rate(tablets["7B"], "poor")
    expect(card(page, "7B").locator('.overview-card__today [data-stat="total"] .figure__value')).to_have_text("2")
    expect(card(page, "7B").locator('.overview-card__today [data-stat="positive"] .figure__value')).to_have_text("50%")
    rate(tablets["9C"], "neither", follow_up={"location": "Bay 3"})
    # a ward with an open alert moves to the top, live
    expect(page.locator(".overview-card").first).to_have_attribute("data-ward", "9C")
    expect(card(page, "9C")).to_contain_text("Open alerts: 1")
    expect(card(page, "9C")).to_contain_text("Patient asks to talk to someone")
    expect(card(page, "9C")).not_to_contain_text("Bay 3")  # where the patient is stays on the ward screen
    rate(tablets["7A"], "good")
    expect(card(page, "7A").locator('.overview-card__month [data-stat="total"] .figure__value')).to_have_text("1")
    tablets["7A"].disconnect()
    expect(card(page, "7A")).to_contain_text("Tablets offline: 1 of 1")
    rate(tablets["4D"], "very_poor", follow_up={"location": "Bay 1"})
    rate(tablets["7B"], "good")  # sent after 4D's: once it shows, 4D's would have too
    expect(card(page, "7B").locator('.overview-card__today [data-stat="total"] .figure__value')).to_have_text("3")
    expect(page.locator(".overview-card")).to_have_count(3)
    assert_no_serious_axe_violations(page, "the overview")

    # The monthly return offered on the page: a download of the wards she covers.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the Ward sheet (CSV)").click()
    assert download.value.suggested_filename.startswith("fft-return-")
    for tablet in tablets.values():
        tablet.disconnect()
