"""The tablet never loses a tap: a wrong clock, two tabs, full storage, revocation, a flooded poster link.

Each test is a situation a ward really meets, tried in real Chromium against a real ward server;
each ends with every tap stored exactly once, its tap time within a few seconds of the real
moment, and its flags set.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
import socketio

from shared.protocol import KIOSK_NAMESPACE, RATING, parse_utc

from browser_helpers import OUTBOX_KEY, PHONE, answer, enroll, outbox, require, wait_for, wait_online, with_short_timers
from support import Screen, staff_cookie, wait_until

pytestmark = pytest.mark.browser
expect = require("playwright.sync_api", "browser tests").expect

QUESTION = "Overall, how was your experience of our service?"
WITHIN = timedelta(seconds=3)


def now() -> datetime:
    return datetime.now(timezone.utc)


def tapped(rating: dict) -> datetime:
    return parse_utc(rating["tapped_at"])


def wait_synced(page) -> None:
    """Online, and no longer unsure of the time (the page has read the server's clock)."""
    wait_online(page)
    wait_for(page, "document.body.dataset.clock !== 'unknown'")


def wait_drained(page, timeout: float = 15_000) -> None:
    expect(page.locator("body")).to_have_attribute("data-waiting", "0", timeout=timeout)


def stored_once(live_server, count: int) -> list[dict]:
    """The ward's stored ratings, oldest tap first, after checking each id is there once."""
    stored = live_server.export()
    assert len({r["id"] for r in stored}) == len(stored) == count, stored
    return sorted(stored, key=lambda r: r["tapped_at"])


def open_alerts(live_server) -> list[dict]:
    """Open alerts as a ward's wall display sees them on connecting."""
    screen = Screen(live_server.url, {"ward": "7B", "token": live_server.add_display()["token"]}).connect()
    try:
        return screen.snapshots[0]["open_alerts"]
    finally:
        screen.close()


def kiosks_page(live_server) -> str:
    live_server.add_staff("admin", role="admin")
    cookie = staff_cookie(live_server.url, "admin")
    return requests.get(live_server.url + "/admin/ward/7B/kiosks", headers={"Cookie": cookie}, timeout=10).text


def kiosk_row(html: str, kiosk_id: str) -> str:
    match = re.search(rf'<tr data-kiosk-id="{kiosk_id}".*?</tr>', html, re.S)
    assert match, html
    return match.group(0)


# ----------------------------------------------------------------------------- a wrong clock


@pytest.mark.parametrize("skew", [timedelta(hours=2), -timedelta(days=9)], ids=["two-hours-fast", "nine-days-slow"])
def test_a_tablet_with_a_wrong_clock_stamps_taps_on_the_servers_clock(live_server, pages, skew):
    kiosk = live_server.add_kiosk()
    tablet = pages.new(touch=True)
    tablet.clock.install(time=now() + skew)
    with_short_timers(tablet, idle_seconds=30)
    enroll(tablet, kiosk)
    wait_synced(tablet)

    moment = now()
    answer(tablet, "Poor", comment="The night was loud")
    expect(tablet.get_by_role("heading", name="Thank you for your feedback")).to_be_visible()
    wait_drained(tablet)

    [stored] = stored_once(live_server, 1)
    assert (stored["score"], stored["comment"]) == ("poor", "The night was loud")
    assert abs(tapped(stored) - moment) < WITHIN, (stored["tapped_at"], moment)
    # The tablet's own reading is kept beside it, and the offset it used.
    assert abs(parse_utc(stored["device_time"]) - (moment + skew)) < WITHIN
    assert abs(stored["clock_offset_ms"] + skew.total_seconds() * 1000) < WITHIN.total_seconds() * 1000
    assert stored["clock"] == "synced" and not stored.get("clock_unknown") and not stored.get("clock_corrected")

    # The admin kiosks page flags a clock more than a minute off.
    row = kiosk_row(kiosks_page(live_server), kiosk["kiosk_id"])
    assert "s off" in row and 'class="misuse"' in row, row
    assert requests.get(live_server.url + "/healthz", timeout=5).json()["kiosk_clocks_off"] == 1


def test_clock_changed_while_offline_with_taps_waiting_moves_no_tap(live_server, pages):
    kiosk = live_server.add_kiosk()
    tablet = pages.new(touch=True)
    tablet.clock.install(time=now())
    with_short_timers(tablet, idle_seconds=30, thank_you_seconds=0.3, pause_seconds=0.1)
    enroll(tablet, kiosk)
    wait_synced(tablet)

    live_server.stop()
    wait_for(tablet, "document.body.dataset.connection === 'offline'")
    moments = []
    for label, change in (("Good", None), ("Very poor", timedelta(hours=3)), ("Neither good nor poor", -timedelta(days=9))):
        if change is not None:
            tablet.clock.set_system_time(now() + change)  # someone sets the tablet's clock by hand
        moments.append(now())
        answer(tablet, label)
    expect(tablet.locator("body")).to_have_attribute("data-waiting", "3")

    live_server.start()
    wait_online(tablet, timeout=20_000)
    wait_drained(tablet)
    stored = stored_once(live_server, 3)
    assert [r["score"] for r in stored] == ["good", "very_poor", "neither"]
    for rating, moment in zip(stored, moments):
        assert abs(tapped(rating) - moment) < WITHIN, (rating, moment)
        assert not rating.get("clock_unknown") and not rating.get("clock_corrected")


def test_a_page_that_never_reached_the_server_says_so_and_its_taps_are_restamped(live_server, pages):
    kiosk = live_server.add_kiosk()
    tablet = pages.new(touch=True, service_workers="block")
    with_short_timers(tablet, idle_seconds=30, thank_you_seconds=0.3, pause_seconds=0.1)
    enroll(tablet, kiosk)
    cached = {}
    for url in tablet.evaluate(
        "[location.href, ...Array.from(document.querySelectorAll('script[src], link[rel=stylesheet]'), el => el.src || el.href)]"
    ):
        cached[url] = requests.get(url, timeout=5)
    live_server.stop()
    # The tablet restarts during the outage with its clock two hours fast: its page has never read the server's clock.
    tablet.clock.install(time=now() + timedelta(hours=2))
    tablet.route("**/*", lambda route: route.fulfill(
        status=200, body=cached[route.request.url].content, content_type=cached[route.request.url].headers["Content-Type"]
    ) if route.request.url in cached else route.abort())
    tablet.reload()
    expect(tablet.get_by_role("heading", name=QUESTION)).to_be_visible()
    expect(tablet.locator("body")).to_have_attribute("data-clock", "unknown")
    moment = now()
    answer(tablet, "Very good")
    [waiting] = outbox(tablet)
    assert waiting["clock"] == "unknown" and waiting["tapped_at"] == waiting["device_time"]
    assert "clock_offset_ms" not in waiting

    tablet.unroute("**/*")
    live_server.start()
    wait_online(tablet, timeout=20_000)
    wait_drained(tablet)
    [stored] = stored_once(live_server, 1)
    assert abs(tapped(stored) - moment) < WITHIN, (stored, moment)
    assert stored["clock"] == "synced"


def test_a_tap_from_an_old_page_with_a_wrong_clock_is_stored_and_marked(live_server, pages):
    """A tablet still running an older page (no clock fields), nine days slow: stored when received, marked."""
    kiosk = live_server.add_kiosk()
    tablet = pages.new(touch=True)
    enroll(tablet, kiosk)
    old_tap = {"id": str(uuid.uuid4()), "score": "poor", "tapped_at": (now() - timedelta(days=9)).isoformat()}
    tablet.evaluate(f"localStorage.setItem({json.dumps(OUTBOX_KEY)}, {json.dumps(json.dumps([old_tap]))})")
    moment = now()
    tablet.reload()
    wait_drained(tablet)
    [stored] = stored_once(live_server, 1)
    assert stored["id"] == old_tap["id"] and stored["clock_unknown"] is True
    assert abs(tapped(stored) - moment) < WITHIN
    assert parse_utc(stored["tapped_at_sent"]) < moment - timedelta(days=8)


def stop_at_the_follow_up_question(page, comment: str) -> None:
    """A patient half-way: "Very poor", a comment sent, now asked whether someone should come."""
    page.get_by_role("button", name="Very poor", exact=True).click()
    page.get_by_role("textbox").fill(comment)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("button", name="Yes", exact=True)).to_be_visible()


