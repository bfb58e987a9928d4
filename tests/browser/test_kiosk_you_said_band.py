""""You said, we did" in real Chromium: a sister resolves an alert on the ward screen with a sentence,
and the ward tablet shows it at once in a quiet band under the answers, which stay fully on screen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from browser_helpers import (
    PHONE,
    TABLET_LANDSCAPE,
    TABLET_PORTRAIT,
    assert_no_serious_axe_violations,
    enroll,
    rate,
    require,
    sign_in,
    wait_online,
)
from support import kiosk_socket

pytestmark = pytest.mark.browser
expect = require("playwright.sync_api", "browser tests").expect

SHOTS = Path(os.environ.get("WARDPULSE_SCREENSHOTS", "var/screenshots"))
SENTENCE = "You said call bells went unanswered at night; we now check every bay each hour."
# Where each answer and the band are, and whether the page scrolls: measured in the page itself.
GEOMETRY = """() => {
  const box = el => { const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  const band = document.getElementById("you-said");
  return {
    answers: [...document.querySelectorAll(".answer")].map(box),
    band: band.hidden || getComputedStyle(band).display === "none" ? null : box(band),
    height: window.innerHeight, width: window.innerWidth,
  };
}"""


def overlaps(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def on_screen(geometry: dict) -> list[bool]:
    """Whether each answer is whole inside the window."""
    return [a["top"] >= 0 and a["bottom"] <= geometry["height"] and a["right"] <= geometry["width"] for a in geometry["answers"]]


def tops(geometry: dict) -> float:
    """Where the answers start: the band is under them, so it never moves them down."""
    return min(a["top"] for a in geometry["answers"])


def test_a_sister_publishes_on_the_ward_screen_and_the_tablet_shows_it_live(live_server, pages):
    username, password = live_server.add_staff("pat", "7B", "sister")
    tablet = pages.new(viewport=TABLET_LANDSCAPE, touch=True)
    enroll(tablet, live_server.add_kiosk(label="Day room"))
    band = tablet.locator("#you-said")
    expect(band).to_be_hidden()  # nothing published yet: no empty band
    before = tablet.evaluate(GEOMETRY)

    ward = pages.new()
    sign_in(ward, live_server.url, username, password, "7B")
    patient = kiosk_socket(live_server.url, live_server.add_kiosk()["token"])
    try:
        rate(patient, "poor", comment="Nobody came when I rang", follow_up={"location": "Bay 3"})
    finally:
        patient.disconnect()
    card = ward.locator("[data-alert-id]")
    card.get_by_role("button", name="Resolve", exact=True).click()
    form = card.locator("form")
    form.get_by_label("What was done").fill("Went to see her; the call bell was fixed.")
    form.get_by_label('"You said, we did" for patients (optional)').fill(SENTENCE)
    form.get_by_role("button", name="Resolve alert").click()
    expect(ward.locator("#you-said-published")).to_contain_text(SENTENCE)

    expect(band).to_be_visible(timeout=5_000)
    expect(band.get_by_role("heading", name="You said, we did")).to_be_visible()
    expect(band).to_contain_text(SENTENCE)
    after = tablet.evaluate(GEOMETRY)
    assert tops(after) == tops(before), "the band moved the answers down"
    assert all(on_screen(after)), "an answer is off screen"
    assert not any(overlaps(after["band"], a) for a in after["answers"]), "the band covers an answer"
    assert_no_serious_axe_violations(tablet, "kiosk question with the band")
    assert_no_serious_axe_violations(ward, "ward screen with a published sentence")
    SHOTS.mkdir(parents=True, exist_ok=True)
    tablet.screenshot(path=str(SHOTS / "kiosk-you-said-landscape.png"))

    # A tablet that was off when it was published shows it as soon as it connects.
    late = pages.new(viewport=TABLET_PORTRAIT)
    enroll(late, live_server.add_kiosk(label="Bay 4"))
    expect(late.locator("#you-said")).to_contain_text(SENTENCE)


@pytest.mark.parametrize("viewport", [TABLET_LANDSCAPE, TABLET_PORTRAIT, PHONE], ids=["landscape", "portrait", "phone"])
def test_the_band_never_covers_or_pushes_an_answer_off_screen_at_any_text_size(live_server, pages, viewport):
    username, password = live_server.add_staff("pat", "7B", "sister")
    ward = pages.new()
    sign_in(ward, live_server.url, username, password, "7B")
    patient = kiosk_socket(live_server.url, live_server.add_kiosk()["token"])
    try:
        rate(patient, "poor", follow_up={})
    finally:
        patient.disconnect()
    card = ward.locator("[data-alert-id]")
    card.get_by_role("button", name="Resolve", exact=True).click()
    card.get_by_label("What was done").fill("Talked to the patient.")
    card.get_by_label('"You said, we did" for patients (optional)').fill(SENTENCE + " " + SENTENCE)  # two lines and more
    card.get_by_role("button", name="Resolve alert").click()

    tablet = pages.new(viewport=viewport, touch=True)
    enroll(tablet, live_server.add_kiosk())
    wait_online(tablet)
    expect(tablet.locator("#you-said")).to_contain_text("You said call bells")
    for size in ("100", "125", "150", "175", "200"):
        if size != "100":
            tablet.get_by_role("button", name="Text size").click()
        expect(tablet.locator("html")).to_have_attribute("data-text-size", size)
        shown = tablet.evaluate(GEOMETRY)
        tablet.evaluate("document.getElementById('you-said').hidden = true")
        without = tablet.evaluate(GEOMETRY)
        tablet.evaluate("document.getElementById('you-said').hidden = false")
        where = f"{viewport} at {size} %"
        # The answers may give the band a little height, never their place nor their room on screen.
        assert tops(shown) == tops(without), f"{where}: the band moved the answers down"
        assert on_screen(shown) == on_screen(without), f"{where}: the band pushed an answer off screen"
        if shown["band"]:
            assert not any(overlaps(shown["band"], a) for a in shown["answers"]), f"{where}: the band covers an answer"
            assert shown["band"]["top"] >= max(a["bottom"] for a in shown["answers"]), f"{where}: the band is above an answer"
        if size == "100" and viewport is not PHONE:
            # A tablet at normal text shows all six answers and the band on one screen.
            assert all(a["bottom"] <= shown["height"] for a in shown["answers"]), f"{where}: an answer is off screen"
            assert shown["band"] and shown["band"]["bottom"] <= shown["height"], f"{where}: the band is off screen"
        SHOTS.mkdir(parents=True, exist_ok=True)
        tablet.screenshot(path=str(SHOTS / f"kiosk-you-said-{viewport['width']}x{viewport['height']}-{size}.png"))
