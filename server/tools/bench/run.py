"""`wardpulse bench`: the measurements, run one async mode after the other, then the report."""

from __future__ import annotations

import json
import math
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

from server.tools.bench.bound import measure_bound
from server.tools.bench.plan import (
    FULL,
    KIOSKS_PER_OTHER_WARD,
    MODES,
    OTHER_WARDS,
    PROBE_EVERY_S,
    QUICK,
    SCREENS_PER_WORKER,
    SOCKETS_PER_WORKER,
    WARD,
    BenchError,
)
from server.tools.bench.profile import profile, render_profile
from server.tools.bench.report import bound_rows, build_rows, machine, notes, percentile, render, storm_rows
from server.tools.bench.servers import Lab, MeasuredServer, Worker, fsync_ms, progress
from server.tools.bench.smallbox import SMALL_BOX_MODE, small_box
from server.tools.bench.storm import storm


def screen_latencies(results: list[dict]) -> tuple[list[float], list[float]]:
    """Tap -> screen for every delivery, and for the first screen to get each tap, across workers.

    time.perf_counter is CLOCK_MONOTONIC on Linux, one clock for every process on the machine.
    """
    sent = {i: t for r in results for i, t in r.get("sent", {}).items()}
    every, first = [], {}
    for r in results:
        for i, t in r.get("delivered", []):
            if i in sent:
                ms = round((t - sent[i]) * 1000, 3)
                every.append(ms)
                first[i] = min(ms, first.get(i, ms))
    return every, list(first.values())


def chunks(items: list, parts: int) -> list[list]:
    """items dealt round-robin into `parts` lists."""
    return [items[i::parts] for i in range(parts)]


def merge_results(results: list[dict]) -> dict:
    """Several rounds' or workers' results as one: samples pool, errors add up, screens meet their taps."""
    ack_ms: dict[str, list[float]] = {}
    for r in results:
        for phase, samples in r["ack_ms"].items():
            ack_ms.setdefault(phase, []).extend(samples)
    every, first = screen_latencies(results)
    return {
        "error_count": sum(r["error_count"] for r in results),
        "errors": [e for r in results for e in r["errors"]][:20],
        "ack_ms": ack_ms,
        "screen_ms": [s for r in results for s in r.get("screen_ms", [])] + every,
        "first_screen_ms": [s for r in results for s in r.get("first_screen_ms", [])] + first,
        "alert_ms": [s for r in results for s in r["alert_ms"]],
    }


def close_all(workers: list[Worker]) -> None:
    """Stop client workers; their sockets drop with them."""
    for worker in workers:
        worker.close()


@dataclass
class Job:
    """Client workers on one server, measured a round at a time."""

    name: str
    server: MeasuredServer
    workers: list[Worker]
    rounds: list[dict] = field(default_factory=list)

    def round(self) -> None:
        """Start every worker together, wait for all, and keep the round's numbers with the CPU it cost."""
        server_cpu, client_cpu, started = self.server.cpu_s(), self._client_cpu(), time.perf_counter()
        for worker in self.workers:
            worker.send("go")
        results = [worker.read() for worker in self.workers]
        wall = time.perf_counter() - started
        self.rounds.append(dict(
            merge_results(results),
            rate=sum(r["rate"] or 0 for r in results),
            server_cpu_pct=100 * (self.server.cpu_s() - server_cpu) / wall,
            client_cpu_pct=100 * (self._client_cpu() - client_cpu) / wall,
        ))

    def _client_cpu(self) -> float:
        """CPU seconds all this job's workers have used."""
        return sum(worker.cpu_s() for worker in self.workers)

    def summary(self) -> dict:
        """All rounds as one: the median round's rate and CPU, every latency sample."""
        median = lambda key: percentile([r[key] for r in self.rounds], 50)  # noqa: E731
        return dict(merge_results(self.rounds), rate=median("rate"), rates=[r["rate"] for r in self.rounds],
                    server_cpu_pct=median("server_cpu_pct"), client_cpu_pct=median("client_cpu_pct"))