# ----------------------------------------------------------------------------- two tabs


def test_two_tabs_never_send_each_others_drafts(live_server, pages):
    kiosk = live_server.add_kiosk()
    tab_a = pages.new(touch=True)
    with_short_timers(tab_a, idle_seconds=60)
    enroll(tab_a, kiosk)
    stop_at_the_follow_up_question(tab_a, "Nobody came when I rang")  # mid-way: a draft with a comment

    tab_b = tab_a.context.new_page()  # the same tablet, a second tab
    tab_b.goto(live_server.url + "/kiosk/")
    wait_online(tab_b)
    expect(tab_b.get_by_role("heading", name=QUESTION)).to_be_visible()
    tab_b.wait_for_timeout(1500)
    assert live_server.export() == []  # tab A's half-finished rating was not sent from tab B

    tab_a.get_by_role("button", name="Yes", exact=True).click()
    tab_a.get_by_role("textbox", name="Where are you? (bay/bed)").fill("Bay 2 bed 12")
    tab_a.get_by_role("button", name="Send", exact=True).click()
    expect(tab_a.get_by_role("heading", name="Thank you for your feedback")).to_be_visible()
    wait_drained(tab_a)
    [stored] = stored_once(live_server, 1)
    assert (stored["score"], stored["comment"], stored["follow_up"]) == ("very_poor", "Nobody came when I rang", {"location": "Bay 2 bed 12"})
    assert [a["kind"] for a in open_alerts(live_server)] == ["follow_up"]

    # A tab closed mid-way: another tab sends what was confirmed there, once that tab is gone.
    tab_b.get_by_role("button", name="Good", exact=True).click()
    tab_b.get_by_role("textbox").fill("Lovely food")
    tab_b.get_by_role("button", name="Send", exact=True).click()
    expect(tab_b.get_by_role("button", name="Yes", exact=True)).to_be_visible()
    tab_b.close()
    wait_until(lambda: len(live_server.export()) == 2, timeout=25, what="tab A to send the closed tab's draft")
    [rest] = [r for r in stored_once(live_server, 2) if r["id"] != stored["id"]]
    assert (rest["score"], rest["comment"], rest["follow_up"]) == ("good", "Lovely food", None)


