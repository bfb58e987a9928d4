"""The matrons' overview on a real server with real python-socketio clients: only covered wards, live, resynced.

Two people signed in through the real login form watch /overview at once: a matron covering 7A and 7B,
and the sister of 9C. Whatever happens on a ward, its row reaches the overview of everyone who covers it
and never anyone else's socket."""

from __future__ import annotations

import json
import threading

import pytest
import socketio

from kiosk.client import make_rating
from shared.protocol import KIOSK_NAMESPACE, OVERVIEW, OVERVIEW_NAMESPACE, OVERVIEW_WARD, RATING

from support import WifiDrop, kiosk_socket, staff_cookie, wait_until


class Overview:
    """What an overview page receives, every event kept raw, over its own reconnecting socket."""

    def __init__(self, url: str, cookie: str | None):
        self.url, self.headers = url, ({"Cookie": cookie} if cookie else {})
        self.received: list[tuple[str, dict]] = []
        self.rows: dict[str, dict] = {}
        self.refusal = None
        self._lock = threading.Lock()
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=0.5, randomization_factor=0)
        self.sio.on(OVERVIEW, self._overview, namespace=OVERVIEW_NAMESPACE)
        self.sio.on(OVERVIEW_WARD, self._row, namespace=OVERVIEW_NAMESPACE)
        self.sio.on("connect_error", self._refused, namespace=OVERVIEW_NAMESPACE)

    def _refused(self, data=None):
        self.refusal = data.get("data") if isinstance(data, dict) else data

    def _overview(self, overview: dict) -> None:
        with self._lock:
            self.received.append((OVERVIEW, overview))
            self.rows = {row["code"]: row for row in overview["wards"]}

    def _row(self, row: dict) -> None:
        with self._lock:
            self.received.append((OVERVIEW_WARD, row))
            if row["seq"] >= self.rows.get(row["code"], {"seq": -1})["seq"]:
                self.rows[row["code"]] = row

    def snapshots(self) -> int:
        return sum(1 for event, _ in self.received if event == OVERVIEW)

    def connect(self) -> Overview:
        self.sio.connect(self.url, namespaces=[OVERVIEW_NAMESPACE], headers=self.headers, transports=["websocket"], wait_timeout=5)
        wait_until(self.snapshots, what="the overview's rows")
        return self

    def everything_received(self) -> str:
        with self._lock:
            return json.dumps(self.received)

    def close(self) -> None:
        self.sio.disconnect()


@pytest.fixture
def three_wards(live_server):
    """Wards 7A, 7B (from the fixture) and 9C, a tablet on each, a matron of 7A and 7B, and 9C's sister."""
    for code in ("7A", "9C"):
        live_server.add_ward(code, f"Ward {code}")
    kiosks = {code: kiosk_socket(live_server.url, live_server.add_kiosk(code)["token"]) for code in ("7A", "7B", "9C")}
    live_server.add_staff("matron", ("7A", "7B"), "matron")
    live_server.add_staff("sister9c", "9C", "sister")
    yield kiosks
    for kiosk in kiosks.values():
        kiosk.disconnect()


def rate(kiosk: socketio.Client, score: str, **extra) -> None:
    assert kiosk.call(RATING, make_rating(score, **extra), namespace=KIOSK_NAMESPACE)["ok"]


def test_a_ward_the_viewer_does_not_cover_never_reaches_their_socket(live_server, three_wards):
    matron = Overview(live_server.url, staff_cookie(live_server.url, "matron")).connect()
    sister = Overview(live_server.url, staff_cookie(live_server.url, "sister9c")).connect()
    assert list(matron.rows) == ["7A", "7B"] and list(sister.rows) == ["9C"]

    rate(three_wards["9C"], "very_poor", comment="Ward 9C secret words", follow_up={"location": "Bay 9"})
    rate(three_wards["7A"], "good")
    wait_until(lambda: sister.rows["9C"]["today"]["total"] == 1 and sister.rows["9C"]["open_alerts"], what="9C live on its sister's overview")
    wait_until(lambda: matron.rows["7A"]["today"]["total"] == 1, what="7A live on the matron's overview")
    rate(three_wards["7B"], "poor")  # sent last: once it has arrived, anything about 9C would have too
    wait_until(lambda: matron.rows["7B"]["today"]["total"] == 1, what="7B live on the matron's overview")

    assert "9C" not in matron.everything_received() and "secret words" not in matron.everything_received()
    assert "7A" not in sister.everything_received() and "7B" not in sister.everything_received()
    assert "secret words" not in sister.everything_received() and "Bay 9" not in sister.everything_received()  # rows carry no patient's words
    assert [row["code"] for event, row in matron.received if event == OVERVIEW_WARD] == ["7A", "7B"]
    for screen in (matron, sister):
        screen.close()