def job_specs(lab: Lab) -> dict[str, tuple[str, list[dict]]]:
    """Each job of a mode's session: the server it runs on and its workers' specs."""
    plan = lab.plan
    timed = {"warmup": plan.warmup_s, "seconds": plan.window_s}
    screens = [lab.devices["displays"][WARD]] * plan.feed_screens
    watched = {
        "kiosks": lab.kiosk_tokens(plan.feed_kiosks),
        "screens": screens[:1],  # the screen that times alerts sits with the kiosk that asks for them
        "every": plan.tap_every_s,
        "warmup": plan.warmup_s,
        "seconds": plan.feed_window_s,
        "alert_probes": plan.alert_probes,
    }
    # Each ward screen is its own device: one client process reading all of them would time its own GIL.
    watching = [{"screens": part, "warmup": plan.warmup_s, "seconds": plan.feed_window_s}
                for part in chunks(screens[1:], math.ceil((len(screens) - 1) / SCREENS_PER_WORKER))]
    return {
        "bare_ack": ("bare", [dict(timed, kiosks=lab.kiosk_tokens(1))]),
        "small_ack": ("small", [dict(timed, kiosks=lab.kiosk_tokens(1))]),
        "big_ack": ("big", [dict(timed, kiosks=lab.kiosk_tokens(1))]),
        "bare_feed": ("relay", [watched, *watching]),
        "feed": ("feed", [watched, *watching]),
    }


def start_servers(lab: Lab, mode: str, stack: ExitStack) -> dict[str, MeasuredServer]:
    """The session's servers, started one after another so each start-up is timed on a quiet machine."""
    small, big = lab.plan.history
    made = {
        "bare": lab.bare(mode),
        "relay": lab.bare(mode, broadcast=True),
        "ingest": lab.server(mode, lab.registry_dir),
        "feed": lab.server(mode, lab.registry_dir),  # its own server: screens here must not slow the ingest rows
        "small": lab.server(mode, lab.history_dirs[small]),
        "big": lab.server(mode, lab.history_dirs[big]),
    }
    return {name: stack.enter_context(server) for name, server in made.items()}


def measure_session(lab: Lab, mode: str) -> dict:
    """Rows 1-4 in one async mode: all servers up at once, each comparison alternating its sides round by round."""
    with ExitStack() as stack:
        progress(f"{mode}: starting servers")
        servers = start_servers(lab, mode, stack)
        jobs = [Job(name, servers[on], lab.workers(servers[on], specs)) for name, (on, specs) in job_specs(lab).items()]
        stack.callback(close_all, [w for job in jobs for w in job.workers])
        progress(f"{mode}: connecting kiosks and screens")
        for worker in (w for job in jobs for w in job.workers):
            worker.read()
        fsyncs = []
        for n in range(lab.plan.rounds):
            progress(f"{mode}: round {n + 1} of {lab.plan.rounds}")
            for job in jobs:
                job.round()
            fsyncs.append(fsync_ms(lab.root))  # between the rounds, so the disk is as busy as when acks were timed
        results = {job.name: job.summary() for job in jobs}
        results["fsync_ms"] = percentile(fsyncs, 50)
        close_all([w for job in jobs for w in job.workers])  # their sockets must not share the server-bound rows
        results["bound"] = measure_bound(lab, mode, servers)
        results["startup_s"] = {name: server.startup_s for name, server in servers.items()}
        results["rss_mb"] = {name: server.rss_mb() for name, server in servers.items()}
    return results