# ----------------------------------------------------------------------------- full storage


def fill_local_storage(page) -> int:
    """Write big strings into localStorage until the browser refuses (QuotaExceededError); the characters written."""
    return page.evaluate(
        """() => {
          let written = 0, size = 1 << 20, i = 0;
          while (size >= 16) {
            try { localStorage.setItem("filler." + i, "x".repeat(size)); written += size; i += 1; }
            catch (err) { if (err.name !== "QuotaExceededError") throw err; size = size >> 1; }
          }
          return written;
        }"""
    )


def test_a_tap_with_storage_full_is_sent_and_written_back_when_there_is_room(live_server, pages):
    kiosk = live_server.add_kiosk()
    tablet = pages.new(touch=True)
    with_short_timers(tablet, idle_seconds=30, thank_you_seconds=0.3, pause_seconds=0.1)
    enroll(tablet, kiosk)
    answer(tablet, "Good")  # the outbox has been saved before
    wait_drained(tablet)
    assert fill_local_storage(tablet) > 1_000_000

    answer(tablet, "Poor", comment="I was scared at night")
    expect(tablet.get_by_role("heading", name="Thank you for your feedback")).to_be_visible()
    wait_drained(tablet)
    stored = stored_once(live_server, 2)
    assert [(r["score"], r["comment"]) for r in stored] == [("good", None), ("poor", "I was scared at night")]

    # Staff see that the tablet is living on memory.
    live_server.stop()
    answer(tablet, "Very good")
    expect(tablet.locator("body")).to_have_attribute("data-storage", "full")
    expect(tablet.get_by_role("status")).to_contain_text("Storage full")
    assert outbox(tablet) == []  # storage could not take it: memory holds it

    tablet.evaluate("Object.keys(localStorage).filter(k => k.startsWith('filler.')).forEach(k => localStorage.removeItem(k))")
    answer(tablet, "Don't know")
    expect(tablet.locator("body")).to_have_attribute("data-storage", "ok")
    assert sorted(r["score"] for r in outbox(tablet)) == ["dont_know", "very_good"]  # written through again
    live_server.start()
    wait_online(tablet, timeout=20_000)
    wait_drained(tablet)
    assert sorted(r["score"] for r in stored_once(live_server, 4)) == ["dont_know", "good", "poor", "very_good"]


