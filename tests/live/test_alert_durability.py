"""An alert is never lost to a write error: it stays on the screens, the banner says so, and it is saved
as soon as the disk lets it — without a restart. A real server; only the ward's alerts file is made
unwritable (a directory where its temp file must go, which stops root too)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from kiosk.client import make_rating
from shared.protocol import ACKNOWLEDGE_ALERT, KIOSK_NAMESPACE, RATING, STAFF_NAMESPACE

from support import Screen, kiosk_socket, staff_cookie, wait_until


def healthz(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


def block_alerts_file(live_server):
    """The ward's alerts file can no longer be replaced; everything else still writes."""
    blocker = live_server.data_dir / "alerts" / "7B.json.tmp"
    blocker.mkdir(parents=True)
    return blocker


def stored_alerts(live_server) -> list[dict]:
    path = live_server.data_dir / "alerts" / "7B.json"
    return list(json.loads(path.read_text()).get("alerts", {}).values()) if path.exists() else []


class WatchingScreen(Screen):
    """A signed-in ward screen that also keeps the storage banner's status events."""

    def __init__(self, live_server):
        username, password = live_server.add_staff("nurse", "7B", "staff")
        super().__init__(live_server.url, {"ward": "7B"}, cookie=staff_cookie(live_server.url, username, password))
        self.statuses: list[dict] = []
        self.sio.on("status", self.statuses.append, namespace=STAFF_NAMESPACE)


def test_a_failed_alert_save_keeps_the_alert_shows_the_banner_and_saves_it_once_the_disk_recovers(any_live_server):
    live_server = any_live_server
    screen = WatchingScreen(live_server).connect()
    tablet = kiosk_socket(live_server.url, live_server.add_kiosk()["token"])
    blocker = block_alerts_file(live_server)

    rating = make_rating("poor", comment="Please help me, nobody comes", follow_up={"location": "Bay 1, bed 4"})
    ack = tablet.call(RATING, rating, namespace=KIOSK_NAMESPACE)
    assert ack["ok"] and ack["alert_durable"] is False, ack
    wait_until(lambda: screen.alerts, timeout=2, what="the alert on the screen")
    assert [(a["kind"], a["reasons"]) for a in screen.alerts] == [("follow_up", ["follow_up", "comment"])]  # one card per patient
    wait_until(lambda: screen.statuses and screen.statuses[-1]["storage_ok"] is False, what="the storage banner")
    assert "alert" in screen.statuses[-1]["message"].lower()
    status, body = healthz(live_server.url)
    assert status == 503 and "alert" in body["storage"].lower(), body

    later = Screen(live_server.url, {"token": live_server.add_display()["token"]}).connect()
    snapshot = later.snapshots[0]
    assert {a["id"] for a in snapshot["open_alerts"]} == {a["id"] for a in screen.alerts}
    assert snapshot["status"]["storage_ok"] is False
    later.close()

    follow_up = next(a for a in screen.alerts if a["kind"] == "follow_up")
    taken = screen.sio.call(ACKNOWLEDGE_ALERT, {"id": follow_up["id"]}, namespace=STAFF_NAMESPACE)
    assert taken["ok"] and taken["alert"]["acknowledged_by"] == "nurse"  # staff can still act on it

    blocker.rmdir()  # IT frees the disk: no restart, no further rating
    wait_until(lambda: screen.statuses[-1]["storage_ok"] is True, timeout=15, what="the banner to clear")
    assert healthz(live_server.url)[0] == 200
    stored = {a["id"]: a["status"] for a in stored_alerts(live_server)}
    assert stored == {a["id"]: "acknowledged" if a["id"] == follow_up["id"] else "open" for a in screen.alerts}

    next_ack = tablet.call(RATING, make_rating("good", follow_up={}), namespace=KIOSK_NAMESPACE)
    assert next_ack["alert_durable"] is True
    tablet.disconnect()
    screen.close()
    live_server.kill()
    live_server.start()
    after = Screen(live_server.url, {"token": live_server.add_display()["token"]}).connect()
    assert {a["rating_id"] for a in after.snapshots[0]["open_alerts"]} == {rating["id"], next_ack["id"]}
    after.close()


def test_start_up_raises_an_alert_lost_days_ago_from_the_journal(live_server):
    two_days_ago = datetime.now(timezone.utc) - timedelta(days=2)
    live_server.stop()
    live_server.start(clock=two_days_ago.isoformat())
    tablet = kiosk_socket(live_server.url, live_server.add_kiosk()["token"])
    blocker = block_alerts_file(live_server)
    rating = make_rating("neither", follow_up={"location": "Side room 2"}, tapped_at=two_days_ago)
    ack = tablet.call(RATING, rating, namespace=KIOSK_NAMESPACE)
    assert ack["ok"] and ack["alert_durable"] is False
    tablet.disconnect()
    live_server.kill()  # before the disk comes back: the alert was never saved
    blocker.rmdir()
    live_server.start()
    screen = Screen(live_server.url, {"token": live_server.add_display()["token"]}).connect()
    assert [(a["kind"], a["rating_id"]) for a in screen.snapshots[0]["open_alerts"]] == [("follow_up", rating["id"])]
    screen.close()