def test_a_row_shows_the_ward_as_the_ward_screen_counts_it(live_server, three_wards):
    matron = Overview(live_server.url, staff_cookie(live_server.url, "matron")).connect()
    for score in ("very_good", "very_good", "good", "poor", "dont_know"):
        rate(three_wards["7B"], score)
    rate(three_wards["7B"], "neither", follow_up={"location": "Bay 2"})
    wait_until(lambda: matron.rows["7B"]["today"]["total"] == 6, what="six ratings on 7B")
    row = matron.rows["7B"]
    assert row["today"] == {"total": 6, "positive_pct": 50.0, "negative_pct": 16.7}
    assert row["month"]["total"] == 6 and row["month"]["positive_pct"] == 50.0
    assert [a["kind"] for a in row["open_alerts"]] == ["follow_up"]
    assert row["kiosks"] == {"total": 1, "offline": 0} and row["last_rating"]
    assert 0 <= row["trend"]["closeness"] <= 1
    # a ward with an open alert comes first when the page opens again
    again = Overview(live_server.url, staff_cookie(live_server.url, "matron")).connect()
    assert list(again.rows) == ["7B", "7A"]
    three_wards["7B"].disconnect()  # the tablet goes away: its ward shows it offline
    wait_until(lambda: matron.rows["7B"]["kiosks"]["offline"] == 1, what="the tablet offline")
    for screen in (matron, again):
        screen.close()


def test_an_overview_cut_off_resyncs_with_fresh_rows_on_reconnect(live_server, three_wards):
    wifi = WifiDrop(live_server.port)
    matron = Overview(wifi.url, staff_cookie(live_server.url, "matron")).connect()
    wifi.cut()
    wait_until(lambda: not matron.sio.connected, what="the overview to notice the drop")
    rate(three_wards["7A"], "very_poor", follow_up={"location": "Bay 4"})
    rate(three_wards["7A"], "good")
    seen = matron.snapshots()
    wifi.heal()
    wait_until(lambda: matron.snapshots() > seen, timeout=15, what="fresh rows after the reconnect")
    assert matron.rows["7A"]["today"]["total"] == 2 and len(matron.rows["7A"]["open_alerts"]) == 1
    assert list(matron.rows) == ["7A", "7B"]
    matron.close()
    wifi.close()


@pytest.mark.parametrize("who", ["nobody", "wall display"])
def test_the_overview_needs_someone_signed_in(live_server, three_wards, who):
    overview = Overview(live_server.url, None)
    auth = {"token": live_server.add_display("7B")["token"]} if who == "wall display" else None
    with pytest.raises(socketio.exceptions.ConnectionError):
        overview.sio.connect(live_server.url, namespaces=[OVERVIEW_NAMESPACE], auth=auth, transports=["websocket"], wait_timeout=5)
    assert overview.refusal["error"] == "not_signed_in" and not overview.received


def test_signing_out_everywhere_closes_the_overview(live_server, three_wards):
    cookie = staff_cookie(live_server.url, "matron")
    matron = Overview(live_server.url, cookie).connect()
    live_server.cli("staff", "sign-out", "matron")
    wait_until(lambda: not matron.sio.connected, what="the overview closed")
    again = Overview(live_server.url, cookie)
    with pytest.raises(socketio.exceptions.ConnectionError):
        again.connect()
    assert again.refusal["error"] == "not_signed_in"
    rate(three_wards["7A"], "good")
    assert [event for event, _ in matron.received + again.received] == [OVERVIEW]
