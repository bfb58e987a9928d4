"""Row 6, the reconnect storm: a ward server killed with SIGKILL and started again under a full site.

Every kiosk and ward screen of the hold row (1,800 and 200 in the full run) reconnects at once when
the server is back, each kiosk then resending the taps its outbox kept, while one tablet taps every
20 ms all through it. The row says how long until every socket is back, every screen holds a
snapshot taken after the restart and every outbox is empty; the longest ack that tablet waited; and
how soon after the restart it had its first ack.
"""

from __future__ import annotations

import socket
import sys
import time

from server.tools.bench.bound import INGEST_PROGRAM
from server.tools.bench.plan import WARD
from server.tools.bench.servers import Lab, MeasuredServer, progress

OUTBOX = 2  # taps each kiosk kept while the server was down
PROBE_EVERY_S = 0.02


def free_port() -> int:
    """A port nothing listens on now: the restarted server must come back where the sockets knew it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def storm_figures(listening: float, storm: list[dict], probed: dict) -> dict:
    """The row's figures, in seconds (ms for acks) from the moment the restarted server listened."""
    back = [t for r in storm for t in r["back"]]
    emptied = [t for r in storm for t in r["outbox_done"]]
    snapshots = [t for r in storm for t in r["snapshots"] if t >= listening]
    # Taps sent once the server listened again (a tap sent to the killed server is not the storm's).
    after = [(t, ms) for t, ms in probed["acked"] if t - ms / 1000 >= listening]
    unanswered = [(t, ms) for t, ms in probed.get("unanswered", []) if t - ms / 1000 >= listening]
    return {
        "sockets_back": len(back),
        "all_back_s": max(back) - listening if back else None,
        "outboxes_empty_s": max(emptied) - listening if emptied else None,
        "fresh_snapshots": len(snapshots),
        "last_snapshot_s": max(snapshots) - listening if snapshots else None,
        # A tap with no ack in time waited at least that long: it counts, and the row is marked.
        "longest_ack_ms": max((ms for _, ms in after + unanswered), default=None),
        "unanswered": len(unanswered),
        "first_ack_s": min(t for t, _ in probed["acked"] if t >= listening) - listening if after else None,
        "error_count": sum(r["error_count"] for r in storm),
        "errors": [e for r in storm for e in r["errors"]][:20],
        "probe_errors": probed["errors"][:10],
    }


def storm(lab: Lab, mode: str, hold_specs: list[dict]) -> dict:
    """Kill the server under a full site's sockets, start it again on the same port and data dir, time the storm."""
    data_dir = lab.copy(lab.registry_dir, f"storm-{mode}")
    argv = [sys.executable, "-m", "server", "--data-dir", str(data_dir), "serve", "--port", str(free_port()), "--async-mode", mode]
    first, holders, probe = MeasuredServer(argv, lab.log(f"storm-{mode}")), [], None
    with first:
        try:
            holders = lab.workers(first, [dict(spec, outbox=OUTBOX) for spec in hold_specs], INGEST_PROGRAM)
            probe_spec = {"kiosks": lab.devices["kiosks"][WARD][-1:], "every": PROBE_EVERY_S, "reconnect": True, "ack_timeout": 2}
            probe = lab.workers(first, [probe_spec], INGEST_PROGRAM)[0]
            sockets = sum(worker.read()["sockets"] for worker in (*holders, probe))
            progress(f"{mode}: {sockets:,} sockets connected; killing the server (SIGKILL) and starting it again")
            probe.send("go")
            time.sleep(1.0)
            first.kill()
            with MeasuredServer(argv, lab.log(f"storm-{mode}-restarted")) as restarted:
                listening = time.perf_counter()
                for worker in holders:
                    worker.send("storm")
                storm_results = [worker.read(timeout=120) for worker in holders]
                time.sleep(0.5)
                probe.send("stop")
                probed = probe.read()
                startup_s = restarted.startup_s
        finally:
            for worker in (*holders, *([probe] if probe else [])):
                worker.close()
    return dict(storm_figures(listening, storm_results, probed), sockets=sockets, restart_s=startup_s)
