"""Comment themes through a real server: every rating on the ward screens carries the themes of its comment,
by the trust's own themes.json in any language it gives words for; wall displays get none."""

from __future__ import annotations

import json
import subprocess
import sys

from openpyxl import load_workbook

from kiosk.client import make_rating
from server.store.files import THEMES_FILE
from shared.protocol import KIOSK_NAMESPACE, RATING

from support import Screen, kiosk_socket, staff_cookie, wait_until

TRUST = {"Call bells": {"en": ["call bell", "buzzer"], "pl": ["dzwonek"]}, "Food": {"en": ["meal", "food"]}}


def test_ratings_carry_the_trusts_themes_to_staff_and_none_to_the_wall(live_server):
    live_server.stop()
    (live_server.data_dir / THEMES_FILE).write_text(json.dumps(TRUST), encoding="utf-8")
    live_server.start()
    live_server.add_staff("nurse", "7B", "staff")
    staff = Screen(live_server.url, {"ward": "7B"}, cookie=staff_cookie(live_server.url, "nurse")).connect()
    wall = Screen(live_server.url, {"token": live_server.add_display()["token"]}).connect()
    tablet = kiosk_socket(live_server.url, live_server.add_kiosk()["token"])
    for score, comment in [("poor", "Nikt nie odpowiadał na dzwonek"), ("good", "Lovely meal, but the buzzer was slow"), ("very_good", None)]:
        assert tablet.call(RATING, make_rating(score, comment=comment), namespace=KIOSK_NAMESPACE)["ok"]
    wait_until(lambda: len(staff.ratings) == 3 and len(wall.ratings) == 3, what="three ratings on both screens")
    assert [r["themes"] for r in staff.ratings] == [["Call bells"], ["Call bells", "Food"], []]
    assert [r["themes"] for r in wall.ratings] == [[], [], []]

    again = Screen(live_server.url, {"ward": "7B"}, cookie=staff_cookie(live_server.url, "nurse")).connect()
    assert sorted(map(tuple, (r["themes"] for r in again.snapshots[0]["recent"]))) == [(), ("Call bells",), ("Call bells", "Food")]
    again.close()
    for client in (tablet, staff.sio, wall.sio):
        client.disconnect()


def test_the_monthly_return_counts_comments_by_the_trusts_themes(live_server):
    live_server.stop()
    (live_server.data_dir / THEMES_FILE).write_text(json.dumps(TRUST), encoding="utf-8")
    live_server.start()
    tablet = kiosk_socket(live_server.url, live_server.add_kiosk()["token"])
    rating = make_rating("poor", comment="The buzzer went unanswered")
    assert tablet.call(RATING, rating, namespace=KIOSK_NAMESPACE)["ok"]
    tablet.disconnect()
    out = live_server.data_dir.parent / "return.xlsx"
    month = rating["tapped_at"][:7]
    subprocess.run([sys.executable, "-m", "server", "--data-dir", str(live_server.data_dir), "fft-return", "--month", month,
                    "--format", "xlsx", "--output", str(out)], check=True, capture_output=True, timeout=60)
    rows = list(load_workbook(out)["Themes"].values)
    assert rows[1:] == [("Ward 7B", "Call bells", 1, 0, 1)]
