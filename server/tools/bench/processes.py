"""`wardpulse bench --processes 1,2,4`: the wards split over N ward processes on one data dir, against one.

For each process count: Redis (from two processes on) and the processes started on a fresh copy of one
data dir, the wards dealt out as shard_plan.py says, and nginx with the shipped sharded site in front.
Then, directly to the processes and again through nginx (TLS, `?ward=` routing):
  - sockets held: idle kiosks and wall displays over every ward, connected at once, and the memory
    all processes then use;
  - durable ratings/s: kiosks on every ward tapping back to back at their ward's owner, with the CPU the
    server side spends per rating (all ward processes, and nginx on its route) and the clients' CPU;
  - tap -> screen: kiosks tapping at a tablet's pace while their ward's screen sits on another process.
One process is the plain `wardpulse serve` of today (no Redis): the baseline.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from server.tools.bench.bound import INGEST_PROGRAM, BoundJob, summarise
from server.tools.bench.plan import BenchError
from server.tools.bench.processes_report import render_processes, rows_from
from server.tools.bench.report import machine
from server.tools.bench.run import Job, close_all, require_psutil
from server.tools.bench.servers import MeasuredServer, Worker, make_registry, progress
from server.tools.bench.shard_plan import (
    FULL,
    QUICK,
    ROUTES,
    ShardPlan,
    feed_specs,
    hold_specs,
    ingest_specs,
    serve_options,
    shard_names,
    split_wards,
    urls_for,
)
from server.tools.nginx import SHARDED_SITE, Nginx, sharded_site, write_nginx
from server.tools.redis_server import RedisServer


class ServerSide:
    """The processes that serve one route, read as one: ward processes, and nginx when it is in front."""

    def __init__(self, servers: list[MeasuredServer], proxy: Nginx | None = None):
        import psutil  # optional (the tools extra); run_processes_bench checks for it first

        self.servers = servers
        self.proxy = []
        if proxy is not None and proxy.proc is not None:
            master = psutil.Process(proxy.proc.pid)
            self.proxy = [master, *master.children()]

    def cpu_s(self) -> float:
        """CPU seconds used so far by all of them."""
        proxy = sum(sum(p.cpu_times()[:2]) for p in self.proxy)
        return sum(server.cpu_s() for server in self.servers) + proxy

    def rss_mb(self) -> float:
        """Resident memory of the ward processes now, in MB."""
        return sum(server.rss_mb() for server in self.servers)


@contextmanager
def trusting(cert: Path | None):
    """Client workers started inside trust nginx's test certificate (aiohttp, websocket-client and requests
    each read one of these variables), as a ward tablet trusts its trust's own CA."""
    names = ("SSL_CERT_FILE", "WEBSOCKET_CLIENT_CA_BUNDLE", "REQUESTS_CA_BUNDLE")
    before = {name: os.environ.get(name) for name in names}
    if cert is not None:
        os.environ.update({name: str(cert) for name in names})
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class ShardLab:
    """The run's data dirs, logs and devices; starts each process count's servers, Redis and nginx."""

    def __init__(self, root: Path, plan: ShardPlan, mode: str):
        self.root, self.plan, self.mode = root, plan, mode
        self.logs = root / "logs"
        self.logs.mkdir()
        self.registry_dir = root / "registry"
        progress("setting up wards, kiosks and displays")
        self.devices = make_registry(self.registry_dir)

    def workers(self, specs: list[dict], program: str, cert: Path | None) -> list[Worker]:
        """Client workers for these specs (each names its own url), run by `program`."""
        with trusting(cert):
            return [Worker(spec, self.logs / "clients.log", program) for spec in specs]

    def start(self, processes: int, stack: ExitStack) -> tuple[list[MeasuredServer], Nginx]:
        """Redis (two processes or more), the ward processes on a fresh copy of the data dir, and nginx in front."""
        data_dir = self.root / f"data-{processes}"
        shutil.copytree(self.registry_dir, data_dir)
        queue = None
        if processes > 1:
            queue = stack.enter_context(RedisServer(self.root / f"redis-{processes}")).url
        servers, shards = [], {}
        for name, wards in zip(shard_names(processes), split_wards(processes)):
            argv = [sys.executable, "-m", "server", "--data-dir", str(data_dir), "serve", "--port", "0",
                    "--async-mode", self.mode, *serve_options(wards, queue)]
            server = stack.enter_context(MeasuredServer(argv, self.logs / f"server-{processes}{name}.log"))
            servers.append(server)
            shards[name] = (int(server.url.rsplit(":", 1)[1]), wards)
        site = sharded_site(SHARDED_SITE.read_text(), shards)
        proxy = stack.enter_context(write_nginx(self.root / f"nginx-{processes}", site))
        return servers, proxy


