"""Trend, follow-up and comment alerts through a real server, real kiosks and real ward screens."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import socketio

from kiosk.client import make_rating
from shared.protocol import ACKNOWLEDGE_ALERT, KIOSK_NAMESPACE, RATING, RESOLVE_ALERT, STAFF_NAMESPACE

from support import Screen, kiosk_socket, staff_cookie, wait_until

IN_CONTROL = ["poor"] + ["good"] * 11  # 1 in 12 negative: about the 8 % baseline
SHIFTED = ["poor", "good", "very_poor", "very_good", "good"]  # 40 % negative


class Taps:
    """Ratings with increasing tap times, sent one by one with the ack time of each recorded."""

    def __init__(self, client: socketio.Client, start: datetime | None = None):
        self.client = client
        self.next_tap = start or datetime.now(timezone.utc) - timedelta(hours=2)
        self.acked_at: dict[str, float] = {}

    def send(self, score: str, **extra) -> dict:
        rating = make_rating(score, tapped_at=self.next_tap, **extra)
        self.next_tap += timedelta(seconds=20)
        ack = self.client.call(RATING, rating, namespace=KIOSK_NAMESPACE)
        assert ack["ok"], ack
        self.acked_at[rating["id"]] = time.perf_counter()
        return rating


class TimedScreen(Screen):
    """A ward screen that notes when each alert arrived."""

    def __init__(self, url, auth, **kwargs):
        super().__init__(url, auth, **kwargs)
        self.alert_arrived: dict[str, float] = {}
        self.sio.on("alert", self._alert, namespace=STAFF_NAMESPACE)

    def _alert(self, alert):
        self.alert_arrived.setdefault(alert["id"], time.perf_counter())
        self.alerts.append(alert)


def test_a_shift_from_8_to_40_percent_raises_exactly_one_trend_alert_within_a_second(live_server):
    live_server.known_ward()
    screen = TimedScreen(live_server.url, {"token": live_server.add_display()["token"]}).connect()
    taps = Taps(kiosk_socket(live_server.url, live_server.add_kiosk()["token"]))
    for score in IN_CONTROL * 25:  # 300 ratings at the baseline rate
        taps.send(score)
    time.sleep(0.3)
    assert screen.alerts == [], "no trend alert while the ward is in control"
    sent_after_shift = 0
    while not screen.alerts and sent_after_shift < 100:
        taps.send(SHIFTED[sent_after_shift % len(SHIFTED)])
        sent_after_shift += 1
        time.sleep(0.01)
    wait_until(lambda: screen.alerts, what="the trend alert")
    alert = screen.alerts[0]
    assert alert["kind"] == "trend" and alert["status"] == "open"
    assert "were poor or very poor" in alert["summary"] and "usually 1 in 12" in alert["summary"]
    assert alert["follow_up_url"].startswith(live_server.url + "/f/")
    latency = screen.alert_arrived[alert["id"]] - taps.acked_at[alert["rating_id"]]
    assert latency < 1.0
    assert sent_after_shift < 40, f"the detector took {sent_after_shift} ratings after the shift"
    for _ in range(40):  # the trend carries on, but the alert is held until acknowledged
        taps.send(SHIFTED[sent_after_shift % len(SHIFTED)])
        sent_after_shift += 1
    time.sleep(0.3)
    assert [a["kind"] for a in screen.alerts] == ["trend"]
    taps.client.disconnect()
    screen.close()


def signed_in_screen(live_server) -> TimedScreen:
    username, password = live_server.add_staff("nurse", "7B", "staff")
    return TimedScreen(live_server.url, {"ward": "7B"}, cookie=staff_cookie(live_server.url, username, password)).connect()


def test_a_follow_up_request_alerts_at_once_and_survives_kill_9(live_server):
    screen = signed_in_screen(live_server)
    wall = Screen(live_server.url, {"token": live_server.add_display()["token"]}).connect()
    taps = Taps(kiosk_socket(live_server.url, live_server.add_kiosk()["token"]))
    rating = taps.send("neither", follow_up={"location": "Bay 3, bed 2"})
    wait_until(lambda: screen.alerts, timeout=1.0, what="the follow-up alert within a second")
    alert = screen.alerts[0]
    assert (alert["kind"], alert["location"], alert["rating_id"]) == ("follow_up", "Bay 3, bed 2", rating["id"])
    wait_until(lambda: wall.alerts, what="the alert on the corridor wall display")
    assert wall.alerts[0]["location"] is None and wall.alerts[0]["words_hidden"] is True
    taps.client.disconnect()
    screen.close()
    wall.close()
    live_server.kill()
    live_server.start()
    after = Screen(live_server.url, {"token": live_server.add_display()["token"]}).connect()
    assert [a["id"] for a in after.snapshots[0]["open_alerts"]] == [alert["id"]]
    after.close()


def test_an_urgent_comment_alerts_at_once(live_server):
    screen = signed_in_screen(live_server)
    taps = Taps(kiosk_socket(live_server.url, live_server.add_kiosk()["token"]))
    taps.send("poor", comment="At night I felt unsafe <b>and</b> nobody came")
    wait_until(lambda: screen.alerts, timeout=1.0, what="the comment alert")
    assert screen.alerts[0]["kind"] == "comment"
    assert "unsafe" in screen.alerts[0]["summary"]
    assert screen.alerts[0]["comment"] == "At night I felt unsafe <b>and</b> nobody came"
    taps.client.disconnect()
    screen.close()


def test_a_half_built_trend_survives_kill_9(live_server):
    live_server.known_ward()
    kiosk = live_server.add_kiosk()
    taps = Taps(kiosk_socket(live_server.url, kiosk["token"]))
    for _ in range(4):  # 4 x 0.852 = 3.4: close to the line (h = 4.04 at 8 % and 30 a day), not over it
        taps.send("very_poor")
    taps.client.disconnect()
    live_server.kill()
    live_server.start()
    screen = Screen(live_server.url, {"token": live_server.add_display()["token"]}).connect()
    assert screen.snapshots[0]["trend"]["closeness"] > 0.8
    taps.client = kiosk_socket(live_server.url, kiosk["token"])
    taps.send("poor")
    wait_until(lambda: screen.alerts, what="the trend alert after the restart")
    assert screen.alerts[0]["kind"] == "trend"
    assert screen.alerts[0]["summary"].startswith("5 of the last 5")
    taps.client.disconnect()
    screen.close()


def test_staff_acknowledge_and_resolve_live_and_a_wall_display_cannot(live_server):
    username, password = live_server.add_staff("sister", "7B", "sister")
    wall = Screen(live_server.url, {"token": live_server.add_display()["token"]}).connect()
    taps = Taps(kiosk_socket(live_server.url, live_server.add_kiosk()["token"]))
    taps.send("good", follow_up={})
    wait_until(lambda: wall.alerts, what="the follow-up alert")
    alert_id = wall.alerts[0]["id"]

    refused = wall.sio.call(ACKNOWLEDGE_ALERT, {"id": alert_id}, namespace=STAFF_NAMESPACE)
    assert refused["error"] == "read_only"

    nurse = socketio.Client(reconnection=False)
    nurse.connect(live_server.url, namespaces=[STAFF_NAMESPACE], auth={"ward": "7B"},
                  headers={"Cookie": staff_cookie(live_server.url, username, password)}, transports=["websocket"])
    acked = nurse.call(ACKNOWLEDGE_ALERT, {"id": alert_id}, namespace=STAFF_NAMESPACE)
    assert acked["ok"] and acked["alert"]["acknowledged_by"] == "sister"
    wait_until(lambda: wall.alerts[-1]["status"] == "acknowledged", what="the wall display to see it acknowledged")

    no_action = nurse.call(RESOLVE_ALERT, {"id": alert_id, "action": " "}, namespace=STAFF_NAMESPACE)
    assert no_action["ok"] is False and "what was done" in no_action["message"]
    done = nurse.call(RESOLVE_ALERT, {"id": alert_id, "action": "Sat with him, sorted his pillows",
                                       "public_note": "You asked for help at night: we now do 2-hourly rounds"}, namespace=STAFF_NAMESPACE)
    assert done["ok"] and done["alert"]["status"] == "resolved"
    wait_until(lambda: wall.alerts[-1]["status"] == "resolved", what="the wall display to see it resolved")
    nurse.disconnect()
    taps.client.disconnect()
    wall.close()

    again = Screen(live_server.url, {"token": live_server.add_display()["token"]}).connect()
    assert again.snapshots[0]["open_alerts"] == []
    again.close()


def test_one_card_per_patient_with_both_reasons_and_a_later_rating_is_a_new_card(live_server):
    screen = signed_in_screen(live_server)
    wall = Screen(live_server.url, {"token": live_server.add_display()["token"]}).connect()
    taps = Taps(kiosk_socket(live_server.url, live_server.add_kiosk()["token"]))
    first = taps.send("very_poor", comment="I felt unsafe last night", follow_up={"location": "Bay 2"})
    wait_until(lambda: screen.alerts, timeout=1.0, what="the alert")
    time.sleep(0.3)  # a second card would have arrived by now
    [card] = screen.alerts
    assert (card["kind"], card["reasons"], card["rating_id"]) == ("follow_up", ["follow_up", "comment"], first["id"])
    assert "come and talk to them" in card["summary"] and "\u201cunsafe\u201d" in card["summary"]
    assert (card["location"], card["detail"]) == ("Bay 2", {"phrase": "unsafe"})
    wait_until(lambda: wall.alerts, what="the card on the wall display")
    assert wall.alerts[0]["reasons"] == ["follow_up", "comment"] and "unsafe" not in str(wall.alerts[0])

    later = taps.send("poor", comment="Still unsafe", follow_up={})  # the same patient again: a new card
    wait_until(lambda: len(screen.alerts) == 2, timeout=1.0, what="the second card")
    assert screen.alerts[1]["rating_id"] == later["id"] and screen.alerts[1]["reasons"] == ["follow_up", "comment"]
    live_server.kill()  # and after a crash, start-up raises no extra card for either
    live_server.start()
    after = Screen(live_server.url, {"token": live_server.add_display()["token"]}).connect()
    assert sorted(a["rating_id"] for a in after.snapshots[0]["open_alerts"]) == sorted([first["id"], later["id"]])
    for client in (taps.client, screen.sio, wall.sio, after.sio):
        client.disconnect()
