"""What a trust's IT and admins meet with ward processes (tests/live/conftest.py: A, B, C own 7A, 7B, 7C on one data
dir and a real Redis): the kiosks page and the overview on any process, an owner that is down, backup and restore."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

import requests
import socketio

from kiosk.client import KioskClient
from server.store.backup import inspect
from server.store.journal import read_ratings
from server.tools.soak import SoakPlan, Tapper
from shared.protocol import KIOSK_NAMESPACE, KIOSK_STATUS, OVERVIEW, OVERVIEW_NAMESPACE, OVERVIEW_WARD

from support import SHARD_WARDS, kiosk_socket, staff_cookie, wait_until


def kiosk_row(page: str, kiosk_id: str) -> str:
    """The kiosks page's table row of one tablet."""
    match = re.search(rf'<tr data-kiosk-id="{kiosk_id}".*?</tr>', page, re.S)
    assert match, page[:2000]
    return match.group(0)


def test_the_kiosks_page_on_any_process_shows_a_tablet_whose_socket_is_on_its_wards_owner(shards):
    a, _b, c = shards
    a.add_staff("itadmin", SHARD_WARDS, role="admin")
    cookie = {"Cookie": staff_cookie(a.url, "itadmin")}
    kiosk = c.add_kiosk("7C", "Day room")
    tablet = kiosk_socket(f"{c.url}?ward=7C", kiosk["token"])  # only C, 7C's owner, takes the tablet's socket
    tablet.emit(KIOSK_STATUS, {"waiting": 3, "clock_offset_ms": -95_000}, namespace=KIOSK_NAMESPACE)

    def row_on_a() -> str:
        page = requests.get(f"{a.url}/admin/ward/7C/kiosks", headers=cookie, timeout=10)
        assert page.status_code == 200, page.text[:300]
        return kiosk_row(page.text, kiosk["kiosk_id"])

    row = wait_until(lambda: r if "<td>3" in (r := row_on_a()) else None, what="A's kiosks page to show the outbox C heard of")
    assert 'data-online="yes"' in row and ">Online<" in row, row
    assert 'data-clock-offset="-95000"' in row and "+95 s off" in row, row
    assert "UTC" in row, "last seen, as the owner saw it"

    c.stop()  # 7C's owner is down: the page still lists its tablets, and says plainly what it cannot know
    page = requests.get(f"{a.url}/admin/ward/7C/kiosks", headers=cookie, timeout=10)
    assert page.status_code == 200, page.text[:300]
    assert "Ward 7C's server is not answering" in html.unescape(page.text)
    row = kiosk_row(page.text, kiosk["kiosk_id"])
    assert 'data-online="unknown"' in row and ">Not known<" in row and "<td>0" not in row, "no figures that could pass for today's"
    tablet.disconnect()


def test_the_overview_shows_every_other_ward_while_one_owner_is_down_and_fills_in_when_it_is_back(shards):
    a, _b, c = shards
    a.add_staff("amatron", SHARD_WARDS, role="matron")
    cookie = staff_cookie(a.url, "amatron")
    c.stop()

    rows: dict[str, dict] = {}
    overview = socketio.Client(reconnection=False)
    overview.on(OVERVIEW, lambda o: rows.update({r["code"]: r for r in o["wards"]}), namespace=OVERVIEW_NAMESPACE)
    overview.on(OVERVIEW_WARD, lambda r: rows.update({r["code"]: r}), namespace=OVERVIEW_NAMESPACE)
    overview.connect(a.url, namespaces=[OVERVIEW_NAMESPACE], headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=10)
    wait_until(lambda: set(rows) == set(SHARD_WARDS), timeout=15, what="a row for each ward, 7C's owner down")
    assert rows["7C"]["unanswered"] and rows["7C"]["name"] == "Ward 7C" and "today" not in rows["7C"], rows["7C"]
    assert not rows["7A"].get("unanswered") and rows["7B"]["today"]["total"] == 0, "the other wards' rows as usual"

    c.start()  # back: it sends its wards' rows as it starts, and the overview on A fills in with no tap needed
    wait_until(lambda: not rows["7C"].get("unanswered"), timeout=15, what="7C's row to fill in once its owner is back")
    assert rows["7C"]["today"]["total"] == 0 and rows["7C"]["kiosks"] == {"total": 0, "offline": 0}
    overview.disconnect()


def busy_tablets(shards, tmp_path) -> Tapper:
    """A tablet on each ward's owner, each tapping about every 50 ms, one tap in ten asking for someone to come."""
    kiosks = [KioskClient(p.url, p.add_kiosk(p.ward)["token"], tmp_path / f"outbox-{p.ward}.sqlite").start() for p in shards]
    tapper = Tapper(kiosks, SoakPlan(seconds=0, seed=18, tap_every=0.05, follow_up_share=0.1))
    tapper.start()
    return tapper


def test_a_backup_taken_while_every_ward_process_stores_ratings_holds_every_wards_journal_consistently(shards, tmp_path):
    a = shards[0]
    tapper = busy_tablets(shards, tmp_path)
    try:
        time.sleep(2.0)
        made = {r["id"] for r in list(tapper.made)}
        acked = made - {r["id"] for kiosk in tapper.kiosks for r in kiosk.outbox.pending()}
        a.cli("backup", str(tmp_path / "backup"))  # straight from the data dir, with every ward process writing
    finally:
        tapper.stop()
        for kiosk in tapper.kiosks:
            kiosk.stop()
    contents = inspect(tmp_path / "backup")
    assert (contents.problems, contents.warnings, contents.torn) == ([], [], []), contents
    kept = {r["id"]: r["ward"] for r in read_ratings(tmp_path / "backup")}
    assert acked <= set(kept), "a rating acked before the backup began is missing"
    assert set(kept.values()) == set(SHARD_WARDS), "every ward's journal, each written by its own process"
    assert contents.alerts > 0, "follow-up alerts, each saved by its ward's owner, came with the journals"


def test_restore_is_refused_while_any_ward_process_runs_and_says_to_stop_them(shards, tmp_path):
    a, b, c = shards
    a.cli("backup", str(tmp_path / "backup"))
    before = sorted(p.name for p in a.data_dir.iterdir())
    for process in (a, b):
        process.stop()  # one ward process left, owning 7C
    refused = c.cli("restore", str(tmp_path / "backup"), "--force", check=False)
    assert refused.returncode != 0
    assert "ward processes (serve --wards) are running" in refused.stderr and "ward 7C" in refused.stderr, refused.stderr
    assert "stop every one of them first" in refused.stderr
    assert sorted(p.name for p in a.data_dir.iterdir()) == before, "a refused restore changes nothing"
    c.stop()
    done = c.cli_json("restore", str(tmp_path / "backup"), "--force")
    aside = sorted(p.name for p in Path(done["replaced"]).iterdir())
    assert aside == ["alerts", "ratings", "secret_key", "wardpulse.json"], "the ward processes' own files are not data"
    assert (c.data_dir / "ward-locks" / "7C.lock").exists(), "left where the ward processes look for them"
