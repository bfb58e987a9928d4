"""The Python kiosk client (kiosk/client.py) against a real ward server: wrong clocks, a second
version of a tap, and revocation."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from kiosk.client import KioskClient
from shared.protocol import KIOSK_NAMESPACE, RATING, parse_utc

from support import Screen, ack_body, kiosk_socket, staff_cookie, wait_until

WITHIN = timedelta(seconds=3)


def now() -> datetime:
    return datetime.now(timezone.utc)


def skewed(skew: timedelta):
    """A kiosk whose own clock is `skew` off."""
    return lambda: now() + skew


def clocks_off(live_server) -> int:
    return requests.get(live_server.url + "/healthz", timeout=5).json()["kiosk_clocks_off"]


@pytest.mark.parametrize("skew", [timedelta(hours=2), -timedelta(days=9)], ids=["two-hours-fast", "nine-days-slow"])
def test_a_python_kiosk_with_a_wrong_clock_stamps_taps_on_the_servers_clock(live_server, tmp_path, skew):
    kiosk = live_server.add_kiosk()
    client = KioskClient(live_server.url, kiosk["token"], tmp_path / "outbox.sqlite", device_clock=skewed(skew)).start()
    try:
        wait_until(lambda: client.clock_offset_ms is not None, what="the kiosk to read the server's clock")
        assert abs(client.clock_offset_ms + skew.total_seconds() * 1000) < 1000  # good to a second
        moment = now()
        client.tap("poor", comment="Noisy at night")
        assert client.wait_drained(10)
    finally:
        client.stop()
    [stored] = live_server.export()
    assert abs(parse_utc(stored["tapped_at"]) - moment) < WITHIN
    assert abs(parse_utc(stored["device_time"]) - (moment + skew)) < WITHIN
    assert stored["clock"] == "synced" and not stored["clock_corrected"] and not stored["clock_unknown"]
    assert clocks_off(live_server) == 1  # /healthz counts kiosks more than a minute off


@pytest.mark.parametrize(
    "skew", [timedelta(hours=2), -timedelta(hours=2), -timedelta(days=9)], ids=["two-hours-fast", "two-hours-slow", "nine-days-slow"]
)
def test_taps_made_before_a_kiosk_ever_connected_are_placed_by_its_handshake(live_server, tmp_path, skew):
    kiosk = live_server.add_kiosk()
    live_server.stop()
    client = KioskClient(live_server.url, kiosk["token"], tmp_path / "outbox.sqlite", device_clock=skewed(skew)).start()
    try:
        moment = now()
        client.tap("very_good")
        [waiting] = client.outbox.pending()
        assert waiting["clock"] == "unknown" and "clock_offset_ms" not in waiting
        live_server.start()
        assert client.wait_drained(20)
    finally:
        client.stop()
    [stored] = live_server.export()
    # The server moved the tap by the offset it saw when the kiosk connected (no round trip: within a few seconds).
    assert abs(parse_utc(stored["tapped_at"]) - moment) < WITHIN + timedelta(seconds=5)
    assert stored["clock_corrected"] is True and stored["tapped_at_sent"] == waiting["tapped_at"]


def test_a_second_version_of_a_tap_is_kept_beside_it_and_counted_once(live_server):
    kiosk = live_server.add_kiosk()
    tablet = kiosk_socket(live_server.url, kiosk["token"])
    tap = {"id": str(uuid.uuid4()), "score": "very_poor", "tapped_at": now().isoformat()}
    draft = dict(tap, comment="Nobody came")  # what another tab sent of it, mid-way
    finished = dict(draft, follow_up={"location": "Bay 2 bed 12"})
    acks = [tablet.call(RATING, payload, namespace=KIOSK_NAMESPACE) for payload in (draft, finished, finished, draft)]
    other_answer = tablet.call(RATING, dict(tap, score="good"), namespace=KIOSK_NAMESPACE)
    tablet.disconnect()

    assert [ack_body(a) for a in acks] == [
        {"ok": True, "id": tap["id"], "duplicate": False},
        {"ok": True, "id": tap["id"], "duplicate": False, "alert_durable": True},  # its follow-up request alerts
        {"ok": True, "id": tap["id"], "duplicate": True},
        {"ok": True, "id": tap["id"], "duplicate": True},
    ]
    assert other_answer["error"] == "conflict"  # another answer under the same id is not the same tap
    stored = live_server.export()
    assert len(stored) == 2
    [first] = [r for r in stored if r["id"] == tap["id"]]
    [rest] = [r for r in stored if r["amends"] == tap["id"]]
    assert (first["comment"], first["follow_up"]) == ("Nobody came", None)
    assert (rest["comment"], rest["follow_up"]) == ("Nobody came", {"location": "Bay 2 bed 12"})
    screen = Screen(live_server.url, {"ward": "7B", "token": live_server.add_display()["token"]}).connect()
    snapshot = screen.snapshots[0]
    screen.close()
    assert snapshot["stats"]["counts"]["very_poor"] == 1  # one tap, counted once
    assert [a["kind"] for a in snapshot["open_alerts"]] == ["follow_up"]  # the request for a nurse is heard


def test_a_revoked_python_kiosk_keeps_its_outbox_and_the_admin_page_shows_it(live_server, tmp_path):
    kiosk = live_server.add_kiosk(label="Bay 1")
    live_server.stop()
    live_server.cli("kiosk", "revoke", kiosk["kiosk_id"])  # while the kiosk is offline with taps waiting
    client = KioskClient(live_server.url, kiosk["token"], tmp_path / "outbox.sqlite").start()
    try:
        taps = [client.tap("poor"), client.tap("good", follow_up={})]
        live_server.start()
        wait_until(lambda: client.refusal, timeout=10, what="the kiosk to learn it is revoked")
        assert client.refusal["error"] == "revoked_token"
        assert sorted(r["id"] for r in client.outbox.pending()) == sorted(t["id"] for t in taps)
    finally:
        client.stop()
    live_server.add_staff("admin", role="admin")
    page = requests.get(live_server.url + "/admin/ward/7B/kiosks", headers={"Cookie": staff_cookie(live_server.url, "admin")}, timeout=10).text
    row = re.search(rf'<tr data-kiosk-id="{kiosk["kiosk_id"]}".*?</tr>', page, re.S).group(0)
    assert "Revoked" in row and re.search(r"<td>2\b", row), row
    assert live_server.export() == []
