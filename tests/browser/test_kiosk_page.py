"""The ward tablet page in real Chromium against a real ward server."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from browser_helpers import (
    OUTBOX_KEY,
    TABLET_PORTRAIT,
    TOKEN_KEY,
    answer,
    assert_no_serious_axe_violations,
    enroll,
    fetch,
    outbox,
    rate,
    require,
    wait_for,
    wait_online,
    with_short_timers,
)
from support import kiosk_socket, staff_cookie

pytestmark = pytest.mark.browser
expect = require("playwright.sync_api", "browser tests").expect

ANSWER_LABELS = ["Very good", "Good", "Neither good nor poor", "Poor", "Very poor", "Don't know"]


def test_enroll_link_keeps_the_token_and_drops_it_from_the_address(live_server, page):
    kiosk = live_server.add_kiosk(label="Day room")
    enroll(page, kiosk)

    assert "enroll" not in page.url
    assert page.evaluate(f"localStorage.getItem({json.dumps(TOKEN_KEY)})") == kiosk["token"]
    expect(page.get_by_role("heading", name="Overall, how was your experience of our service?")).to_be_visible()
    for label in ANSWER_LABELS:
        button = page.get_by_role("button", name=label, exact=True)
        expect(button).to_be_visible()
        assert button.bounding_box()["height"] >= 100  # a touch target for shaky hands


def test_tablet_without_token_shows_the_staff_note_and_no_question(live_server, page):
    page.goto(live_server.url + "/kiosk")

    expect(page.get_by_role("heading", name="This tablet is not enrolled yet.")).to_be_visible()
    expect(page.get_by_text("Ask the ward administrator for its enrollment QR code.")).to_be_visible()
    expect(page.get_by_role("button", name="Very good", exact=True)).to_be_hidden()


def test_revoked_tablet_shows_the_not_enrolled_screen(live_server, page):
    kiosk = live_server.add_kiosk()
    enroll(page, kiosk)

    live_server.cli("kiosk", "revoke", kiosk["kiosk_id"])
    page.reload()

    expect(page.get_by_role("heading", name="This tablet is not enrolled yet.")).to_be_visible()
    expect(page.get_by_role("button", name="Very good", exact=True)).to_be_hidden()


def test_rating_tapped_while_the_server_is_down_arrives_exactly_once(live_server, pages):
    # Without the service worker (a plain-http LAN, where browsers do not run one): the outbox alone.
    page = pages.new(service_workers="block")
    kiosk = live_server.add_kiosk()
    enroll(page, kiosk)
    wait_for(page, "document.body.dataset.clock === 'synced'")  # it has read the server's clock
    # A kiosk browser keeps the page it has; stand in for its cache so a reload works mid-outage.
    cached = {}
    for url in page.evaluate(
        "[location.href, ...Array.from(document.querySelectorAll('script[src], link[rel=stylesheet]'),"
        " el => el.src || el.href)]"
    ):
        cached[url] = fetch(url)

    live_server.stop()
    wait_for(page, "document.body.dataset.connection === 'offline'")
    answer(page, "Poor")

    status = page.get_by_role("status")
    expect(page.locator("body")).to_have_attribute("data-waiting", "1")
    expect(status).to_contain_text("1 waiting")
    expect(status).to_have_attribute("aria-label", "Not connected, 1 rating waiting")
    waiting = outbox(page)
    assert [r["score"] for r in waiting] == ["poor"]
    # No empty comment is sent; the tap carries the server-clock time with the tablet's own reading and
    # offset, and the language the patient read the question in.
    assert {k for k in waiting[0] if not k.startswith("_")} == {"id", "score", "tapped_at", "device_time", "clock_offset_ms", "clock", "lang"}
    assert waiting[0]["lang"] == "en-GB"
    assert waiting[0]["clock"] == "synced"

    for url, (content_type, body) in cached.items():
        page.route(url, lambda route, ct=content_type, b=body: route.fulfill(status=200, content_type=ct, body=b))
    page.reload()
    expect(page.get_by_role("button", name="Very good", exact=True)).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-waiting", "1")
    assert outbox(page) == waiting
    page.unroute_all(behavior="ignoreErrors")

    live_server.start()
    wait_online(page, timeout=15_000)
    expect(page.locator("body")).to_have_attribute("data-waiting", "0", timeout=15_000)
    expect(status).to_have_attribute("aria-label", "Connected")

    stored = live_server.export()
    assert [(r["id"], r["score"], r["tapped_at"]) for r in stored] == [
        (waiting[0]["id"], "poor", waiting[0]["tapped_at"])
    ]


def test_comment_stays_with_its_answer(live_server, page):
    kiosk = live_server.add_kiosk()
    enroll(page, kiosk)

    answer(page, "Very good", comment="  The night staff were lovely.  ")

    expect(page.locator("body")).to_have_attribute("data-waiting", "0")
    [stored] = live_server.export()
    assert (stored["score"], stored["comment"]) == ("very_good", "The night staff were lovely.")


def test_idle_comment_screen_sends_the_rating_without_comment_and_starts_again(live_server, page):
    kiosk = live_server.add_kiosk()
    with_short_timers(page, idle_seconds=1, thank_you_seconds=1)
    enroll(page, kiosk)

    page.get_by_role("button", name="Good", exact=True).click()
    page.get_by_role("textbox").fill("half a thought")
    # Typing counts as a touch; then nobody touches the tablet for idle_seconds.
    expect(page.get_by_role("button", name="Good", exact=True)).to_be_visible(timeout=5_000)
    expect(page.locator("body")).to_have_attribute("data-waiting", "0")

    [stored] = live_server.export()
    assert (stored["score"], stored["comment"]) == ("good", None)
    # Back at the question: the next patient's comment box starts empty.
    page.get_by_role("button", name="Poor", exact=True).click()
    expect(page.get_by_role("textbox")).to_have_value("")


def test_rating_survives_a_reload_on_the_comment_screen(live_server, page):
    kiosk = live_server.add_kiosk()
    enroll(page, kiosk)
    page.get_by_role("button", name="Very good", exact=True).click()
    page.get_by_role("textbox").fill("unfinished")
    assert outbox(page) == []  # sent only after the comment screen

    page.reload()  # the tablet restarts before anyone pressed Send or Skip

    expect(page.get_by_role("button", name="Very good", exact=True)).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-waiting", "0")
    [stored] = live_server.export()
    assert (stored["score"], stored["comment"]) == ("very_good", None)


def test_thank_you_screen_returns_to_the_question_by_itself(live_server, page):
    kiosk = live_server.add_kiosk()
    with_short_timers(page, idle_seconds=30, thank_you_seconds=1)
    enroll(page, kiosk)

    answer(page, "Don't know")

    expect(page.get_by_role("button", name="Very good", exact=True)).to_be_visible(timeout=5_000)
    expect(page.get_by_role("heading", name="Thank you for your feedback")).to_be_hidden()


def test_refused_rating_is_kept_aside_with_its_reason_without_blocking_the_ones_behind_it(live_server, page):
    kiosk = live_server.add_kiosk()
    enroll(page, kiosk)
    now = datetime.now(timezone.utc)
    tablet = kiosk_socket(live_server.url, kiosk["token"])
    first = rate(tablet, "very_good", minutes_ago=3)
    tablet.disconnect()
    # The same id with another answer: the server keeps the first and refuses this one for good.
    clash = {"id": first["id"], "score": "very_poor", "tapped_at": (now - timedelta(minutes=2)).isoformat()}
    fine = {"id": str(uuid.uuid4()), "score": "good", "tapped_at": (now - timedelta(minutes=1)).isoformat()}
    warnings = []
    page.on("console", lambda msg: warnings.append(msg.text) if msg.type == "warning" else None)

    page.evaluate(f"localStorage.setItem({json.dumps(OUTBOX_KEY)}, {json.dumps(json.dumps([clash, fine]))})")
    page.reload()

    expect(page.locator("body")).to_have_attribute("data-waiting", "0")
    assert sorted(r["id"] for r in live_server.export()) == sorted([first["id"], fine["id"]])
    refused = json.loads(page.evaluate(f"localStorage.getItem({json.dumps(OUTBOX_KEY + '.refused')})"))
    assert [(r["id"], r["score"], r["error"]) for r in refused] == [(clash["id"], "very_poor", "conflict")]
    assert any("conflict" in w for w in warnings), warnings

    # The admin kiosks page shows what the tablet gave up on, with the reason.
    live_server.add_staff("admin", role="admin")
    html = requests.get(live_server.url + "/admin/ward/7B/kiosks", headers={"Cookie": staff_cookie(live_server.url, "admin")}, timeout=10).text
    row = re.search(rf'<tr data-kiosk-id="{kiosk["kiosk_id"]}".*?</tr>', html, re.S).group(0)
    assert "1 refused rating" in row and clash["id"] in row and "already used for a different answer" in row, row


def test_rating_ids_are_uuid4_even_without_a_secure_context(live_server, page):
    kiosk = live_server.add_kiosk()
    # Plain-http LAN addresses are not a secure context: crypto.randomUUID is missing there.
    page.add_init_script("delete Crypto.prototype.randomUUID")
    enroll(page, kiosk)
    assert page.evaluate("typeof crypto.randomUUID") == "undefined"

    answer(page, "Very poor")

    expect(page.locator("body")).to_have_attribute("data-waiting", "0")
    [stored] = live_server.export()
    assert uuid.UUID(stored["id"]).version == 4


@pytest.mark.parametrize("viewport", [None, TABLET_PORTRAIT], ids=["landscape", "portrait"])
def test_kiosk_screens_have_no_serious_accessibility_violations(live_server, pages, viewport):
    page = pages.new(viewport=viewport, touch=True)
    kiosk = live_server.add_kiosk()
    enroll(page, kiosk)
    assert_no_serious_axe_violations(page, "question screen")

    page.get_by_role("button", name="Neither good nor poor", exact=True).click()
    expect(page.get_by_role("textbox", name="What was good? What could we do better?")).to_be_visible()
    assert_no_serious_axe_violations(page, "comment screen")

    page.get_by_role("button", name="Skip", exact=True).click()
    expect(page.get_by_role("heading", name="Would you like a member of staff to come and talk to you?")).to_be_visible()
    assert_no_serious_axe_violations(page, "follow-up screen")

    page.get_by_role("button", name="Yes", exact=True).click()
    expect(page.get_by_role("textbox", name="Where are you? (bay/bed)")).to_be_visible()
    assert_no_serious_axe_violations(page, "where-are-you screen")

    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("heading", name="Thank you for your feedback")).to_be_visible()
    assert_no_serious_axe_violations(page, "thank-you screen")

    page.goto(live_server.url + "/kiosk")
    page.evaluate("localStorage.clear()")
    page.reload()
    expect(page.get_by_role("heading", name="This tablet is not enrolled yet.")).to_be_visible()
    assert_no_serious_axe_violations(page, "not-enrolled screen")


def test_answers_rest_for_a_moment_after_each_thank_you(live_server, page):
    kiosk = live_server.add_kiosk()
    with_short_timers(page, idle_seconds=30, thank_you_seconds=0.5, pause_seconds=1.5)
    enroll(page, kiosk)

    answer(page, "Good")
    very_good = page.get_by_role("button", name="Very good", exact=True)
    expect(very_good).to_be_visible()
    # A child tapping on and on: the question is back, greyed, and taps do nothing for a moment.
    expect(very_good).to_be_disabled()
    expect(page.get_by_text("Next person…")).to_be_visible()
    very_good.click(force=True)
    expect(page.locator("body")).to_have_attribute("data-screen", "question")

    expect(very_good).to_be_enabled(timeout=3_000)
    expect(page.get_by_text("Next person…")).to_be_hidden()
    answer(page, "Very good")
    expect(page.locator("body")).to_have_attribute("data-waiting", "0")
    assert [r["score"] for r in live_server.export()] == ["good", "very_good"]


def test_idle_where_screen_sends_the_request_to_talk_without_the_half_typed_place(live_server, page):
    kiosk = live_server.add_kiosk()
    with_short_timers(page, idle_seconds=1, thank_you_seconds=1)
    enroll(page, kiosk)

    page.get_by_role("button", name="Poor", exact=True).click()
    page.get_by_role("button", name="Skip", exact=True).click()
    page.get_by_role("button", name="Yes", exact=True).click()
    page.get_by_role("textbox", name="Where are you? (bay/bed)").fill("Ba")
    # Nobody touches the tablet for idle_seconds: the patient did ask for someone to come.
    expect(page.get_by_role("button", name="Good", exact=True)).to_be_visible(timeout=5_000)
    expect(page.locator("body")).to_have_attribute("data-waiting", "0")

    [stored] = live_server.export()
    assert (stored["score"], stored["follow_up"]) == ("poor", {})


def test_no_on_the_follow_up_question_sends_no_request(live_server, page):
    kiosk = live_server.add_kiosk()
    enroll(page, kiosk)
    answer(page, "Neither good nor poor", follow_up=False)
    expect(page.locator("body")).to_have_attribute("data-waiting", "0")
    [stored] = live_server.export()
    assert stored["follow_up"] is None


def test_reload_on_the_where_screen_keeps_the_comment_and_the_request(live_server, page):
    kiosk = live_server.add_kiosk()
    enroll(page, kiosk)
    page.get_by_role("button", name="Very poor", exact=True).click()
    page.get_by_role("textbox").fill("Cold food")
    page.get_by_role("button", name="Send", exact=True).click()
    page.get_by_role("button", name="Yes", exact=True).click()

    page.reload()  # what was confirmed before the tablet restarted is not lost

    expect(page.locator("body")).to_have_attribute("data-waiting", "0")
    [stored] = live_server.export()
    assert (stored["score"], stored["comment"], stored["follow_up"]) == ("very_poor", "Cold food", {})
