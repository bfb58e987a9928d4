"""The benchmark's asyncio kiosk worker (server/tools/bench/ingest.py) against a real ward server."""

from __future__ import annotations

import time

from server.store.journal import read_ratings
from server.tools.bench.bound import INGEST_PROGRAM
from server.tools.bench.servers import Worker


def worker(live_server, tmp_path, **spec) -> Worker:
    started = Worker(dict(spec, url=live_server.url), tmp_path / "clients.log", INGEST_PROGRAM)
    started.sockets = started.read(timeout=60)["sockets"]
    return started


def test_async_kiosks_tap_back_to_back_and_every_ack_is_one_stored_rating(live_server, tmp_path):
    kiosks = [live_server.add_kiosk()["token"] for _ in range(3)]
    tapping = worker(live_server, tmp_path, kiosks=kiosks, screens=[live_server.add_display()["token"]])
    try:
        assert tapping.sockets == 4
        tapping.send("go")
        time.sleep(1.0)
        tapping.send("stop")
        result = tapping.read(timeout=60)
    finally:
        tapping.close()
    assert result["error_count"] == 0, result["errors"]
    assert len(result["acked"]) > 10
    assert all(ms > 0 for _, ms in result["acked"])
    assert len(list(read_ratings(live_server.data_dir))) == len(result["acked"])  # acked means stored, once


def test_after_a_kill_and_restart_the_storm_brings_every_socket_back_and_empties_the_outboxes(live_server, tmp_path):
    kiosks = [live_server.add_kiosk()["token"] for _ in range(2)]
    storming = worker(live_server, tmp_path, kiosks=kiosks, screens=[live_server.add_display()["token"]], outbox=2)
    try:
        live_server.kill()
        live_server.start()
        restarted = time.perf_counter()
        storming.send("storm")
        result = storming.read(timeout=60)
    finally:
        storming.close()
    assert result["error_count"] == 0, result["errors"]
    assert len(result["back"]) == 3 and len(result["outbox_done"]) == 2
    assert [t for t in result["snapshots"] if t >= restarted]  # the screen holds a snapshot from after the restart
    assert len(list(read_ratings(live_server.data_dir))) == 4
