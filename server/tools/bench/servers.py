"""The processes of a benchmark run: servers and client workers, and the temporary data dirs they use."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from server.store.journal import RatingJournal, fingerprint
from server.store.registry import Registry
from server.tools.bench.load import random_score
from server.tools.bench.plan import (
    KIOSKS_PER_OTHER_WARD,
    OTHER_WARDS,
    WARD,
    BenchError,
    Plan,
)
from server.tools.harness import ServerProcess, log_tail, read_line
from shared.protocol import RatingIn, iso_utc


def fsync_ms(directory: Path, times: int = 200) -> float:
    """What one durable write costs on this disk: append a rating-sized line and fsync it, p50 in ms."""
    line, took = b"x" * 300 + b"\n", []
    path = directory / "fsync-probe.jsonl"
    with open(path, "ab") as fh:
        for _ in range(times):
            started = time.perf_counter()
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
            took.append((time.perf_counter() - started) * 1000)
    path.unlink()
    return sorted(took)[times // 2]


class MeasuredServer(ServerProcess):
    """A server child whose start-up time, memory and CPU the benchmark reads (with psutil)."""

    def __init__(self, argv: list[str], log_path: Path):
        super().__init__(argv, log_path)
        self.startup_s = 0.0
        self.ps = None

    def __enter__(self) -> MeasuredServer:
        """Start the server and wait for its listening line; the wait is its start-up time."""
        import psutil  # optional (the tools extra); run_bench checks for it first

        started = time.perf_counter()
        self.spawn()
        self.wait_listening(timeout=300)
        self.startup_s = time.perf_counter() - started
        self.ps = psutil.Process(self.proc.pid)
        return self

    def __exit__(self, *exc) -> None:
        """Stop the server as Ctrl-C would."""
        self.stop(timeout=10)

    def rss_mb(self) -> float:
        """Resident memory now, in MB."""
        return self.ps.memory_info().rss / 2**20

    def cpu_s(self) -> float:
        """CPU seconds used so far, all threads."""
        times = self.ps.cpu_times()
        return times.user + times.system


class Worker:
    """A client subprocess running one job: spec in, 'ready' once connected, 'go', then its result."""

    def __init__(self, spec: dict, log_path: Path, program: str = "server.tools.bench.load"):
        self.log_path = log_path
        with open(log_path, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", program],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
            )
        self.send(json.dumps(spec))

    def send(self, line: str) -> None:
        """One line to the worker: its spec, 'go', 'stop' or 'phase NAME'."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def read(self, timeout: float = 300) -> dict:
        """The worker's next JSON line; BenchError with its log if it has none."""
        line = read_line(self.proc, timeout)
        if not line:
            raise BenchError(f"a client worker stopped answering; its log:\n{log_tail(self.log_path)}")
        return json.loads(line)

    def cpu_s(self) -> float:
        """CPU seconds the worker has used so far (0 once it is gone)."""
        import psutil

        try:
            times = psutil.Process(self.proc.pid).cpu_times()
        except psutil.NoSuchProcess:
            return 0.0
        return times.user + times.system

    def close(self) -> None:
        """Kill the worker (it is only ever waiting) and close its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            pipe.close()


def make_registry(data_dir: Path) -> dict:
    """Wards, kiosks and wall displays for the whole run, written straight into the registry (no server yet)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    registry = Registry(data_dir)
    devices = {"kiosks": {}, "kiosk_ids": {}, "displays": {}}
    for code, kiosks in [(WARD, 200), *[(c, KIOSKS_PER_OTHER_WARD) for c in OTHER_WARDS]]:
        registry.add_ward(code, f"Bench ward {code}")
        made = [registry.add_kiosk(code) for _ in range(kiosks)]
        devices["kiosks"][code] = [k["token"] for k in made]
        devices["kiosk_ids"][code] = [k["id"] for k in made]
        devices["displays"][code] = registry.add_display(code)["token"]
    return devices


