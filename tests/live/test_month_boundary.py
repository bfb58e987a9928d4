"""Days and months are the ward's (Europe/London), and a resend across midnight at a month end is stored once.

The server's clock is set with WARDPULSE_TEST_CLOCK (LiveServer.start(clock=...)); it runs on from there.
"""

from __future__ import annotations

import time

from kiosk.client import make_rating
from shared.protocol import KIOSK_NAMESPACE, RATING, parse_utc

from support import Screen, kiosk_socket


def exported_ids(live_server, month: str) -> list[str]:
    out = live_server.cli("export", "--ward", "7B", "--format", "jsonl", "--month", month).stdout
    return [line.split('"id": "')[1].split('"')[0] for line in out.splitlines() if line]


def test_ratings_at_half_past_midnight_bst_on_the_1st_count_in_that_month_everywhere(live_server):
    live_server.stop()
    live_server.start(clock="2026-08-01T00:40:00+01:00")
    display = live_server.add_display()["token"]
    tablet = kiosk_socket(live_server.url, live_server.add_kiosk()["token"])
    taps = [make_rating(score, tapped_at=parse_utc(f"2026-07-31T23:{minute}:00Z"))  # 00:30-00:32 BST, 1 August
            for score, minute in [("good", 30), ("poor", 31), ("very_good", 32)]]
    for rating in taps:
        assert tablet.call(RATING, rating, namespace=KIOSK_NAMESPACE)["ok"]
    tablet.disconnect()
    screen = Screen(live_server.url, {"token": display}).connect()
    stats = screen.snapshots[0]["stats"]
    assert (stats["date"], stats["total"]) == ("2026-08-01", 3)
    screen.close()
    assert exported_ids(live_server, "2026-08") == [r["id"] for r in taps]
    assert exported_ids(live_server, "2026-07") == []

    live_server.stop()  # and 23:30 GMT on the last day of November stays in November
    live_server.start(clock="2026-11-30T23:40:00Z")
    tablet = kiosk_socket(live_server.url, live_server.add_kiosk()["token"])
    late = make_rating("good", tapped_at=parse_utc("2026-11-30T23:30:00Z"))
    assert tablet.call(RATING, late, namespace=KIOSK_NAMESPACE)["ok"]
    tablet.disconnect()
    assert exported_ids(live_server, "2026-11") == [late["id"]]
    assert exported_ids(live_server, "2026-12") == []


def test_a_resend_after_midnight_to_a_server_restarted_at_23_59_on_the_last_day_is_stored_once(live_server):
    live_server.stop()
    live_server.start(clock="2026-11-30T23:58:00Z")
    kiosk = live_server.add_kiosk()
    tablet = kiosk_socket(live_server.url, kiosk["token"])
    # The tablet is four minutes fast (allowed): tapped at 23:58, its clock says 00:02 on 1 December.
    rating = make_rating("poor", follow_up={"location": "Bay 5"}, tapped_at=parse_utc("2026-12-01T00:02:00Z"))
    first = tablet.call(RATING, rating, namespace=KIOSK_NAMESPACE)
    assert first["ok"] and first["duplicate"] is False
    tablet.disconnect()  # the ack was lost on the way, so the tablet keeps the tap

    live_server.stop()
    live_server.start(clock="2026-11-30T23:59:58Z")
    time.sleep(2.5)  # past midnight on the server's clock
    tablet = kiosk_socket(live_server.url, kiosk["token"])
    again = tablet.call(RATING, rating, namespace=KIOSK_NAMESPACE)
    tablet.disconnect()
    assert again["ok"] and again["duplicate"] is True, again

    screen = Screen(live_server.url, {"token": live_server.add_display()["token"]}).connect()
    snapshot = screen.snapshots[0]
    assert [r["id"] for r in snapshot["recent"]] == [rating["id"]]
    assert [a["rating_id"] for a in snapshot["open_alerts"]] == [rating["id"]]
    assert (snapshot["stats"]["date"], snapshot["stats"]["total"]) == ("2026-12-01", 1)
    screen.close()
    assert exported_ids(live_server, "2026-12") == [rating["id"]]
