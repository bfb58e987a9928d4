"""The ward tablet through a server outage, with its real service worker (kiosk/static/sw.js):
no Playwright request stubbing, the page itself must survive a reload while the server is down."""

from __future__ import annotations

import json

import pytest

from browser_helpers import OUTBOX_KEY, answer, enroll, fetch, outbox, require, wait_for, wait_online, with_short_timers

pytestmark = pytest.mark.browser
expect = require("playwright.sync_api", "browser tests").expect

# What the service worker keeps for offline reloads, and nothing else.
KEPT = [
    "/kiosk/", "/kiosk", "/kiosk/static/languages.js", "/kiosk/static/listen.js", "/kiosk/static/kiosk.js",
    "/kiosk/static/kiosk.css", "/vendor/socket.io.min.js",
]
# ...and the fonts and read-aloud clips the server lists, since a patient may pick any language offline.
LISTS = ["/fonts/kiosk.json", "/kiosk/audio/kiosk.json"]


def listed(base_url: str) -> list[str]:
    """The font and clip paths the ward server tells the service worker to keep."""
    return [path for url in LISTS for path in json.loads(fetch(base_url + url)[1])["files"]]


def wait_for_offline_copy(page) -> None:
    """The service worker is active, holds the page and everything it loads, and controls this page.

    (Not navigator.serviceWorker.ready: that follows the URL the page was first opened at, and
    the enrollment link /kiosk#enroll=... lies just outside the scope /kiosk/ until the page
    moves itself there.) An activated worker is not yet enough: until its clients.claim() has
    reached this page, a reload may still go to the network, so wait for it to be the controller."""
    wait_for(
        page, "navigator.serviceWorker.getRegistration('/kiosk/').then(r => !!(r && r.active && r.active.state === 'activated'))"
    )
    wait_for(page, "urls => Promise.all(urls.map(url => caches.match(url))).then(found => found.every(Boolean))", KEPT)
    wait_for(page, "!!navigator.serviceWorker.controller && navigator.serviceWorker.controller.state === 'activated'")


def test_taps_during_an_outage_survive_a_reload_and_arrive_once_in_tap_order(live_server, pages):
    kiosk = live_server.add_kiosk(label="Day room")
    tablet = pages.new(touch=True)
    with_short_timers(tablet, idle_seconds=30, thank_you_seconds=0.3, pause_seconds=0.1)
    enroll(tablet, kiosk)
    assert tablet.url.endswith("/kiosk/")  # inside the service worker's scope
    wait_for_offline_copy(tablet)

    live_server.stop()
    wait_for(tablet, "document.body.dataset.connection === 'offline'")
    for label in ("Poor", "Very good", "Good"):
        answer(tablet, label)
    expect(tablet.locator("body")).to_have_attribute("data-waiting", "3")

    tablet.reload()  # a tablet rebooted during the outage
    expect(tablet.get_by_role("heading", name="Overall, how was your experience of our service?")).to_be_visible()
    assert tablet.evaluate("!!navigator.serviceWorker.controller")  # served by the service worker
    expect(tablet.locator("body")).to_have_attribute("data-waiting", "3")
    expect(tablet.locator("body")).to_have_attribute("data-connection", "offline")
    for label in ("Very poor", "Don't know"):
        answer(tablet, label)
    expect(tablet.locator("body")).to_have_attribute("data-waiting", "5")
    tapped = sorted(outbox(tablet), key=lambda r: r["tapped_at"])
    assert [r["score"] for r in tapped] == ["poor", "very_good", "good", "very_poor", "dont_know"]

    live_server.start()
    wait_online(tablet, timeout=15_000)
    expect(tablet.locator("body")).to_have_attribute("data-waiting", "0", timeout=15_000)
    expect(tablet.locator("#connection")).to_have_attribute("aria-label", "Connected")
    expect(tablet.locator(".connection-dot")).to_have_css("background-color", "rgb(0, 150, 57)")  # green
    assert tablet.evaluate(f"localStorage.getItem({OUTBOX_KEY!r})") == "[]"

    stored = live_server.export()
    assert [(r["id"], r["score"]) for r in sorted(stored, key=lambda r: r["tapped_at"])] == [
        (r["id"], r["score"]) for r in tapped
    ]
    assert len({r["id"] for r in stored}) == len(stored) == 5  # each exactly once
    # The outbox drained oldest tap first.
    assert [r["id"] for r in sorted(stored, key=lambda r: r["received_at"])] == [r["id"] for r in tapped]


def test_service_worker_keeps_only_the_page_and_its_files(live_server, pages):
    kiosk = live_server.add_kiosk()
    tablet = pages.new(touch=True)
    enroll(tablet, kiosk)
    wait_for_offline_copy(tablet)
    answer(tablet, "Good")  # Socket.IO traffic (polling first, then a websocket) must not be kept
    expect(tablet.locator("body")).to_have_attribute("data-waiting", "0")

    kept = tablet.evaluate(
        "caches.keys().then(names => Promise.all(names.map(n => caches.open(n).then(c => c.keys()))))"
        ".then(lists => lists.flat().map(r => new URL(r.url).pathname))"
    )
    assert sorted(kept) == sorted(KEPT + listed(live_server.url))
    assert "/kiosk/audio/ur/question-standard" in kept
    assert any(path.endswith("noto-nastaliq-urdu-arabic-700-normal.woff2") for path in kept)