SETTLED_CPU_PCT = 10.0  # the server side counts as quiet below this share of a core
SETTLE_LIMIT_S = 60.0


def settle(side: ServerSide) -> float:
    """Wait until the server side is quiet, so one measurement's leftovers (2,000 sockets dropping: each a
    fresh overview row on a ward process, several ms apiece) are not counted in the next; the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < SETTLE_LIMIT_S:
        before = side.cpu_s()
        time.sleep(0.5)
        if 100 * (side.cpu_s() - before) / 0.5 < SETTLED_CPU_PCT:
            break
    return time.perf_counter() - started


def hold(lab: ShardLab, side: ServerSide, urls: list[str], cert: Path | None) -> dict:
    """Connect the idle sockets all at once; how many stayed, how long it took, the processes' memory then."""
    started = time.perf_counter()
    workers = lab.workers(hold_specs(lab.plan, lab.devices["kiosks"], lab.devices["displays"], urls), INGEST_PROGRAM, cert)
    try:
        sockets = sum(worker.read()["sockets"] for worker in workers)
        connect_s = time.perf_counter() - started
        time.sleep(1)  # snapshots sent, memory settled
        return {"sockets": sockets, "connect_s": connect_s, "rss_mb": side.rss_mb()}
    finally:
        close_all(workers)


def ingest(lab: ShardLab, side: ServerSide, urls: list[str], cert: Path | None) -> dict:
    """Every ward's kiosks tapping back to back at their owner: the median round, CPU per acked rating."""
    plan = lab.plan
    job = BoundJob("ingest", side, lab.workers(ingest_specs(plan, lab.devices["kiosks"], urls), INGEST_PROGRAM, cert))
    try:
        for worker in job.workers:
            worker.read()
        job.round(plan.warmup_s, plan.window_s)  # not counted: first ratings open journal files
        job.rounds.clear()
        for _ in range(plan.rounds):
            job.round(plan.warmup_s, plan.window_s)
    finally:
        close_all(job.workers)
    return summarise(job.rounds)


def feed(lab: ShardLab, side: ServerSide, urls: list[str], cert: Path | None) -> dict:
    """Kiosks at a tablet's pace, each ward's screen on another process: tap -> screen for every rating."""
    job = Job("feed", side, lab.workers(feed_specs(lab.plan, lab.devices["kiosks"], lab.devices["displays"], urls),
                                        "server.tools.bench.load", cert))
    try:
        for worker in job.workers:
            worker.read()
        job.round()
    finally:
        close_all(job.workers)
    summary = job.summary()
    return {key: summary[key] for key in ("rate", "screen_ms", "error_count", "errors")}


def measure_processes(lab: ShardLab, processes: int) -> dict:
    """Every measurement for one process count, directly and through nginx."""
    with ExitStack() as stack:
        progress(f"{processes} process{'es' if processes > 1 else ''}: starting Redis, servers and nginx")
        servers, proxy = lab.start(processes, stack)
        results = {"startup_s": [server.startup_s for server in servers]}
        for route in ROUTES:
            side = ServerSide(servers, proxy if route == "nginx" else None)
            urls = urls_for(route, [server.url for server in servers], proxy.url)
            cert = proxy.cert if route == "nginx" else None
            progress(f"{processes} process{'es' if processes > 1 else ''}, {route}: sockets held, durable ratings/s, tap -> screen")
            measured = results[route] = {"hold": hold(lab, side, urls, cert)}
            measured["settle_s"] = [settle(side)]
            measured["ingest"] = ingest(lab, side, urls, cert)
            measured["settle_s"].append(settle(side))
            measured["feed"] = feed(lab, side, urls, cert)
    return results


def run_processes_bench(counts: tuple[int, ...], quick: bool = False, json_path: Path | None = None, mode: str = "eventlet") -> dict:
    """Measure each process count in turn, print the table against one process, write the JSON."""
    require_psutil()
    plan = QUICK if quick else FULL
    info = machine()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="wardpulse-bench-") as tmp:
        lab = ShardLab(Path(tmp), plan, mode)
        try:
            results = {n: measure_processes(lab, n) for n in counts}
        except RuntimeError as exc:  # Redis or nginx would not start
            raise BenchError(str(exc)) from None
    rows = rows_from(results)
    report = {"machine": info, "plan": plan.__dict__, "mode": mode, "rows": rows, "raw": results,
              "seconds": time.perf_counter() - started}
    print(render_processes(info, plan, mode, rows))
    print(f"\nTook {report['seconds']:.0f} s.")
    if json_path is not None:
        Path(json_path).write_text(json.dumps(report, indent=1))
    return report
