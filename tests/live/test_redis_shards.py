"""Three ward processes on one data dir, sharing a real Redis (Debian's redis-server, on loopback, no persistence).

Each process owns one ward (7A, 7B, 7C). Screens connect to any of them; kiosks reach their ward's owner.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest
import redis
import requests
import socketio

from kiosk.client import KioskClient, make_rating
from server.store.files import CONTROL_TOKEN
from shared.protocol import (
    ACKNOWLEDGE_ALERT,
    KIOSK_NAMESPACE,
    OVERVIEW,
    OVERVIEW_NAMESPACE,
    OVERVIEW_WARD,
    RATING,
    STAFF_NAMESPACE,
    WRONG_SERVER,
)

from support import SHARD_WARDS as WARDS
from support import STAFF_PASSWORD, Screen, WardShard, csrf_token_in, kiosk_socket, staff_cookie, try_sign_in, wait_until


def follow_up_tap(client: socketio.Client) -> dict:
    """A patient asks for someone to come: an alert at once."""
    rating = make_rating("poor", follow_up={"location": "Bay 2"})
    ack = client.call(RATING, rating, namespace=KIOSK_NAMESPACE, timeout=10)
    assert ack["ok"], ack
    return rating


def test_an_alert_raised_on_one_process_reaches_a_screen_on_another_within_a_second(shards):
    a, _b, c = shards
    display = c.add_display("7C")  # made through a running ward process, as an admin would
    screen = Screen(f"{a.url}?ward=7C", {"token": display["token"]}).connect()
    assert screen.snapshots[0]["ward"]["code"] == "7C", "the snapshot of a ward another process owns"
    kiosk = c.add_kiosk("7C")

    refused = socketio.Client(reconnection=False)
    errors = []
    refused.on("connect_error", errors.append, namespace=KIOSK_NAMESPACE)
    with pytest.raises(socketio.exceptions.ConnectionError):
        refused.connect(f"{a.url}?ward=7C", namespaces=[KIOSK_NAMESPACE], auth={"token": kiosk["token"]}, transports=["websocket"])
    refusal = errors[0]["data"]  # python-socketio: the server's message, and its data
    assert refusal["error"] == WRONG_SERVER and refusal["ward"] == "7C", errors
    assert refusal["message"].startswith("This ward is served by another WardPulse process")
    refused.disconnect()  # the refused namespace leaves the connection itself open

    tablet = kiosk_socket(f"{c.url}?ward=7C", kiosk["token"])
    sent = time.perf_counter()
    rating = follow_up_tap(tablet)
    alert = wait_until(lambda: next((x for x in screen.alerts if x["rating_id"] == rating["id"]), None), timeout=1.0,
                       what="the alert raised on C to reach the screen on A within 1 s")
    took = time.perf_counter() - sent
    assert alert["kind"] == "follow_up" and "Bay 2" not in json.dumps(alert), "a wall display never sees the location"
    assert took < 1.0, took
    tablet.disconnect()
    screen.close()


def test_revoking_a_kiosk_through_one_process_cuts_it_off_on_another(shards):
    a, b, _c = shards
    kiosk = b.add_kiosk("7B")
    tablet = kiosk_socket(f"{b.url}?ward=7B", kiosk["token"])
    token = (a.data_dir / CONTROL_TOKEN).read_text().strip()
    request = urllib.request.Request(  # through A, which does not own 7B: as `wardpulse kiosk revoke` may reach it
        a.url + "/control", data=json.dumps({"command": "revoke_kiosk", "args": {"kiosk_id": kiosk["kiosk_id"]}}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert json.load(answer)["ok"]
    wait_until(lambda: not tablet.connected, timeout=3, what="the revoked tablet on B to be cut off")
    again = KioskClient(b.url, kiosk["token"], b.data_dir.parent / "revoked.sqlite", ward="7B").start()
    wait_until(lambda: again.refusal, what="the revoked tablet to be refused on reconnecting")
    assert again.refusal["error"] == "revoked_token"
    again.stop()
    tablet.disconnect()


def test_redis_killed_and_restarted_loses_nothing_and_screens_catch_up(shards, redis_server, tmp_path):
    a, _b, c = shards
    far = Screen(f"{a.url}?ward=7C", {"token": c.add_display("7C")["token"]})
    statuses = []
    far.sio.on("status", statuses.append, namespace=STAFF_NAMESPACE)
    far.connect()
    assert far.snapshots[0]["status"]["others_ok"] is True
    near = Screen(f"{c.url}?ward=7C", {"token": c.add_display("7C")["token"]}).connect()
    tablet = KioskClient(c.url, c.add_kiosk("7C")["token"], tmp_path / "outbox.sqlite", ward="7C").start()
    wait_until(lambda: tablet.connected, what="the tablet to connect")

    redis_server.kill()
    taps = [tablet.tap(score) for score in ("good", "poor", "very_good", "neither", "good")]
    assert tablet.wait_drained(10), "acked after fsync with Redis down"
    wait_until(lambda: c.health()["message_queue"]["dropped"] >= 1, what="publishes that failed twice to be dropped, not queued for ever")
    wait_until(lambda: {r["id"] for r in near.ratings} >= {t["id"] for t in taps}, what="the screen on the owner to update")
    wait_until(lambda: not a.hears_others(), timeout=15, what="A's /healthz to say it does not hear the others")
    wait_until(lambda: statuses and statuses[-1]["others_ok"] is False, what="A's screen to say live updates are paused")

    redis_server.start()  # same port
    wait_until(lambda: a.hears_others(), timeout=15, what="A to listen again")
    wait_until(lambda: len(far.snapshots) > 1 and {t["id"] for t in taps} <= {r["id"] for r in far.snapshots[-1]["recent"]},
               timeout=10, what="the screen on A to resync from a fresh snapshot with every rating")
    assert far.snapshots[-1]["status"]["others_ok"] is True and statuses[-1]["others_ok"] is True, "the banner cleared"
    live = tablet.tap("very_good")
    wait_until(lambda: any(r["id"] == live["id"] for r in far.ratings), timeout=3, what="live events to cross again")
    tablet.stop()
    stored = c.export("7C")
    assert sorted(r["id"] for r in stored) == sorted(t["id"] for t in [*taps, live]), "each tap stored once"
    far.close()
    near.close()


# python-socketio's client leaves the websocket of a connection whose server was killed under it for the
# garbage collector; that is the client library's, not what this test is about.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ward_process_killed_while_its_kiosks_tap_loses_nothing_once_back(shards, tmp_path):
    _a, b, _c = shards
    tablets = [KioskClient(b.url, b.add_kiosk("7B")["token"], tmp_path / f"outbox-{i}.sqlite", ward="7B").start() for i in range(3)]
    taps = []
    for round_ in range(30):
        taps += [tablet.tap("good" if round_ % 4 else "poor") for tablet in tablets]
        if round_ == 10:
            b.kill()  # kill -9, mid-run
        if round_ == 20:
            b.start()
        time.sleep(0.05)
    for tablet in tablets:
        assert tablet.wait_drained(30), "every tap acked once the ward's process is back"
        tablet.stop()
    stored = b.export("7B")
    assert sorted(r["id"] for r in stored) == sorted(t["id"] for t in taps), "nothing lost, nothing twice"


def assert_alerts_cross(owner: WardShard, other: WardShard) -> None:
    """An alert raised on 7B's owner reaches a 7B screen on another process within 2 s."""
    screen = Screen(f"{other.url}?ward=7B", {"token": owner.add_display("7B")["token"]}).connect()
    tablet = kiosk_socket(f"{owner.url}?ward=7B", owner.add_kiosk("7B")["token"])
    rating = follow_up_tap(tablet)
    wait_until(lambda: any(x["rating_id"] == rating["id"] for x in screen.alerts), timeout=2, what="alerts to cross again")
    tablet.disconnect()
    screen.close()