def hold_specs(lab: Lab, sockets: int) -> list[dict]:
    """Idle kiosks and screens spread over ten wards, dealt into client workers of a few hundred sockets."""
    wards = (WARD, *OTHER_WARDS)
    screens = sockets // 10
    kiosks = [lab.devices["kiosks"][wards[i % 10]][(i // 10) % KIOSKS_PER_OTHER_WARD] for i in range(sockets - screens)]
    displays = [lab.devices["displays"][wards[i % 10]] for i in range(screens)]
    parts = math.ceil(sockets / SOCKETS_PER_WORKER)
    spec = {"every": lab.plan.hold_tap_every_s, "seconds": None}
    return [dict(spec, kiosks=k, screens=s) for k, s in zip(chunks(kiosks, parts), chunks(displays, parts))]


def watch_rss(server: MeasuredServer, seconds: float) -> list[float]:
    """The server's RSS in MB, every half second for `seconds`."""
    rss = [server.rss_mb()]
    for _ in range(int(seconds / 0.5)):
        time.sleep(0.5)
        rss.append(server.rss_mb())
    return rss


def hold(lab: Lab, server: MeasuredServer) -> dict:
    """Row 5 on one server: RSS and the longest stall (max ack of a steady probe) while many sockets sit connected."""
    plan = lab.plan
    probe_spec = {"kiosks": lab.kiosk_tokens(200)[-1:], "every": PROBE_EVERY_S, "steady": True, "ping": True,
                  "seconds": None, "warmup": 1.0, "phase": "quiet"}
    with server:
        probe, holders = lab.workers(server, [probe_spec])[0], []
        try:
            probe.read()
            rss_idle = server.rss_mb()
            probe.send("go")
            time.sleep(plan.quiet_s)
            probe.send("phase connect")
            started = time.perf_counter()
            holders = lab.workers(server, hold_specs(lab, plan.hold_sockets))
            connected = sum(h.read()["sockets"] for h in holders)
            connect_s = time.perf_counter() - started
            probe.send("phase held")
            for holder in holders:
                holder.send("go")
            rss = watch_rss(server, plan.hold_s)
            for worker in (probe, *holders):
                worker.send("stop")
            probed, flow = probe.read(), merge_results([h.read() for h in holders])
        finally:
            close_all([probe, *holders])
    phases = [f"{phase}{kind}" for phase in ("quiet", "connect", "held") for kind in ("", " refused")]
    probe_ms = {phase: probed["ack_ms"].get(phase, []) for phase in phases}
    return {"sockets": connected, "connect_s": connect_s, "rss_idle_mb": rss_idle, "rss_peak_mb": max(rss),
            "probe_ms": probe_ms, "probe_errors": probed["error_count"], "flow": flow}


def measure_mode(lab: Lab, mode: str) -> dict:
    """Every measurement in one async mode, as raw numbers."""
    results = measure_session(lab, mode)
    if mode in lab.plan.hold_modes:
        progress(f"{mode}: {lab.plan.hold_sockets:,} sockets on the bare stack, then on the ward server")
        results["bare_hold"] = hold(lab, lab.bare(mode))
        results["hold"] = hold(lab, lab.server(mode, lab.registry_dir))
    if mode in lab.plan.hold_modes:
        results["storm"] = storm(lab, mode, hold_specs(lab, lab.plan.hold_sockets))
    if mode == SMALL_BOX_MODE:
        results["small_box"] = small_box(lab, mode, hold_specs(lab, lab.plan.hold_sockets))
    return results


def measure_ingest(lab: Lab, mode: str) -> dict:
    """Only rows 1-2: the server-bound ingest, on the servers it needs."""
    with ExitStack() as stack:
        progress(f"{mode}: starting servers")
        servers = {"bare": lab.bare(mode), "ingest": lab.server(mode, lab.registry_dir), "big": lab.server(mode, lab.history_dirs[lab.plan.history[1]])}
        servers = {name: stack.enter_context(server) for name, server in servers.items()}
        return {"bound": measure_bound(lab, mode, servers)}


def measure_storm(lab: Lab, mode: str) -> dict:
    """Only row 6: the reconnect storm at the plan's size."""
    return {"storm": storm(lab, mode, hold_specs(lab, lab.plan.hold_sockets))}


def require_psutil() -> None:
    """BenchError unless psutil (which measures the servers' memory and CPU) is installed."""
    try:
        import psutil  # noqa: F401
    except ImportError:
        raise BenchError("wardpulse bench needs psutil, from the tools extra: pip install -e '.[tools]' (make install puts it in .venv)") from None


def run_bench(quick: bool = False, json_path: Path | None = None, what: str = "all", modes: tuple[str, ...] = MODES,
              profile_dir: Path = Path("bench-profile")) -> dict:
    """Run the benchmark ('all', only the server-bound 'ingest' rows, or a 'profile'), print the report, write the JSON."""
    require_psutil()
    plan = QUICK if quick else FULL
    info = machine()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="wardpulse-bench-") as tmp:
        lab = Lab(Path(tmp), plan, history=what not in ("storm", "profile"))
        if what == "profile":
            results = {mode: profile(lab, mode, profile_dir) for mode in modes}
            print(render(info, plan, [], []) + "\n".join(render_profile(mode, found) for mode, found in results.items()))
            report = {"machine": info, "plan": asdict(plan), "profile": results}
        else:
            measure = {"ingest": measure_ingest, "storm": measure_storm}.get(what, measure_mode)
            results = {mode: measure(lab, mode) for mode in modes}
            rows = {"ingest": bound_rows, "storm": storm_rows}.get(what, build_rows)(results, plan)
            report = {"machine": info, "plan": asdict(plan), "history_months": lab.history_months,
                      "rows": [row.as_json() for row in rows], "raw": results}
            print(render(info, plan, rows, notes(results, lab)))
    report["seconds"] = time.perf_counter() - started
    print(f"\nTook {report['seconds']:.0f} s.")
    if json_path is not None:
        Path(json_path).write_text(json.dumps(report, indent=1))
    return report
