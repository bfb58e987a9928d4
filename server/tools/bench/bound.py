"""Server-bound ingest: what a durable rating costs the server in CPU, measured with clients that have headroom.

Ratings per second on a shared two-core box say as much about the clients and the neighbours as about
the server. CPU time per rating, read from the server process's own counters between two instants and
divided by the ratings acked between the same instants, says what the server spends on each one. Each
kiosk is an asyncio task (server/tools/bench/ingest.py) and the kiosks are spread over several client
processes; a row whose busiest client process used more than CLIENT_BUSY_PCT of a core is marked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from server.tools.bench.plan import CLIENT_BUSY_PCT, WARD
from server.tools.bench.report import percentile
from server.tools.bench.servers import Lab, MeasuredServer, Worker, progress

INGEST_PROGRAM = "server.tools.bench.ingest"


def window_figures(results: list[dict], start: float, end: float, server_cpu_s: float, client_cpu_s: list[float]) -> dict:
    """One round's figures from the workers' acks and the CPU counters read at `start` and `end`."""
    waited = [ms for r in results for acked, ms in r["acked"] if start <= acked <= end]
    wall = end - start
    return {
        "rate": len(waited) / wall,
        "acks": len(waited),
        "server_us": server_cpu_s * 1e6 / len(waited) if waited else None,
        "server_cpu_pct": 100 * server_cpu_s / wall,
        "client_cpu_pct": [100 * c / wall for c in client_cpu_s],
        "ack_p50_ms": percentile(waited, 50),
        "ack_p99_ms": percentile(waited, 99),
        "error_count": sum(r["error_count"] for r in results),
        "errors": [e for r in results for e in r["errors"]][:20],
    }


def summarise(rounds: list[dict]) -> dict:
    """Rounds as one: the median of each figure, the busiest client process of any round, every error."""
    median = lambda key: percentile([r[key] for r in rounds if r[key] is not None], 50)  # noqa: E731
    busiest = max((pct for r in rounds for pct in r["client_cpu_pct"]), default=None)
    return {
        "rate": median("rate"),
        "server_us": median("server_us"),
        "server_us_rounds": [r["server_us"] for r in rounds],
        "server_cpu_pct": median("server_cpu_pct"),
        "client_busiest_pct": busiest,
        "client_total_pct": median("client_total_pct"),
        "client_saturated": busiest is not None and busiest > CLIENT_BUSY_PCT,
        "ack_p50_ms": median("ack_p50_ms"),
        "ack_p99_ms": median("ack_p99_ms"),
        "error_count": sum(r["error_count"] for r in rounds),
        "errors": [e for r in rounds for e in r["errors"]][:20],
    }


@dataclass
class BoundJob:
    """Async kiosk workers on one server, measured a round at a time."""

    name: str
    server: MeasuredServer
    workers: list[Worker]
    rounds: list[dict] = field(default_factory=list)

    def round(self, warmup_s: float, window_s: float, during=None) -> None:
        """Tap for warm-up plus window; count the acks and the CPU between the window's two instants."""
        for worker in self.workers:
            worker.send("go")
        time.sleep(warmup_s)
        start, server_cpu, client_cpu = time.perf_counter(), self.server.cpu_s(), [w.cpu_s() for w in self.workers]
        if during is None:
            time.sleep(window_s)
        else:
            during(window_s)  # e.g. a profiler recording the server for the window
        end, server_after, client_after = time.perf_counter(), self.server.cpu_s(), [w.cpu_s() for w in self.workers]
        for worker in self.workers:
            worker.send("stop")
        results = [worker.read() for worker in self.workers]
        spent = [after - before for before, after in zip(client_cpu, client_after)]
        figures = window_figures(results, start, end, server_after - server_cpu, spent)
        self.rounds.append(dict(figures, client_total_pct=sum(figures["client_cpu_pct"])))


def kiosk_parts(lab: Lab, kiosks: int) -> list[dict]:
    """The ward's first `kiosks` kiosks dealt over the plan's client processes."""
    tokens = lab.devices["kiosks"][WARD][:kiosks]
    parts = lab.plan.ingest_workers
    return [{"kiosks": tokens[i::parts]} for i in range(parts) if tokens[i::parts]]


# (job, server it runs on, kiosks): the bare stack and the ward server side by side, both sizes,
# and the ward server with 200,000 ratings stored, to show a rating costs the same with history.
BOUND_JOBS = (
    ("bare_20", "bare", 20),
    ("ingest_20", "ingest", 20),
    ("bare_200", "bare", 200),
    ("ingest_200", "ingest", 200),
    ("big_20", "big", 20),
)


def measure_bound(lab: Lab, mode: str, servers: dict[str, MeasuredServer]) -> dict[str, dict]:
    """The server-bound rows in one async mode: every job a round at a time, alternating, so a busy moment hits all."""
    plan = lab.plan
    jobs = []
    try:
        for name, on, kiosks in BOUND_JOBS:
            jobs.append(BoundJob(name, servers[on], lab.workers(servers[on], kiosk_parts(lab, kiosks), INGEST_PROGRAM)))
        for job in jobs:
            for worker in job.workers:
                worker.read()
        # One round not counted: a server's first ratings pay one-off costs (journal files to open; with
        # 100,000 stored, 4,533 us a rating in the first 0.8 s, 538 after, cause not yet profiled).
        for job in jobs:
            job.round(plan.warmup_s, plan.window_s)
            job.rounds.clear()
        for n in range(plan.bound_rounds):
            progress(f"{mode}: server-bound ingest, round {n + 1} of {plan.bound_rounds}")
            for job in jobs:
                job.round(plan.warmup_s, plan.window_s)
    finally:
        for worker in (w for job in jobs for w in job.workers):
            worker.close()
    return {job.name: summarise(job.rounds) for job in jobs}
