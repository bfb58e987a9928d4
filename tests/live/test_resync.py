"""A ward screen that was cut off (Wi-Fi drop, server restart, its own reconnect) misses no alert.

The screen is a python-socketio /staff client with a wall-display token that keeps its open alerts the way
the ward page does: every `snapshot` replaces them, every `alert` event updates one. Follow-up requests
raise alerts at once, so each test knows exactly which alerts the screen must show. (python-socketio hands
each incoming message to its own thread, so the tests never let a snapshot and an alert arrive together.)
"""

from __future__ import annotations

import threading

import pytest
import socketio

from kiosk.client import KioskClient, make_rating
from server.ward.alerts import ACTIVE
from shared.protocol import ACKNOWLEDGE_ALERT, KIOSK_NAMESPACE, RATING, RESOLVE_ALERT, STAFF_NAMESPACE

from support import WifiDrop, kiosk_socket, staff_cookie, wait_until


class WardScreen:
    """The open alerts a ward screen shows, kept as ward.js keeps them, over its own reconnecting socket."""

    def __init__(self, url: str, auth: dict, headers: dict | None = None):
        self.url, self.auth, self.headers = url, auth, headers
        self.alerts: dict[str, dict] = {}
        self.snapshots = 0
        self._lock = threading.Lock()
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=0.5, randomization_factor=0)
        self.sio.on("snapshot", self._snapshot, namespace=STAFF_NAMESPACE)
        self.sio.on("alert", self._alert, namespace=STAFF_NAMESPACE)

    def _snapshot(self, snapshot: dict) -> None:
        with self._lock:
            self.alerts = {a["id"]: a for a in snapshot["open_alerts"]}
            self.snapshots += 1

    def _alert(self, alert: dict) -> None:
        with self._lock:
            if alert["status"] in ACTIVE:
                self.alerts[alert["id"]] = alert
            else:
                self.alerts.pop(alert["id"], None)

    def connect(self) -> WardScreen:
        seen = self.snapshots
        self.sio.connect(self.url, namespaces=[STAFF_NAMESPACE], auth=self.auth, headers=self.headers,
                         transports=["websocket"], wait_timeout=5)
        self.wait_for_snapshot(after=seen)
        return self

    def wait_for_snapshot(self, after: int, timeout: float = 15) -> None:
        wait_until(lambda: self.snapshots > after, timeout=timeout, what="a fresh snapshot")

    def showing(self) -> dict[str, str]:
        """rating id -> status of every alert on the screen."""
        with self._lock:
            return {a["rating_id"]: a["status"] for a in self.alerts.values()}

    def close(self) -> None:
        self.sio.disconnect()


@pytest.fixture
def wifi(live_server):
    relay = WifiDrop(live_server.port)
    yield relay
    relay.close()


@pytest.fixture
def display(live_server) -> dict:
    """The auth a wall display connects with."""
    return {"token": live_server.add_display()["token"]}


def ask_for_help(kiosk: socketio.Client, where: str) -> str:
    """A patient taps "I'd like someone to talk to me": a follow-up alert at once. Returns the rating id."""
    rating = make_rating("neither", follow_up={"location": where})
    assert kiosk.call(RATING, rating, namespace=KIOSK_NAMESPACE)["ok"]
    return rating["id"]


def signed_in_sister(live_server) -> WardScreen:
    """Ward 7B's sister, signed in through the real form, on her own screen (she may act on alerts)."""
    username, password = live_server.add_staff("sister")
    cookie = staff_cookie(live_server.url, username, password)
    return WardScreen(live_server.url, {"ward": "7B"}, headers={"Cookie": cookie}).connect()


def act(sister: WardScreen, step: str, rating_id: str, **details) -> dict:
    """The sister acknowledges or resolves the alert a rating raised, as seen on her own screen."""
    wait_until(lambda: rating_id in sister.showing(), what="the alert on the sister's screen")
    alert = next(a for a in sister.alerts.values() if a["rating_id"] == rating_id)
    return sister.sio.call(step, dict(details, id=alert["id"]), namespace=STAFF_NAMESPACE)


