"""`wardpulse backup` while kiosks send, and `wardpulse restore` into a server that then serves it all."""

from __future__ import annotations

import time

import pytest

from kiosk.client import KioskClient
from server.store.backup import inspect
from server.store.journal import read_ratings
from server.tools.soak import SoakPlan, Tapper

from support import LiveServer, Screen


@pytest.fixture
def busy_ward(live_server, tmp_path):
    """Three kiosks tapping about every 60 ms each, one tap in ten asking for someone to come (an alert)."""
    kiosks = [KioskClient(live_server.url, live_server.add_kiosk()["token"], tmp_path / f"outbox-{i}.sqlite").start() for i in range(3)]
    tapper = Tapper(kiosks, SoakPlan(seconds=0, seed=11, tap_every=0.06, follow_up_share=0.1))
    tapper.start()
    yield tapper
    tapper.stop()
    for kiosk in kiosks:
        kiosk.stop()


def acked(tapper: Tapper) -> set[str]:
    """Ratings acked by now: tapped, and no longer waiting in any outbox."""
    made = {r["id"] for r in list(tapper.made)}
    return made - {r["id"] for kiosk in tapper.kiosks for r in kiosk.outbox.pending()}


def open_alerts(server: LiveServer, display_token: str) -> dict[str, str]:
    """rating id -> alert id of every open alert, as a freshly connected ward screen sees them."""
    screen = Screen(server.url, {"token": display_token}).connect()
    screen.close()
    return {a["rating_id"]: a["id"] for a in screen.snapshots[0]["open_alerts"]}


def restored_server(backup_dir, tmp_path, name: str) -> LiveServer:
    """A fresh data dir filled by `wardpulse restore`, then served."""
    server = LiveServer(tmp_path / name)
    server.cli("restore", str(backup_dir))
    return server.start()


def test_backups_taken_while_kiosks_send_are_consistent_and_restore_everything(live_server, busy_ward, tmp_path):
    display = live_server.add_display()["token"]  # in the registry before any backup: it works on every restore
    copies = []
    for n in range(3):
        time.sleep(1.0)
        before = acked(busy_ward)
        dest = tmp_path / f"backup-{n}"
        live_server.cli("backup", str(dest))
        contents = inspect(dest)
        assert (contents.problems, contents.warnings, contents.torn) == ([], [], [])
        assert before <= {r["id"] for r in read_ratings(dest)}, "a rating acked before the backup began is missing"
        copies.append(dest)

    mid_stream = restored_server(copies[1], tmp_path, "restored-mid-stream")
    stored = mid_stream.export()
    assert sorted(r["id"] for r in stored) == sorted(r["id"] for r in read_ratings(copies[1]))
    asked = {r["id"] for r in stored if r["follow_up"] is not None}
    assert asked and asked <= set(open_alerts(mid_stream, display)), "every follow-up in the backup has its alert"
    mid_stream.stop()

    busy_ward.stop()
    assert all(kiosk.wait_drained(20) for kiosk in busy_ward.kiosks)
    live_server.cli("backup", str(tmp_path / "backup-final"))
    final = restored_server(tmp_path / "backup-final", tmp_path, "restored-final")
    assert final.export() == live_server.export()
    assert open_alerts(final, display) == open_alerts(live_server, display)
    final.stop()


def test_restore_is_refused_while_a_server_runs_on_the_data_dir(live_server, tmp_path):
    kiosk = KioskClient(live_server.url, live_server.add_kiosk()["token"], tmp_path / "outbox.sqlite").start()
    kiosk.tap("good")
    assert kiosk.wait_drained(10)
    kiosk.stop()
    live_server.cli("backup", str(tmp_path / "copy"))
    before = live_server.export()
    for extra in ([], ["--force"]):
        refused = live_server.cli("restore", str(tmp_path / "copy"), *extra, check=False)
        assert refused.returncode == 1 and "server is running" in refused.stderr
    assert live_server.proc.poll() is None
    assert live_server.export() == before
