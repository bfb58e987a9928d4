"""Row 7, the small box: the ward server pinned to one core, its clients on the other.

What a trust needs to know to choose a box: how many ratings a second one core sustains while the
server stays at or under half of it (room for screens, exports and bursts), and the memory it
needs for a site's sockets. Kiosks tap at a steady rate (Poisson gaps) that doubles each step;
the server's CPU over each step's window says whether that rate stays within half a core.
"""

from __future__ import annotations

import os
import shutil
import time

from server.tools.bench.bound import INGEST_PROGRAM, BoundJob, kiosk_parts
from server.tools.bench.plan import SMALL_BOX_KIOSKS
from server.tools.bench.servers import Lab, MeasuredServer, Worker, progress

SMALL_BOX_MODE = "eventlet"  # what a small box should run: threads cost too much memory per socket
SERVER_CORE, CLIENT_CORE = 0, 1
HALF_A_CORE_PCT = 50.0
STEP_RATES = (125, 250, 500, 1000, 2000)  # ratings/s asked for, doubling
KEPT_UP = 0.9  # a step counts only if the server acked this share of the rate asked for


def pinned(server: MeasuredServer, core: int) -> MeasuredServer:
    """The same server started under `taskset -c core` (taskset execs it: the pid is the server's)."""
    server.argv = ["taskset", "-c", str(core), *server.argv]
    return server


def pin_workers(workers: list[Worker], core: int) -> None:
    """Keep client processes off the server's core."""
    for worker in workers:
        os.sched_setaffinity(worker.proc.pid, {core})


def sustained(steps: list[dict]) -> dict | None:
    """The fastest step the server kept up with at no more than half its core, or None."""
    kept = [s for s in steps if s["rate"] >= KEPT_UP * s["asked"] and s["server_cpu_pct"] <= HALF_A_CORE_PCT]
    return max(kept, key=lambda s: s["rate"], default=None)


def small_box(lab: Lab, mode: str, hold_specs: list[dict]) -> dict:
    """Row 7 in one async mode: rate steps at up to half a core, then RSS holding the hold row's sockets."""
    if (os.cpu_count() or 1) < 2 or shutil.which("taskset") is None:
        return {"skipped": "needs two cores and taskset"}
    plan, steps = lab.plan, []
    with pinned(lab.server(mode, lab.registry_dir), SERVER_CORE) as server:
        for asked in STEP_RATES:
            progress(f"{mode}: small box, {asked:,} ratings/s asked of one core")
            specs = [dict(part, every=SMALL_BOX_KIOSKS / asked) for part in kiosk_parts(lab, SMALL_BOX_KIOSKS)]
            job = BoundJob(f"small_{asked}", server, lab.workers(server, specs, INGEST_PROGRAM))
            try:
                pin_workers(job.workers, CLIENT_CORE)
                for worker in job.workers:
                    worker.read()
                job.round(plan.warmup_s + 0.5, max(plan.window_s, 2.0))
            finally:
                for worker in job.workers:
                    worker.close()
            steps.append(dict(job.rounds[-1], asked=asked))
            if steps[-1]["server_cpu_pct"] > HALF_A_CORE_PCT:
                break  # past half a core: faster steps say nothing more
        progress(f"{mode}: small box holding {sum(len(s['kiosks']) + len(s['screens']) for s in hold_specs):,} sockets")
        holders = lab.workers(server, [dict(spec, every=None) for spec in hold_specs], INGEST_PROGRAM)
        try:
            pin_workers(holders, CLIENT_CORE)
            started = time.perf_counter()
            held = sum(worker.read()["sockets"] for worker in holders)
            connect_s = time.perf_counter() - started
            time.sleep(1.0)
            rss = server.rss_mb()
        finally:
            for worker in holders:
                worker.close()
    best = sustained(steps)
    return {"steps": steps, "sustained": best and best["rate"], "sustained_us": best and best["server_us"],
            "sockets": held, "connect_s": connect_s, "rss_mb": rss}