def test_the_listener_stays_up_through_quiet_spells_and_resubscribes_when_redis_drops_it(shards, redis_server):
    a, b, _c = shards
    time.sleep(7)  # quiet: longer than redis-py 8's default 5 s socket timeout
    assert a.health()["message_queue"] == {"ok": True, "reconnects": 0, "dropped": 0}, "no reconnect loop when nothing happens"

    # Redis drops subscribers itself (client-output-buffer-limit, CLIENT KILL): the listener must notice.
    with redis.Redis(port=redis_server.port) as client:
        client.client_kill_filter(_type="pubsub")
    wait_until(lambda: a.health()["message_queue"]["reconnects"] >= 1 and a.hears_others(), timeout=15,
               what="A to subscribe again")
    assert_alerts_cross(b, a)


def until(page, predicate, what: str, seconds: float = 20) -> None:
    """Wait while Playwright runs (its events are only delivered inside its own calls)."""
    for _ in range(int(seconds * 5)):
        if predicate():
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


@pytest.mark.browser
def test_the_kiosk_page_learns_its_ward_from_a_refusal_and_names_it_in_every_connection(shards, browser):
    a, _b, c = shards
    kiosk = c.add_kiosk("7C")
    context = browser.new_context()
    try:
        page = context.new_page()
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.on("request", lambda request: "/socket.io/" in request.url and sockets.append(request.url))  # polling first
        page.goto(f"{a.url}/kiosk/#enroll={kiosk['token']}")  # a process that does not own 7C
        page.wait_for_function("() => localStorage.getItem('wardpulse.kiosk.ward') === '7C'", timeout=10_000)
        until(page, lambda: any("ward=7C" in url for url in sockets), "a connection naming ward 7C")
        assert "ward=" not in sockets[0], "a fresh tablet does not know its ward before it first asks"
        sockets.clear()
        page.reload()  # the ward is kept: the very first connection names it, so a proxy routes it to the owner
        until(page, lambda: sockets, "the reloaded page to connect")
        assert "ward=7C" in sockets[0], sockets[0]
    finally:
        context.close()