# ----------------------------------------------------------------------------- revocation


def test_a_tablet_revoked_while_online_learns_it_and_keeps_what_it_holds(live_server, pages):
    kiosk = live_server.add_kiosk(label="Day room")
    tablet = pages.new(touch=True)
    with_short_timers(tablet, idle_seconds=60)
    enroll(tablet, kiosk)
    stop_at_the_follow_up_question(tablet, "Please help")

    live_server.cli("kiosk", "revoke", kiosk["kiosk_id"])
    expect(tablet.get_by_role("heading", name="This tablet is not enrolled yet.")).to_be_visible(timeout=10_000)
    expect(tablet.get_by_role("button", name="Very good", exact=True)).to_be_hidden()
    expect(tablet.get_by_text("1 rating is kept on this tablet until it is enrolled again.")).to_be_visible()
    [kept] = outbox(tablet)
    assert (kept["score"], kept["comment"]) == ("very_poor", "Please help")
    assert live_server.export() == []  # refused, as a revoked tablet must be, but not thrown away

    # The admin kiosks page lists what the revoked tablet still holds (it said so as it was refused).
    row = kiosk_row(kiosks_page(live_server), kiosk["kiosk_id"])
    assert "Revoked" in row and re.search(r"<td>1\b", row), row


# ----------------------------------------------------------------------------- a flooded poster link


def flood_poster(live_server, count: int) -> list[dict]:
    """A script sends `count` ordinary ratings through the ward's poster link, each from a new device id."""
    acks = []
    for _ in range(count):
        client = socketio.Client(reconnection=False)
        client.connect(live_server.url, namespaces=[KIOSK_NAMESPACE], auth={"own_ward": "7B", "device": str(uuid.uuid4())},
                       transports=["websocket"], wait_timeout=5)
        rating = {"id": str(uuid.uuid4()), "score": "very_good", "tapped_at": now().isoformat()}
        acks.append(client.call(RATING, rating, namespace=KIOSK_NAMESPACE, timeout=10))
        client.disconnect()
    return acks


def test_a_follow_up_request_gets_through_a_flooded_poster_link(live_server, pages):
    acks = flood_poster(live_server, 125)
    assert sum(a["ok"] for a in acks) == 120 and {a.get("error") for a in acks if not a["ok"]} == {"rate_limited"}

    phone = pages.new(viewport=PHONE, phone=True)
    with_short_timers(phone, idle_seconds=30)
    phone.goto(live_server.url + "/w/7B")
    wait_online(phone)
    moment = now()
    answer(phone, "Very poor", comment="I need help with my medicine", follow_up="Bay 4 bed 2")
    expect(phone.get_by_text("We will ask a member of staff to come and talk to you.")).to_be_visible()
    wait_drained(phone)
    real = [r for r in stored_once(live_server, 121) if r["score"] == "very_poor"]
    assert len(real) == 1 and real[0]["follow_up"] == {"location": "Bay 4 bed 2"}
    assert real[0]["flood"] is True and abs(tapped(real[0]) - moment) < WITHIN
    assert [a["kind"] for a in open_alerts(live_server)] == ["follow_up"]

    # An ordinary rating during the flood is refused, the patient thanked, and the phone keeps it aside.
    phone.get_by_role("button", name="Give more feedback").click()
    answer(phone, "Good")
    expect(phone.get_by_text("You have already told us what you think recently")).to_be_visible()
    refused = json.loads(phone.evaluate(f"localStorage.getItem({json.dumps(OUTBOX_KEY + '.own.refused')})"))
    assert [(r["score"], r["error"]) for r in refused] == [("good", "rate_limited")]
    assert len(live_server.export()) == 121