def ward_with_an_alert(live_server, screen: WardScreen) -> tuple[WardScreen, socketio.Client, WardScreen, str]:
    """A connected screen, a kiosk, the signed-in sister, and one follow-up alert the screen shows (its rating id)."""
    screen.connect()
    kiosk = kiosk_socket(live_server.url, live_server.add_kiosk()["token"])
    sister = signed_in_sister(live_server)
    rating_id = ask_for_help(kiosk, "Bay 1")
    wait_until(lambda: rating_id in screen.showing(), what="the alert live")
    return screen, kiosk, sister, rating_id


def test_a_screen_whose_wifi_dropped_shows_every_alert_raised_and_none_resolved_meanwhile(live_server, wifi, display):
    screen, kiosk, sister, before = ward_with_an_alert(live_server, WardScreen(wifi.url, display))

    wifi.cut()
    wait_until(lambda: not screen.sio.connected, what="the screen to notice the drop")
    meanwhile = [ask_for_help(kiosk, f"Bay {n}") for n in (2, 3, 4)]
    assert act(sister, RESOLVE_ALERT, before, action="Sat with him")["ok"]
    seen = screen.snapshots
    wifi.heal()

    screen.wait_for_snapshot(after=seen)
    assert screen.showing() == {rating_id: "open" for rating_id in meanwhile}
    kiosk.disconnect()
    for each in (sister, screen):
        each.close()


def test_a_screen_cut_off_while_the_server_was_killed_and_restarted_gets_every_alert(live_server, wifi, display, tmp_path):
    screen = WardScreen(wifi.url, display).connect()
    tablet = KioskClient(live_server.url, live_server.add_kiosk()["token"], tmp_path / "outbox.sqlite").start()
    before = tablet.tap("poor", follow_up={"location": "Bay 1"})["id"]
    wait_until(lambda: before in screen.showing(), what="the alert live")

    wifi.cut()
    live_server.kill()
    while_down = [tablet.tap("neither", follow_up={"location": f"Bay {n}"})["id"] for n in (2, 3)]
    live_server.start()
    assert tablet.wait_drained(20), "the tablet's outbox should drain once the server is back"
    after = tablet.tap("very_poor", follow_up={"location": "Bay 4"})["id"]
    assert tablet.wait_drained(10)
    seen = screen.snapshots
    wifi.heal()

    screen.wait_for_snapshot(after=seen)
    assert screen.showing() == {rating_id: "open" for rating_id in [before, *while_down, after]}
    tablet.stop()
    screen.close()


def test_a_screen_reconnecting_by_itself_after_a_restart_gets_the_alerts_tapped_while_the_server_was_down(live_server, display, tmp_path):
    screen = WardScreen(live_server.url, display).connect()
    token, outbox = live_server.add_kiosk()["token"], tmp_path / "outbox.sqlite"
    tablet = KioskClient(live_server.url, token, outbox).start()
    asked = [tablet.tap("neither", follow_up={"location": "Bay 1"})["id"]]
    wait_until(lambda: set(asked) <= set(screen.showing()), what="the alert live")

    seen = screen.snapshots
    live_server.kill()
    asked += [tablet.tap("poor", follow_up={"location": f"Bay {n}"})["id"] for n in (2, 3)]
    tablet.stop()  # the tablet reboots too, and comes back after the screen (whose events would otherwise race)
    live_server.start()
    screen.wait_for_snapshot(after=seen)
    assert screen.showing() == {asked[0]: "open"}
    tablet = KioskClient(live_server.url, token, outbox).start()
    assert tablet.wait_drained(20)
    wait_until(lambda: screen.showing() == {rating_id: "open" for rating_id in asked}, what="every alert on the screen")
    tablet.stop()
    screen.close()


def test_a_screen_that_disconnects_and_connects_again_gets_what_changed_meanwhile(live_server, display):
    screen, kiosk, sister, settled = ward_with_an_alert(live_server, WardScreen(live_server.url, display))
    screen.close()

    first, second = ask_for_help(kiosk, "Bay 5"), ask_for_help(kiosk, "Side room 2")
    assert act(sister, ACKNOWLEDGE_ALERT, first)["ok"]
    assert act(sister, RESOLVE_ALERT, settled, action="Fetched her glasses")["ok"]

    screen.connect()
    assert screen.showing() == {first: "acknowledged", second: "open"}
    assert screen.snapshots == 2
    kiosk.disconnect()
    for each in (sister, screen):
        each.close()
