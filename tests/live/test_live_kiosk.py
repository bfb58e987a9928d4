"""A real `wardpulse serve` process and real python-socketio clients (the whole transport)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import socketio

from kiosk.client import KioskClient, make_rating
from shared.protocol import KIOSK_NAMESPACE, RATING

from support import Screen, ack_body, kiosk_socket, wait_until


def test_wrong_token_is_refused_with_a_reason(live_server):
    reasons = []
    client = socketio.Client(reconnection=False)
    client.on("connect_error", reasons.append, namespace=KIOSK_NAMESPACE)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(live_server.url, namespaces=[KIOSK_NAMESPACE], auth={"token": "not-a-token"}, transports=["websocket"])
    assert reasons[0]["data"]["error"] == "unknown_token"
    assert "enroll" in reasons[0]["message"]


def test_acked_rating_resent_is_stored_once(any_live_server):
    kiosk = any_live_server.add_kiosk()
    client = kiosk_socket(any_live_server.url, kiosk["token"])
    rating = make_rating("good", comment="Kind nurses")
    first = client.call(RATING, rating, namespace=KIOSK_NAMESPACE)
    again = client.call(RATING, rating, namespace=KIOSK_NAMESPACE)
    client.disconnect()
    assert ack_body(first) == {"ok": True, "id": rating["id"], "duplicate": False}
    assert ack_body(again) == {"ok": True, "id": rating["id"], "duplicate": True}
    stored = any_live_server.export()
    assert [(r["id"], r["score"], r["comment"]) for r in stored] == [(rating["id"], "good", "Kind nurses")]


BAD_PAYLOADS = [
    ("not an object", "invalid_payload"),
    ({"score": "good"}, "missing_field"),
    ({"score": "great"}, "invalid_score"),
    ({"score": 5}, "invalid_score"),
    ({"id": "12345"}, "invalid_id"),
    ({"tapped_at": "yesterday"}, "invalid_tapped_at"),
    ({"tapped_at": "2026-11-26T10:00:00"}, "invalid_tapped_at"),
    ({"clock": "roughly"}, "invalid_clock"),
    ({"device_time": "2099-01-01T10:00:00+01:00"}, "invalid_clock"),
    ({"comment": "x" * 1001}, "comment_too_long"),
    ({"comment": ["a list"]}, "invalid_comment"),
    ({"comment": "bell\x07"}, "invalid_comment"),
    ({"follow_up": {"location": "B" * 41}}, "location_too_long"),
    ({"follow_up": "bay 3"}, "invalid_follow_up"),
    ({"lang": "<script>"}, "invalid_lang"),
    ({"admin": True}, "unknown_field"),
]


@pytest.mark.parametrize("change, code", BAD_PAYLOADS, ids=[code + "-" + str(i) for i, (_, code) in enumerate(BAD_PAYLOADS)])
def test_each_bad_payload_is_refused_with_its_code_and_stores_nothing(live_server, change, code):
    kiosk = live_server.add_kiosk()
    client = kiosk_socket(live_server.url, kiosk["token"])
    if isinstance(change, dict):
        payload = make_rating("good")
        if "score" in change and "id" not in change and len(change) == 1 and change["score"] == "good":
            payload.pop("id")
        payload.update(change)
    else:
        payload = change
    ack = client.call(RATING, payload, namespace=KIOSK_NAMESPACE)
    client.disconnect()
    assert ack["ok"] is False
    assert ack["error"] == code
    assert len(ack["message"]) > 20  # a sentence a person can act on
    assert live_server.export() == []


def test_same_id_with_other_content_is_a_conflict_and_the_first_stays(live_server):
    kiosk = live_server.add_kiosk()
    client = kiosk_socket(live_server.url, kiosk["token"])
    rating = make_rating("very_good")
    client.call(RATING, rating, namespace=KIOSK_NAMESPACE)
    ack = client.call(RATING, dict(rating, score="very_poor"), namespace=KIOSK_NAMESPACE)
    client.disconnect()
    assert ack["error"] == "conflict"
    assert [r["score"] for r in live_server.export()] == ["very_good"]


def test_ward_screen_gets_its_own_wards_ratings_and_no_other(live_server):
    live_server.add_ward("4A", "Ward 4A")
    kiosk_7b = live_server.add_kiosk("7B")
    own = Screen(live_server.url, {"token": live_server.add_display("7B")["token"]}).connect()
    other = Screen(live_server.url, {"token": live_server.add_display("4A")["token"]}).connect()
    client = kiosk_socket(live_server.url, kiosk_7b["token"])
    rating = make_rating("poor", comment="<b>cold</b> food")
    client.call(RATING, rating, namespace=KIOSK_NAMESPACE)
    wait_until(lambda: own.ratings, what="the rating on ward 7B's screen")
    client.call(RATING, make_rating("good"), namespace=KIOSK_NAMESPACE)
    wait_until(lambda: len(own.ratings) == 2, what="the second rating")
    client.disconnect()
    assert own.ratings[0]["id"] == rating["id"]
    assert own.ratings[0]["ward"] == "7B"
    assert own.ratings[0]["comment"] is None and own.ratings[0]["words_hidden"]  # a corridor wall display
    assert own.ratings[1]["stats"]["counts"]["poor"] == 1
    assert own.ratings[1]["stats"]["total"] == 2
    assert other.ratings == []
    assert other.snapshots[0]["recent"] == []
    own.close()
    other.close()


def test_snapshot_on_reconnect_holds_what_was_missed(live_server):
    kiosk = live_server.add_kiosk()
    auth = {"token": live_server.add_display()["token"]}
    client = kiosk_socket(live_server.url, kiosk["token"])
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    sent = [make_rating(s, tapped_at=start + timedelta(minutes=i)) for i, s in enumerate(("good", "poor", "very_good"))]
    for rating in sent:
        client.call(RATING, rating, namespace=KIOSK_NAMESPACE)
    client.disconnect()
    screen = Screen(live_server.url, auth).connect()
    snapshot = screen.snapshots[0]
    screen.close()
    assert [r["id"] for r in snapshot["recent"]] == [r["id"] for r in reversed(sent)]
    assert snapshot["stats"]["total"] == 3
    assert snapshot["stats"]["positive_pct"] == pytest.approx(66.7)
    assert snapshot["ward"] == {"code": "7B", "name": "Ward 7B"}


def test_display_token_cannot_send_ratings(live_server):
    display = live_server.add_display()
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(live_server.url, namespaces=[KIOSK_NAMESPACE], auth={"token": display["token"]}, transports=["websocket"])


def test_every_acked_rating_survives_kill_9(any_live_server, tmp_path):
    kiosk = any_live_server.add_kiosk()
    client = KioskClient(any_live_server.url, kiosk["token"], tmp_path / "outbox.sqlite").start()
    wait_until(lambda: client.connected, what="the kiosk to connect")
    taps = [client.tap(score) for score in ["good", "poor", "very_good", "dont_know"] * 10]
    assert client.wait_drained(20)
    any_live_server.kill()  # the instant after the last ack
    any_live_server.start()
    stored = {r["id"]: r["score"] for r in any_live_server.export()}
    assert stored == {t["id"]: t["score"] for t in taps}
    client.stop()


def test_outbox_delivers_taps_made_while_the_server_was_down_exactly_once(live_server, tmp_path):
    kiosk = live_server.add_kiosk()
    live_server.stop()
    client = KioskClient(live_server.url, kiosk["token"], tmp_path / "outbox.sqlite").start()
    taps = [client.tap("good"), client.tap("neither")]
    client.stop()  # the tablet reboots while the server is still down
    client = KioskClient(live_server.url, kiosk["token"], tmp_path / "outbox.sqlite").start()
    assert len(client.outbox) == 2
    live_server.start()
    assert client.wait_drained(20)
    client.stop()
    assert sorted(r["id"] for r in live_server.export()) == sorted(t["id"] for t in taps)


def test_revoked_kiosk_is_dropped_at_once_and_refused_after(live_server):
    kiosk = live_server.add_kiosk()
    client = kiosk_socket(live_server.url, kiosk["token"])
    live_server.cli("kiosk", "revoke", kiosk["kiosk_id"])
    wait_until(lambda: not client.connected, what="the server to drop the revoked kiosk")
    reasons = []
    again = socketio.Client(reconnection=False)
    again.on("connect_error", reasons.append, namespace=KIOSK_NAMESPACE)
    with pytest.raises(socketio.exceptions.ConnectionError):
        again.connect(live_server.url, namespaces=[KIOSK_NAMESPACE], auth={"token": kiosk["token"]}, transports=["websocket"])
    assert reasons[0]["data"]["error"] == "revoked_token"


def test_healthz_reports_storage_writable(live_server):
    import json
    import urllib.request

    with urllib.request.urlopen(live_server.url + "/healthz") as response:
        assert response.status == 200
        assert json.load(response)["ok"] is True