def stored_rating(tapped_at: datetime, rng: random.Random, kiosk_id: str) -> dict:
    """A rating as the journal holds it once a kiosk's tap was stored (the shape WardService.receive_rating writes)."""
    rating_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    fields = RatingIn(id=rating_id, score=random_score(rng), tapped_at=iso_utc(tapped_at)).fields()
    extra = {"ward": WARD, "kiosk_id": kiosk_id, "channel": "kiosk", "received_at": fields["tapped_at"], "misuse": False}
    return dict(fields, **extra, fingerprint=fingerprint(fields))


def prefill(data_dir: Path, count: int, kiosk_ids: list[str], now: datetime) -> dict[str, int]:
    """Write `count` ratings from the ward's kiosks into the journal, tapped evenly from the start of last month."""
    start = (now.replace(day=1) - timedelta(days=1)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    step = (now - timedelta(minutes=1) - start) / count
    rng = random.Random(count)  # the same history every run
    journal = RatingJournal(data_dir)
    per_month: dict[str, int] = {}
    try:
        for first in range(0, count, 10_000):  # big batches: one write and one fsync each
            numbers = range(first, min(count, first + 10_000))
            batch = [stored_rating(start + step * i, rng, kiosk_ids[i % len(kiosk_ids)]) for i in numbers]
            journal._write_batch(batch)
            for record in batch:
                per_month[record["tapped_at"][:7]] = per_month.get(record["tapped_at"][:7], 0) + 1
    finally:
        journal.close()
    return per_month


class Lab:
    """The run's temporary data dirs, logs and device tokens; starts servers and client workers on them."""

    def __init__(self, root: Path, plan: Plan, history: bool = True):
        self.root = root
        self.plan = plan
        self.logs = root / "logs"
        self.logs.mkdir()
        self.registry_dir = root / "registry"
        progress("setting up wards, kiosks and displays")
        self.devices = make_registry(self.registry_dir)
        self.history_dirs: dict[int, Path] = {}
        self.history_months: dict[int, dict[str, int]] = {}
        for count in plan.history if history else ():  # the storm alone needs no stored ratings
            progress(f"writing {count:,} stored ratings")
            self.history_dirs[count] = self.copy(self.registry_dir, f"history-{count}")
            kiosk_ids = self.devices["kiosk_ids"][WARD]
            self.history_months[count] = prefill(self.history_dirs[count], count, kiosk_ids, datetime.now(timezone.utc))

    def copy(self, template: Path, name: str) -> Path:
        """A fresh data dir copied from a template, so each server starts from the same state."""
        target, n = self.root / name, 0
        while target.exists():
            n += 1
            target = self.root / f"{name}-{n}"
        shutil.copytree(template, target)
        return target

    def log(self, name: str) -> Path:
        """Where a child process writes its stderr."""
        return self.logs / f"{name}.log"

    def server(self, mode: str, template: Path) -> MeasuredServer:
        """`wardpulse serve` on a fresh copy of a data dir, on a free port."""
        data_dir = self.copy(template, f"{template.name}-{mode}")
        argv = [sys.executable, "-m", "server", "--data-dir", str(data_dir), "serve", "--port", "0", "--async-mode", mode]
        return MeasuredServer(argv, self.log(f"server-{data_dir.name}"))

    def bare(self, mode: str, broadcast: bool = False) -> MeasuredServer:
        """The bare Flask-SocketIO stack in the same async mode."""
        argv = [sys.executable, "-m", "server.tools.bench.bare", "--async-mode", mode] + (["--broadcast"] if broadcast else [])
        return MeasuredServer(argv, self.log(f"bare-{mode}"))

    def kiosk_tokens(self, count: int) -> list[str]:
        """Device tokens of the first `count` kiosks on the main ward."""
        return self.devices["kiosks"][WARD][:count]

    def workers(self, server: MeasuredServer, specs: list[dict], program: str = "server.tools.bench.load") -> list[Worker]:
        """Client workers for these specs (run by `program`), aimed at one server."""
        return [Worker(dict(spec, url=server.url), self.log("clients"), program) for spec in specs]


def progress(message: str) -> None:
    """Tell the person waiting what is being measured (stderr, so stdout stays the report)."""
    print(f"  {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)
