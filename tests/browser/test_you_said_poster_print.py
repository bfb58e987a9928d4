""""You said, we did" poster printed by real Chromium: five of the longest sentences staff may write
and the month's score still fit one sheet of A4, as a ward noticeboard needs."""

from __future__ import annotations

import re

import pytest

from kiosk.client import make_rating
from shared.protocol import KIOSK_NAMESPACE, RATING, RESOLVE_ALERT, STAFF_NAMESPACE

from browser_helpers import require, sign_in
from support import Screen, kiosk_socket, staff_cookie, wait_until

pytestmark = pytest.mark.browser
expect = require("playwright.sync_api", "browser tests").expect

LONGEST = 280  # the ward screen's limit for a public sentence
PAGE = re.compile(rb"/Type\s*/Page(?![a-z])")


def sentence(n: int) -> str:
    text = f"You said ({n}) the ward was too noisy at night and call bells rang for a long time; we now dim the lights "
    return (text + "at ten, check every bay each hour and keep a named nurse on each bay for every shift. " * 3)[:LONGEST]


def test_five_of_the_longest_sentences_print_on_one_a4_sheet(live_server, pages, tmp_path):
    username, password = live_server.add_staff("pat", "7B", "sister")
    screen = Screen(live_server.url, {"ward": "7B"}, cookie=staff_cookie(live_server.url, username)).connect()
    kiosk = kiosk_socket(live_server.url, live_server.add_kiosk()["token"])
    done: set[str] = set()
    try:
        for n in range(5):
            ack = kiosk.call(RATING, make_rating("poor", comment="Nobody came", follow_up={"location": "Bay 2"}),
                             namespace=KIOSK_NAMESPACE)
            assert ack["ok"], ack
            alert = wait_until(lambda: [a for a in screen.alerts if a["status"] == "open" and a["id"] not in done],
                               what="the new alert")[-1]
            done.add(alert["id"])
            ack = screen.sio.call(RESOLVE_ALERT, {"id": alert["id"], "action": "Answered", "public_note": sentence(n)},
                                  namespace=STAFF_NAMESPACE)
            assert ack["ok"], ack
    finally:
        kiosk.disconnect()
        screen.close()

    page = pages.new()
    sign_in(page, live_server.url, username, password, "7B")
    page.goto(f"{live_server.url}/ward/7B/you-said-we-did")
    expect(page.locator(".poster__sentence")).to_have_count(5)
    pdf = page.pdf(format="A4", print_background=True)
    (tmp_path / "you-said-we-did.pdf").write_bytes(pdf)
    assert len(PAGE.findall(pdf)) == 1, "the poster ran onto a second sheet"