def test_a_matron_on_one_process_sees_every_wards_row_and_takes_an_alert_owned_elsewhere(shards):
    a, _b, c = shards
    matron, _ = a.add_staff("amatron", ("7A", "7B", "7C"), role="matron")
    cookie = staff_cookie(a.url, matron)
    overview = socketio.Client(reconnection=False)
    rows: dict[str, dict] = {}
    overview.on(OVERVIEW, lambda o: rows.update({r["code"]: r for r in o["wards"]}), namespace=OVERVIEW_NAMESPACE)
    overview.on(OVERVIEW_WARD, lambda r: rows.update({r["code"]: r}), namespace=OVERVIEW_NAMESPACE)
    overview.connect(a.url, namespaces=[OVERVIEW_NAMESPACE], headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=5)
    wait_until(lambda: set(rows) == set(WARDS), what="a row for each ward, two of them from their owners")

    screen = Screen(f"{a.url}?ward=7C", {"ward": "7C"}, cookie=cookie).connect()
    tablet = kiosk_socket(f"{c.url}?ward=7C", c.add_kiosk("7C")["token"])
    rating = follow_up_tap(tablet)
    wait_until(lambda: rows["7C"]["seq"] >= 1, timeout=2, what="7C's row to change live on A's overview")
    alert = wait_until(lambda: next((x for x in screen.alerts if x["rating_id"] == rating["id"]), None), what="the alert on A")
    ack = screen.sio.call(ACKNOWLEDGE_ALERT, {"id": alert["id"]}, namespace=STAFF_NAMESPACE, timeout=10)
    assert ack["ok"] and ack["alert"]["status"] == "acknowledged", ack  # done by C, the ward's owner
    saved = json.loads((c.data_dir / "alerts" / "7C.json").read_text())["alerts"].values()
    assert [x["status"] for x in saved if x["id"] == alert["id"]] == ["acknowledged"], "written by the ward's owner"
    wait_until(lambda: any(x["id"] == alert["id"] and x["status"] == "acknowledged" for x in screen.alerts), what="the step broadcast")
    for page in ("chart", "settings"):  # pages drawn from the owner's live picture and trend detector
        response = requests.get(f"{a.url}/ward/7C/{page}", headers={"Cookie": cookie}, timeout=10)
        assert response.status_code == 200, (page, response.text[:300])
    assert "1 days shown" in requests.get(f"{a.url}/ward/7C/chart", headers={"Cookie": cookie}, timeout=10).text
    for client in (tablet, overview):
        client.disconnect()
    screen.close()


def test_a_listener_whose_redis_goes_silent_notices_and_subscribes_again(shards, redis_server):
    a, b, _c = shards
    with redis.Redis(port=redis_server.port, socket_timeout=30) as client:
        silent = threading.Thread(target=client.execute_command, args=("DEBUG", "SLEEP", "12"))  # connections stay open
        silent.start()
        wait_until(lambda: a.health()["message_queue"]["reconnects"] >= 1, timeout=15,
                   what="A to give up on a connection that answers nothing")
        silent.join()
    wait_until(a.hears_others, timeout=15, what="A to subscribe again")
    assert_alerts_cross(b, a)



def test_a_staff_phone_reaching_another_process_follows_up_an_alert_through_its_owner(shards):
    """A phone scanning the QR code may reach any process (nginx sends wardless links anywhere): the page finds the
    alert as its owner saved it, and the step is taken by the owner, whose screens hear of it."""
    a, b, _c = shards
    b.add_staff("sister7b", "7B", "sister")
    near = Screen(f"{b.url}?ward=7B", {"ward": "7B"}, cookie=staff_cookie(b.url, "sister7b")).connect()
    tablet = kiosk_socket(f"{b.url}?ward=7B", b.add_kiosk("7B")["token"])
    rating = follow_up_tap(tablet)
    alert = wait_until(lambda: next((x for x in near.alerts if x["rating_id"] == rating["id"]), None), what="the alert on B")

    phone = requests.Session()
    assert try_sign_in(phone, a.url, "sister7b", STAFF_PASSWORD).status_code == 302
    page = phone.get(f"{a.url}/f/{alert['follow_up_token']}", timeout=10)
    assert page.status_code == 200 and "Bay 2" in page.text, "A finds an alert only B has written"
    done = phone.post(f"{a.url}/f/{alert['follow_up_token']}", timeout=10,
                      data={"csrf_token": csrf_token_in(page.text), "step": "resolve", "action": "Sat with the patient in bay 2"})
    assert done.status_code == 200 and "Sat with the patient in bay 2" in done.text
    resolved = wait_until(lambda: next((x for x in near.alerts if x["id"] == alert["id"] and x["status"] == "resolved"), None),
                          what="B's screen to hear the owner resolved it")
    assert resolved["resolved_by"] == "sister7b"
    again = phone.get(f"{a.url}/a/{alert['short_code']}", timeout=10)  # the typed code, on the same process
    assert again.status_code == 200 and "Sat with the patient in bay 2" in again.text
    phone.close()
    tablet.disconnect()
    near.close()
