"""Row 6, the reconnect storm: a ward server killed with SIGKILL and started again under a full site.

Every kiosk and ward screen of the hold row (1,800 and 200 in the full run) reconnects at once when
the server is back, each kiosk then resending the taps its outbox kept, while one tablet taps every
20 ms all through it. The row says how long until every socket is back, every screen holds a
snapshot taken after the restart and every outbox is empty; the longest ack that tablet waited; and
how soon after the restart it had its first ack. The client processes share the box with the server,
so the row also says what each of them and the server spent from the restart to the last socket's
work, and marks the row when the busiest client process passed CLIENT_BUSY_PCT of a core.
"""

from __future__ import annotations

import math
import socket
import sys
import time

from server.tools.bench.bound import INGEST_PROGRAM
from server.tools.bench.plan import CLIENT_BUSY_PCT, WARD
from server.tools.bench.report import percentile
from server.tools.bench.servers import Lab, MeasuredServer, progress

OUTBOX = 2  # taps each kiosk kept while the server was down
PROBE_EVERY_S = 0.02
STORM_SOCKETS_PER_WORKER = 200  # reconnecting is heavier client work than holding: half the hold row's 400 per process


def free_port() -> int:
    """A port nothing listens on now: the restarted server must come back where the sockets knew it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def per_second(seconds: list[float]) -> list[int]:
    """How many of these times fall in each whole second from 0."""
    counts = [0] * (int(max(seconds)) + 1 if seconds else 0)
    for t in seconds:
        counts[max(0, int(t))] += 1
    return counts


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
        "tap_ms_p50_p99": [percentile([ms for _, ms in after], q) for q in (50, 99)],  # the tapping tablet's usual wait
        "taps": len(after),
        "slow_taps": [(round(t - ms / 1000 - listening, 2), ms) for t, ms in after + unanswered if ms > 150][:20],  # (sent at s, ms)
        "first_ack_s": min(t for t, _ in probed["acked"] if t >= listening) - listening if after else None,
        # When the outboxes' taps were acked, second by second from the restart: shows a wait at once.
        "resent_acked_per_s": per_second([acked - listening for r in storm for _, acked in r.get("resent", [])]),
        "resent_longest_ms": max((1000 * (acked - sent) for r in storm for sent, acked in r.get("resent", [])), default=None),
        "error_count": sum(r["error_count"] for r in storm),
        "errors": [e for r in storm for e in r["errors"]][:20],
        "probe_errors": probed["errors"][:10],
    }


def spread(specs: list[dict], per_worker: int) -> list[dict]:
    """The specs' kiosks and screens dealt again into client processes of at most `per_worker` sockets."""
    devices = [(kind, token) for kind in ("kiosks", "screens") for spec in specs for token in spec.get(kind, [])]
    parts = max(1, math.ceil(len(devices) / per_worker))
    base = {key: value for key, value in specs[0].items() if key not in ("kiosks", "screens")} if specs else {}
    dealt = [devices[i::parts] for i in range(parts)]
    return [dict(base, **{kind: [token for k, token in part if k == kind] for kind in ("kiosks", "screens")}) for part in dealt]


def cpu_figures(storm: list[dict], listening: float, server_cpu_s: float, client_cpu_s: list[float]) -> dict:
    """CPU from the restart until the last socket was back with its outbox empty: the server's and each client's."""
    done = [t for r in storm for t in (*r["back"], *r["outbox_done"])]
    wall = max(done) - listening if done else None
    if not wall or wall <= 0:
        return {"server_cpu_pct": None, "server_us_per_socket": None, "client_cpu_pct": [], "client_busiest_pct": None,
                "client_saturated": False}
    clients = [100 * c / wall for c in client_cpu_s]
    busiest = max(clients, default=None)
    back = sum(len(r["back"]) for r in storm)
    return {
        "server_cpu_pct": 100 * server_cpu_s / wall,
        "server_us_per_socket": server_cpu_s * 1e6 / back if back else None,
        "client_cpu_pct": clients,
        "client_busiest_pct": busiest,
        "client_total_pct": sum(clients),
        "client_saturated": busiest is not None and busiest > CLIENT_BUSY_PCT,
    }


def storm(lab: Lab, mode: str, hold_specs: list[dict]) -> dict:
    """Kill the server under a full site's sockets, start it again on the same port and data dir, time the storm."""
    data_dir = lab.copy(lab.registry_dir, f"storm-{mode}")
    argv = [sys.executable, "-m", "server", "--data-dir", str(data_dir), "serve", "--port", str(free_port()), "--async-mode", mode]
    first, holders, probe = MeasuredServer(argv, lab.log(f"storm-{mode}")), [], None
    with first:
        try:
            specs = spread([dict(spec, outbox=OUTBOX) for spec in hold_specs], STORM_SOCKETS_PER_WORKER)
            holders = lab.workers(first, specs, INGEST_PROGRAM)
            probe_spec = {"kiosks": lab.devices["kiosks"][WARD][-1:], "every": PROBE_EVERY_S, "reconnect": True, "ack_timeout": 2}
            probe = lab.workers(first, [probe_spec], INGEST_PROGRAM)[0]
            sockets = sum(worker.read()["sockets"] for worker in (*holders, probe))
            progress(f"{mode}: {sockets:,} sockets connected; killing the server (SIGKILL) and starting it again")
            probe.send("go")
            time.sleep(1.0)
            first.kill()
            with MeasuredServer(argv, lab.log(f"storm-{mode}-restarted")) as restarted:
                listening, server_cpu, client_cpu = time.perf_counter(), restarted.cpu_s(), [w.cpu_s() for w in holders]
                for worker in holders:
                    worker.send("storm")
                storm_results = [worker.read(timeout=120) for worker in holders]
                # Each worker idles once it has answered, so CPU read now is CPU spent on the storm.
                server_cpu = restarted.cpu_s() - server_cpu
                client_cpu = [w.cpu_s() - before for w, before in zip(holders, client_cpu)]
                time.sleep(0.5)
                probe.send("stop")
                probed = probe.read()
                startup_s = restarted.startup_s
        finally:
            for worker in (*holders, *([probe] if probe else [])):
                worker.close()
    figures = dict(storm_figures(listening, storm_results, probed), sockets=sockets, restart_s=startup_s)
    return dict(figures, **cpu_figures(storm_results, listening, server_cpu, client_cpu), client_processes=len(holders))
