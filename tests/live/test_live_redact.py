"""Identifying data never reaches the disk, the screens, the alerts or the export (real server, real clients)."""

from __future__ import annotations

import csv
import io

import requests
import socketio

from kiosk.client import make_rating
from server.ward.redact import EMAIL, NHS_NUMBER, PHONE_NUMBER, POSTCODE
from shared.protocol import KIOSK_NAMESPACE, RATING

from support import Screen, ack_body, kiosk_socket, staff_cookie, wait_until

TYPED = "I am scared. NHS no 943 476 5919, ring my son on 07700 900123 or jo.smith@example.com, we live at SW1A 1AA"
MASKED = f"I am scared. NHS no {NHS_NUMBER}, ring my son on {PHONE_NUMBER} or {EMAIL}, we live at {POSTCODE}"
IDENTIFIERS = ("943 476 5919", "07700 900123", "jo.smith@example.com", "SW1A 1AA")


def files_holding(data_dir, words) -> list[str]:
    """Every file under the data dir that holds any of these words."""
    return [str(path) for path in data_dir.rglob("*") if path.is_file() and any(w.encode() in path.read_bytes() for w in words)]


def test_a_comment_and_location_are_stored_shown_alerted_and_exported_masked(live_server):
    live_server.add_staff()
    cookie = staff_cookie(live_server.url, "sister")
    screen = Screen(live_server.url, {"ward": "7B"}, cookie=cookie).connect()
    tablet = kiosk_socket(live_server.url, live_server.add_kiosk()["token"])
    rating = make_rating("very_poor", comment=TYPED, follow_up={"location": "bay 3 bed 4, 07911 123456"})

    first = tablet.call(RATING, rating, namespace=KIOSK_NAMESPACE)
    again = tablet.call(RATING, rating, namespace=KIOSK_NAMESPACE)  # the tablet missed the ack and resends
    tablet.disconnect()
    # It raises alerts, so its ack also says they are durable.
    assert ack_body(first) == {"ok": True, "id": rating["id"], "duplicate": False, "alert_durable": True}
    assert ack_body(again) == {"ok": True, "id": rating["id"], "duplicate": True}

    wait_until(lambda: screen.alerts, what="the alert")
    screen.close()
    assert [r["comment"] for r in screen.ratings] == [MASKED]
    assert [r["follow_up"] for r in screen.ratings] == [{"location": f"bay 3 bed 4, {PHONE_NUMBER}"}]
    [comment_alert] = screen.alerts  # one card with both reasons: asks for someone, urgent comment
    assert comment_alert["reasons"] == ["follow_up", "comment"]
    assert comment_alert["detail"] == {"phrase": "scared"}  # the words around the number still raise the alert
    assert comment_alert["comment"] == MASKED
    page = requests.get(f"{live_server.url}/f/{comment_alert['follow_up_token']}", headers={"Cookie": cookie})
    assert page.status_code == 200 and PHONE_NUMBER in page.text and "07700" not in page.text

    assert [(r["comment"], r["follow_up"]) for r in live_server.export()] == [(MASKED, {"location": f"bay 3 bed 4, {PHONE_NUMBER}"})]
    rows = list(csv.DictReader(io.StringIO(live_server.cli("export", "--ward", "7B").stdout)))
    assert [r["comment"] for r in rows] == [MASKED]
    assert files_holding(live_server.data_dir, IDENTIFIERS + ("07911",)) == []


def test_a_comment_from_a_patients_own_phone_is_masked_too(live_server):
    phone = socketio.Client(reconnection=False)
    phone.connect(live_server.url, namespaces=[KIOSK_NAMESPACE], auth={"own_ward": "7B", "device": "0f1e2d3c-phone"}, transports=["websocket"])
    ack = phone.call(RATING, make_rating("good", comment="Lovely staff, text me on +44 7911 123456"), namespace=KIOSK_NAMESPACE)
    phone.disconnect()
    assert ack["ok"] is True
    assert [r["comment"] for r in live_server.export()] == [f"Lovely staff, text me on {PHONE_NUMBER}"]
