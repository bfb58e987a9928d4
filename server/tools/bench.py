"""`wardpulse bench`: how fast and how big the ward server is on this machine, next to raw baselines.

The benchmark starts its own servers as subprocesses on temporary data dirs and drives them over
real websockets with python-socketio clients, as ward tablets and screens do. Every speed number is
shown next to a baseline measured in the same run (mostly a bare Flask-SocketIO app on the same
stack and async mode, driven by the same client code), as a ratio.

This module is also the program of the benchmark's helper processes:

    python -m server.tools.bench bare --async-mode eventlet [--broadcast]   the bare stack (baseline server)
    python -m server.tools.bench worker                                     client sockets doing one job
"""

from __future__ import annotations

import json
import math
import os
import platform
import queue
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from shared.fft import SCORES
from shared.protocol import ALERT, KIOSK_NAMESPACE, RATING, STAFF_NAMESPACE

# socketio, psutil, Flask and the server's own modules are imported where they are used: the bare
# stack runs this module and must monkey-patch eventlet before any of them loads.

MODES = ("eventlet", "threading")
WARD = "7B"
OTHER_WARDS = tuple(f"B{n:02d}" for n in range(1, 10))  # row 5 spreads its sockets over ten wards
KIOSKS_PER_OTHER_WARD = 20
# Roughly the national FFT mix (about 93 % positive), so a trend detector, once built, stays quiet.
SCORE_WEIGHTS = {"very_good": 70, "good": 20, "neither": 3, "poor": 2, "very_poor": 2, "dont_know": 3}
SOCKETS_PER_WORKER = 400  # python-socketio clients are heavy: a few hundred per client process
SCREENS_PER_WORKER = 5  # ward screens that must each see every rating at once: a few per client process
PROBE_EVERY_S = 0.02  # the stall probe's gap between one ack and its next rating
ALERT_WAIT_S = 2.0


class BenchError(RuntimeError):
    """Something the benchmark needs did not work; the message says what and where to look."""


# --------------------------------------------------------------------------- pure helpers


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), interpolating between the nearest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline, or None when either is missing or the baseline is zero."""
    if value is None or not baseline:
        return None
    return value / baseline


def format_number(value: float | None) -> str:
    """A number with as many digits as a reader needs: 1,520 / 12.3 / 0.93."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def cpu_model(cpuinfo: str) -> str:
    """The CPU model named in the text of /proc/cpuinfo, or 'unknown'."""
    for line in cpuinfo.splitlines():
        if line.startswith("model name") and ":" in line:
            return line.split(":", 1)[1].strip()
    return "unknown"


def machine() -> dict:
    """What this ran on, and when: CPU count and model, Python version, date."""
    cpuinfo = Path("/proc/cpuinfo")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(cpuinfo.read_text() if cpuinfo.exists() else ""),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        # Other work on the machine skews every number; say how busy it was when we began.
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


@dataclass
class Cell:
    """One number in one async mode, with the baseline it is compared to."""

    value: float | None
    baseline: float | None = None
    note: str = ""  # printed across the cell instead of numbers, e.g. why there is no value

    @property
    def ratio(self) -> float | None:
        """value / baseline."""
        return ratio(self.value, self.baseline)


@dataclass(frozen=True)
class Target:
    """A limit on a row's value, or on its ratio to the baseline."""

    limit: float
    at_most: bool = True
    on_ratio: bool = False

    def met(self, cell: Cell) -> bool | None:
        """True or False once there is a number to judge; None when there is none."""
        measured = cell.ratio if self.on_ratio else cell.value
        if measured is None:
            return None
        return measured <= self.limit if self.at_most else measured >= self.limit

    def describe(self, unit: str) -> str:
        """The target as the table prints it."""
        sign = "<=" if self.at_most else ">="
        return f"ratio {sign} {self.limit:g}" if self.on_ratio else f"{sign} {self.limit:g} {unit}"


@dataclass
class Row:
    """One line of the table: a measure, what its baseline is, its target and a cell per async mode."""

    section: str
    measure: str
    unit: str
    versus: str = ""
    target: Target | None = None
    cells: dict[str, Cell] = field(default_factory=dict)

    def as_json(self) -> dict:
        """The row with its ratios and verdicts worked out, for --json."""
        cells = {
            mode: dict(asdict(cell), ratio=cell.ratio, met=self.target.met(cell) if self.target else None)
            for mode, cell in self.cells.items()
        }
        target = self.target.describe(self.unit) if self.target else None
        return {"section": self.section, "measure": self.measure, "unit": self.unit, "versus": self.versus,
                "target": target, "cells": cells}


MODE_COLUMNS = ("value", "baseline", "ratio", "met")


def _mode_texts(row: Row, mode: str) -> list[str] | str:
    """The four texts of a row's cell in one mode, or one note to print across them."""
    cell = row.cells.get(mode)
    if cell is None:
        return "not run"
    if cell.note:
        return cell.note
    met = row.target.met(cell) if row.target else None
    verdict = {True: "yes", False: "NO", None: ""}[met]
    shown_ratio = f"{cell.ratio:.2f}x" if cell.ratio is not None else "-"
    return [format_number(cell.value), format_number(cell.baseline), shown_ratio, verdict]


def _widths(table: list[list[str]]) -> list[int]:
    """Each column's width: its longest text."""
    return [max(len(line[i]) for line in table) for i in range(len(table[0]))]


def _mode_widths(texts: list[list[str] | str]) -> list[int]:
    """Column widths of one mode's group; a note printed across the group widens its first column."""
    widths = _widths([list(MODE_COLUMNS), *[t for t in texts if isinstance(t, list)]])
    note = max([len(t) for t in texts if isinstance(t, str)], default=0)
    widths[0] += max(0, note - _span(widths))
    return widths


def _span(widths: list[int]) -> int:
    """How wide a group of columns is with its separators."""
    return sum(widths) + 2 * (len(widths) - 1)


def _group(texts: list[str] | str, widths: list[int]) -> str:
    """One mode's part of a line: right-aligned numbers, or a note across them."""
    if isinstance(texts, str):
        return texts.ljust(_span(widths))
    return "  ".join(text.rjust(width) for text, width in zip(texts, widths))


def format_table(rows: list[Row], modes: tuple[str, ...] = MODES) -> str:
    """The rows as a fixed-width text table with the async modes side by side."""
    leads = [["#", "measure", "unit"], *[[row.section, row.measure, row.unit] for row in rows]]
    tails = [["baseline is", "target"], *[[row.versus, row.target.describe(row.unit) if row.target else ""] for row in rows]]
    groups = {mode: [list(MODE_COLUMNS), *[_mode_texts(row, mode) for row in rows]] for mode in modes}
    lead_w, tail_w = _widths(leads), _widths(tails)
    mode_w = {mode: _mode_widths(texts) for mode, texts in groups.items()}

    def line(lead: list[str], texts: dict[str, list[str] | str], tail: list[str]) -> str:
        """One line of the table."""
        parts = [lead[0].rjust(lead_w[0]), *(text.ljust(w) for text, w in zip(lead[1:], lead_w[1:]))]
        parts += [_group(texts[mode], mode_w[mode]) for mode in modes]
        parts += [text.ljust(w) for text, w in zip(tail, tail_w)]
        return " | ".join(parts).rstrip()

    title = line(["", "", ""], {mode: mode for mode in modes}, ["", ""])
    lines = [line(lead, {mode: groups[mode][i] for mode in modes}, tail) for i, (lead, tail) in enumerate(zip(leads, tails))]
    return "\n".join([title, lines[0], "-" * len(lines[0]), *lines[1:]])


# --------------------------------------------------------------------------- what a run measures


@dataclass(frozen=True)
class Plan:
    """How long and how big each part of a run is."""

    name: str
    rounds: int  # each comparison alternates its sides this many times, so a busy moment hits both
    window_s: float  # one round of an ingest or ack-latency job
    feed_window_s: float  # one round of tap -> screen
    history: tuple[int, int]  # ratings stored before the ack-latency runs: small, big
    hold_sockets: int
    hold_s: float
    hold_modes: tuple[str, ...]
    warmup_s: float = 0.3  # each round's first moments are not counted
    quiet_s: float = 3.0  # the stall probe alone, before the idle sockets arrive
    feed_kiosks: int = 100
    feed_screens: int = 20
    tap_every_s: float = 2.0  # mean gap between one kiosk's taps while the screens watch
    hold_tap_every_s: float = 60.0  # mean gap between one held kiosk's taps: ratings flow, sockets mostly idle
    alert_probes: int = 2  # follow-up requests per tap -> screen round, timed to their alert


QUICK = Plan("quick", rounds=2, window_s=0.8, feed_window_s=2.0, history=(1_000, 100_000),
             hold_sockets=500, hold_s=4, hold_modes=("eventlet",), quiet_s=2.0)
FULL = Plan("full", rounds=4, window_s=2.0, feed_window_s=5.0, history=(1_000, 200_000),
            hold_sockets=2_000, hold_s=15, hold_modes=MODES)


def _ms_stats(samples: list[float]) -> tuple[float | None, float | None]:
    """p50 and p99 of latency samples."""
    return percentile(samples, 50), percentile(samples, 99)


def build_rows(results: dict[str, dict], plan: Plan) -> list[Row]:
    """Turn each mode's raw results into the table's rows."""
    small, big = (f"{n:,} stored" for n in plan.history)
    sockets = f"{plan.hold_sockets:,}"
    rows = [
        Row("1", "bare stack, 20 kiosks", "ratings/s"),
        Row("2", "durable ingest, 20 kiosks", "ratings/s", "bare stack, 20 kiosks", Target(0.7, at_most=False, on_ratio=True)),
        Row("2", "durable ingest, 200 kiosks", "ratings/s", "bare stack, 20 kiosks"),
        Row("3", f"ack p50, {small}", "ms", "bare stack"),
        Row("3", f"ack p99, {small}", "ms", "bare stack"),
        Row("3", f"ack p50, {big}", "ms", small, Target(1.5, on_ratio=True)),
        Row("3", f"ack p99, {big}", "ms", small),
        Row("3", f"start-up, {small}", "s", "bare stack"),
        Row("3", f"start-up, {big}", "s", small),
        Row("4", "tap -> screen p50", "ms", "bare stack relaying"),
        Row("4", "tap -> screen p99", "ms", "bare stack relaying", Target(50)),
        Row("4", "tap -> first screen p99", "ms", "bare stack relaying"),
        Row("4", "tap -> alert p50", "ms", "(follow-up request)"),
        Row("4", "tap -> alert p99", "ms", "(follow-up request)"),
        Row("5", f"server RSS, {sockets} sockets", "MB", "bare stack, same sockets", Target(300)),
        Row("5", f"longest stall, {sockets} sockets", "ms", "bare stack, same sockets", Target(100)),
        Row("5", f"longest loop stall, {sockets} sockets", "ms", "bare stack, same sockets"),
        Row("5", f"longest stall, connecting {sockets}", "ms", "bare stack, same sockets"),
        Row("5", f"time to connect {sockets} sockets", "s", "bare stack, same sockets"),
    ]
    for mode, r in results.items():
        for row, cell in zip(rows, _mode_cells(r)):
            row.cells[mode] = cell
    return rows


def _mode_cells(r: dict) -> list[Cell]:
    """One mode's cells, in the order of the rows in build_rows."""
    bare_p50, bare_p99 = _ms_stats(r["bare_ack"]["ack_ms"]["main"])
    small_p50, small_p99 = _ms_stats(r["small_ack"]["ack_ms"]["main"])
    big_p50, big_p99 = _ms_stats(r["big_ack"]["ack_ms"]["main"])
    relay_p50, relay_p99 = _ms_stats(r["bare_feed"]["screen_ms"])
    feed_p50, feed_p99 = _ms_stats(r["feed"]["screen_ms"])
    bare_rate = r["bare_ingest"]["rate"]
    startup = r["startup_s"]
    return [
        Cell(bare_rate),
        Cell(r["ingest_20"]["rate"], bare_rate),
        Cell(r["ingest_200"]["rate"], bare_rate),
        Cell(small_p50, bare_p50),
        Cell(small_p99, bare_p99),
        Cell(big_p50, small_p50),
        Cell(big_p99, small_p99),
        Cell(startup["small"], startup["bare"]),
        Cell(startup["big"], startup["small"]),
        Cell(feed_p50, relay_p50),
        Cell(feed_p99, relay_p99),
        Cell(percentile(r["feed"]["first_screen_ms"], 99), percentile(r["bare_feed"]["first_screen_ms"], 99)),
        *_alert_cells(r["feed"]),
        *_hold_cells(r.get("hold"), r.get("bare_hold")),
    ]


def _alert_cells(feed: dict) -> list[Cell]:
    """Tap -> alert p50 and p99, or why there are none."""
    # A server without alerts never sends one: the row says so instead of a number.
    if not feed["alert_ms"]:
        return [Cell(None, note="n/a (alerts not built yet)")] * 2
    return [Cell(v) for v in _ms_stats(feed["alert_ms"])]


def _hold_cells(hold: dict | None, bare: dict | None) -> list[Cell]:
    """Row 5's cells: the ward server holding sockets, next to the bare stack holding the same."""
    if hold is None or bare is None:
        return [Cell(None, note="not run (--quick)")] * 5
    longest = lambda h, phase: max(h["probe_ms"][phase], default=None)  # noqa: E731
    return [
        Cell(hold["rss_peak_mb"], bare["rss_peak_mb"]),
        Cell(longest(hold, "held"), longest(bare, "held")),
        Cell(longest(hold, "held refused"), longest(bare, "held refused")),
        Cell(longest(hold, "connect"), longest(bare, "connect")),
        Cell(hold["connect_s"], bare["connect_s"]),
    ]


# --------------------------------------------------------------------------- processes


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    """The next stdout line of a child, or '' if it ends or says nothing for `timeout` seconds."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


def _stop(proc: subprocess.Popen) -> None:
    """Ask a child to stop as Ctrl-C would, and kill it if it does not."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _tail(path: Path, chars: int = 2000) -> str:
    """The end of a log, to show why a child failed."""
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


class ServerProcess:
    """A server subprocess that says 'listening on http://HOST:PORT' on its first stdout line."""

    def __init__(self, argv: list[str], log_path: Path):
        self.argv = argv
        self.log_path = log_path
        self.url = ""
        self.startup_s = 0.0
        self.proc: subprocess.Popen | None = None
        self.ps = None

    def __enter__(self) -> "ServerProcess":
        """Start the server and wait for its listening line; the wait is its start-up time."""
        import psutil  # only the parent measures memory and CPU

        started = time.perf_counter()
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=log, text=True)
        line = _read_line(self.proc, timeout=300)
        self.startup_s = time.perf_counter() - started
        found = re.search(r"listening on (http://\S+)", line)
        if not found:
            self.__exit__()
            raise BenchError(f"{' '.join(self.argv[1:])} did not start; its log:\n{_tail(self.log_path)}")
        self.url = found.group(1)
        self.ps = psutil.Process(self.proc.pid)
        return self

    def __exit__(self, *exc) -> None:
        """Stop the server as Ctrl-C would."""
        _stop(self.proc)
        self.proc.stdout.close()

    def rss_mb(self) -> float:
        """Resident memory now, in MB."""
        return self.ps.memory_info().rss / 2**20

    def cpu_s(self) -> float:
        """CPU seconds used so far, all threads."""
        times = self.ps.cpu_times()
        return times.user + times.system


class Worker:
    """A client subprocess running one job: spec in, 'ready' once connected, 'go', then its result."""

    def __init__(self, spec: dict, log_path: Path):
        self.log_path = log_path
        with open(log_path, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server.tools.bench", "worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
            )
        self.send(json.dumps(spec))

    def send(self, line: str) -> None:
        """One line to the worker: its spec, 'go', 'stop' or 'phase NAME'."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def read(self, timeout: float = 300) -> dict:
        """The worker's next JSON line; BenchError with its log if it has none."""
        line = _read_line(self.proc, timeout)
        if not line:
            raise BenchError(f"a client worker stopped answering; its log:\n{_tail(self.log_path)}")
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


# --------------------------------------------------------------------------- the bare stack


def bare_main(argv: list[str]) -> None:
    """Serve the bare stack: its kiosk 'rating' handler only acks (with --broadcast it relays to /staff too)."""
    mode = argv[argv.index("--async-mode") + 1] if "--async-mode" in argv else "eventlet"
    broadcast = "--broadcast" in argv
    if mode == "eventlet":
        import warnings

        # Patch before Flask and Socket.IO load, as server/entry.py does for the real server.
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        import eventlet

        eventlet.monkey_patch()
    from flask import Flask
    from flask_socketio import SocketIO

    from server.entry import listen_and_serve

    app = Flask("bare")
    sio = SocketIO(app, async_mode=mode, logger=False, engineio_logger=False)

    @sio.on(RATING, namespace=KIOSK_NAMESPACE)
    def rating(payload=None):
        """A tablet sends one tap; ack it at once."""
        if broadcast:
            sio.emit(RATING, payload, namespace=STAFF_NAMESPACE)
        return {"ok": True}

    @sio.on("connect", namespace=STAFF_NAMESPACE)
    def screen(auth=None):
        """A ward screen connects; nothing to check."""
        pass  # a handler is what makes Socket.IO accept the namespace

    def on_listening(port: int) -> None:
        """Say where we listen, as `wardpulse serve` does."""
        print(f"bare stack listening on http://127.0.0.1:{port} ({mode})", flush=True)

    try:
        listen_and_serve(app, "127.0.0.1", 0, mode, on_listening)
    except KeyboardInterrupt:
        pass


# --------------------------------------------------------------------------- client worker


def connect_socket(url: str, namespace: str, token: str, handlers: dict | None = None):
    """A python-socketio client on one namespace over websocket only, as the tablets and screens use."""
    import socketio

    client = socketio.Client(reconnection=False)
    for event, handler in (handlers or {}).items():
        client.on(event, handler, namespace=namespace)
    client.connect(url, namespaces=[namespace], auth={"token": token}, transports=["websocket"], wait_timeout=30)
    return client


def random_score(rng: random.Random) -> str:
    """An answer drawn from the usual FFT mix."""
    return rng.choices(SCORES, [SCORE_WEIGHTS[s] for s in SCORES])[0]


class Load:
    """Kiosk and screen sockets in one process, and what they saw in a round, timed with time.perf_counter."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.kiosks: list = []
        self.screens: list = []
        self.phase = spec.get("phase", "main")  # the parent names phases so the results can be split by them
        self.stop = threading.Event()
        self.clear()

    def clear(self) -> None:
        """Forget the last round."""
        self.sent: dict[str, float] = {}  # rating id -> when it was sent
        self.acks: list[tuple[str, float, float]] = []  # (phase, sent, acked)
        self.errors: list[str] = []
        self.deliveries: list[tuple[str, float]] = []  # (rating id, when a screen got it)
        self.alerts: list[float] = []  # when the first screen got a follow-up alert
        self.alert_ms: list[float] = []  # from a follow-up tap to its alert on the first screen

    def connect(self) -> float:
        """Open every socket of the spec, several at a time; returns how long it took."""
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            self.kiosks = list(pool.map(self._kiosk, self.spec.get("kiosks", [])))
            self.screens = list(pool.map(self._screen, enumerate(self.spec.get("screens", []))))
        return time.perf_counter() - started

    def _kiosk(self, token: str):
        """One tablet socket on /kiosk."""
        return connect_socket(self.spec["url"], KIOSK_NAMESPACE, token)

    def _screen(self, numbered: tuple[int, str]):
        """One ward screen socket on /staff; the first also watches for alerts."""
        number, token = numbered
        handlers = {RATING: self._delivered}
        if number == 0:
            handlers[ALERT] = self._alerted
        return connect_socket(self.spec["url"], STAFF_NAMESPACE, token, handlers)

    def _delivered(self, item=None) -> None:
        """A screen got a rating: note which and when."""
        self.deliveries.append((item.get("id") if isinstance(item, dict) else None, time.perf_counter()))

    def _alerted(self, alert=None) -> None:
        """The first screen got an alert: note when, if it is a newly opened follow-up request."""
        if isinstance(alert, dict) and alert.get("kind") == "follow_up" and alert.get("status") == "open":
            self.alerts.append(time.perf_counter())

    def tap(self, kiosk, rating: dict, refusal_expected: bool = False) -> bool:
        """Send one rating and wait for its ack, as a tablet does; True if it was acked as expected."""
        import socketio

        sent = self.sent[rating["id"]] = time.perf_counter()
        try:
            ack = kiosk.call(RATING, rating, namespace=KIOSK_NAMESPACE, timeout=30)
        except socketio.exceptions.SocketIOError as exc:
            self.errors.append(type(exc).__name__)
            return False
        if refusal_expected and isinstance(ack, dict):
            # Refused before any disk work (the bare stack acks it): the time is the event loop's alone.
            self.acks.append((f"{self.phase} refused", sent, time.perf_counter()))
            return True
        if isinstance(ack, dict) and ack.get("ok"):
            self.acks.append((self.phase, sent, time.perf_counter()))
            return True
        self.errors.append(str(ack.get("error") if isinstance(ack, dict) else ack))
        return False

    def kiosk_loop(self, kiosk) -> None:
        """Tap until told to stop: back to back, at a steady gap, or at random (Poisson) gaps."""
        from kiosk.client import make_rating

        rng = random.Random()
        every, steady = self.spec.get("every", 0), self.spec.get("steady", False)
        # Exponential gaps from the start make arrivals Poisson at once, with no ramp-up to wait out.
        gap = (lambda: every) if steady else (lambda: rng.expovariate(1 / every))
        if every and not steady:
            self.stop.wait(gap())
        refuse = False
        while not self.stop.is_set():
            # With "ping", every other rating has an answer no tablet sends, so it is refused with no disk work.
            refuse = self.spec.get("ping", False) and not refuse
            self.tap(kiosk, make_rating("not-an-answer" if refuse else random_score(rng)), refuse)
            if every:
                self.stop.wait(gap())

    def alert_probe(self) -> None:
        """Now and then ask for someone to come and talk; time the alert on the first screen, if alerts exist."""
        from kiosk.client import make_rating

        rounds = self.spec.get("alert_probes", 0) if self.screens else 0
        for _ in range(rounds):
            if self.stop.wait(self.spec["seconds"] / (rounds + 1)):
                return
            seen = len(self.alerts)
            sent = time.perf_counter()
            # A patient asking for someone to talk to raises an alert at once.
            if not self.tap(self.kiosks[0], make_rating("poor", "Bench: please talk to me", {"location": "Bay 3"})):
                continue
            while len(self.alerts) == seen and time.perf_counter() < sent + ALERT_WAIT_S:
                time.sleep(0.001)
            if len(self.alerts) == seen:
                return  # no alert at all: this server has no alerts (yet)
            self.alert_ms.append(round((self.alerts[seen] - sent) * 1000, 3))

    def run(self) -> dict:
        """One round: tap and watch until the spec's time is up or the parent says stop."""
        self.clear()
        threads = [threading.Thread(target=self.kiosk_loop, args=(k,), daemon=True) for k in self.kiosks]
        threads.append(threading.Thread(target=self.alert_probe, daemon=True))
        warmup = self.spec.get("warmup", 0)
        start = time.perf_counter() + warmup
        for t in threads:
            t.start()
        if self.spec.get("seconds") is not None:
            self.stop.wait(warmup + self.spec["seconds"])
            self.stop.set()
        self.stop.wait()
        end = time.perf_counter()
        for t in threads:
            t.join(timeout=35)
        return self.result(start, end)

    def result(self, start: float, end: float) -> dict:
        """What the round measured between its start (after warm-up) and its end."""
        in_window = [(phase, s, a) for phase, s, a in self.acks if start <= a <= end]
        ack_ms: dict[str, list[float]] = {}
        for phase, sent, acked in in_window:
            ack_ms.setdefault(phase, []).append(round((acked - sent) * 1000, 3))
        return {
            "rate": len(in_window) / (end - start) if end > start else None,
            "acks": len(in_window),
            "error_count": len(self.errors),
            "errors": self.errors[:20],
            "ack_ms": ack_ms,
            # Raw, for the parent to join: the taps and the screens may be in different client processes.
            "sent": self.sent,
            "delivered": [(i, t) for i, t in self.deliveries if start <= t <= end],
            "alert_ms": self.alert_ms,
        }


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


def _control(load: Load, rounds: queue.Queue) -> None:
    """Obey the parent: 'go' starts a round, 'stop' ends it, 'phase NAME' tags what follows, end of input ends us."""
    for line in sys.stdin:
        words = line.split()
        if words == ["go"]:
            load.stop.clear()
            rounds.put(True)
        elif words == ["stop"]:
            load.stop.set()
        elif words[:1] == ["phase"] and len(words) == 2:
            load.phase = words[1]
    # Hundreds of sockets close faster by process exit than one by one; the server sees them drop.
    os._exit(0)


def _say(message: dict) -> None:
    """One JSON line to the parent."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def worker_main() -> None:
    """Run one client job, a round per 'go': spec on stdin, one JSON line per answer on stdout."""
    spec = json.loads(sys.stdin.readline())
    load = Load(spec)
    connect_s = load.connect()
    _say({"ready": True, "connect_s": connect_s, "sockets": len(load.kiosks) + len(load.screens)})
    rounds: queue.Queue = queue.Queue()
    threading.Thread(target=_control, args=(load, rounds), daemon=True).start()
    while rounds.get():
        _say(load.run())


# --------------------------------------------------------------------------- the run's data dirs


def make_registry(data_dir: Path) -> dict:
    """Wards, kiosks and wall displays for the whole run, added through the CLI's admin path (no server yet)."""
    from server.cli import admin

    devices = {"kiosks": {}, "kiosk_ids": {}, "displays": {}}
    for code, kiosks in [(WARD, 200), *[(c, KIOSKS_PER_OTHER_WARD) for c in OTHER_WARDS]]:
        admin(data_dir, "add_ward", code=code, name=f"Bench ward {code}")
        made = [admin(data_dir, "add_kiosk", ward=code, label=None) for _ in range(kiosks)]
        devices["kiosks"][code] = [k["token"] for k in made]
        devices["kiosk_ids"][code] = [k["id"] for k in made]
        devices["displays"][code] = admin(data_dir, "add_display", ward=code, label=None)["token"]
    return devices


def stored_rating(tapped_at: datetime, rng: random.Random, kiosk_id: str) -> dict:
    """A rating as the journal holds it once a kiosk's tap was stored (the shape WardServer.receive_rating writes)."""
    from server.store.storage import fingerprint
    from shared.protocol import RatingIn, iso_utc

    rating_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    fields = RatingIn(id=rating_id, score=random_score(rng), tapped_at=iso_utc(tapped_at)).fields()
    extra = {"ward": WARD, "kiosk_id": kiosk_id, "channel": "kiosk", "received_at": fields["tapped_at"], "misuse": False}
    return dict(fields, **extra, fingerprint=fingerprint(fields))


def prefill(data_dir: Path, count: int, kiosk_ids: list[str], now: datetime) -> dict[str, int]:
    """Write `count` ratings from the ward's kiosks into the journal, tapped evenly from the start of last month."""
    from server.store.storage import RatingJournal

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

    def __init__(self, root: Path, plan: Plan):
        self.root = root
        self.plan = plan
        self.logs = root / "logs"
        self.logs.mkdir()
        self.registry_dir = root / "registry"
        progress("setting up wards, kiosks and displays")
        self.devices = make_registry(self.registry_dir)
        self.history_dirs: dict[int, Path] = {}
        self.history_months: dict[int, dict[str, int]] = {}
        for count in plan.history:
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

    def server(self, mode: str, template: Path) -> ServerProcess:
        """`wardpulse serve` on a fresh copy of a data dir, on a free port."""
        data_dir = self.copy(template, f"{template.name}-{mode}")
        argv = [sys.executable, "-m", "server", "--data-dir", str(data_dir), "serve", "--port", "0", "--async-mode", mode]
        return ServerProcess(argv, self.log(f"server-{data_dir.name}"))

    def bare(self, mode: str, broadcast: bool = False) -> ServerProcess:
        """The bare Flask-SocketIO stack in the same async mode."""
        argv = [sys.executable, "-m", "server.tools.bench", "bare", "--async-mode", mode] + (["--broadcast"] if broadcast else [])
        return ServerProcess(argv, self.log(f"bare-{mode}"))

    def kiosk_tokens(self, count: int) -> list[str]:
        """Device tokens of the first `count` kiosks on the main ward."""
        return self.devices["kiosks"][WARD][:count]

    def workers(self, server: ServerProcess, specs: list[dict]) -> list[Worker]:
        """Client workers for these specs, aimed at one server."""
        return [Worker(dict(spec, url=server.url), self.log("clients")) for spec in specs]


def progress(message: str) -> None:
    """Tell the person waiting what is being measured (stderr, so stdout stays the report)."""
    print(f"  {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the measurements


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
    server: ServerProcess
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
        "bare_ingest": ("bare", [dict(timed, kiosks=lab.kiosk_tokens(20))]),
        "ingest_20": ("ingest", [dict(timed, kiosks=lab.kiosk_tokens(20))]),
        # 200 kiosks are too many threads for one client process to keep busy.
        "ingest_200": ("ingest", [dict(timed, kiosks=part) for part in chunks(lab.kiosk_tokens(200), 2)]),
        "bare_ack": ("bare", [dict(timed, kiosks=lab.kiosk_tokens(1))]),
        "small_ack": ("small", [dict(timed, kiosks=lab.kiosk_tokens(1))]),
        "big_ack": ("big", [dict(timed, kiosks=lab.kiosk_tokens(1))]),
        "bare_feed": ("relay", [watched, *watching]),
        "feed": ("feed", [watched, *watching]),
    }


def start_servers(lab: Lab, mode: str, stack: ExitStack) -> dict[str, ServerProcess]:
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
        for n in range(lab.plan.rounds):
            progress(f"{mode}: round {n + 1} of {lab.plan.rounds}")
            for job in jobs:
                job.round()
        results = {job.name: job.summary() for job in jobs}
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


def watch_rss(server: ServerProcess, seconds: float) -> list[float]:
    """The server's RSS in MB, every half second for `seconds`."""
    rss = [server.rss_mb()]
    for _ in range(int(seconds / 0.5)):
        time.sleep(0.5)
        rss.append(server.rss_mb())
    return rss


def hold(lab: Lab, server: ServerProcess) -> dict:
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
    return results


# --------------------------------------------------------------------------- the report


def notes(results: dict[str, dict], lab: Lab) -> list[str]:
    """What a reader needs to trust the table: how things were measured, CPU use, errors."""
    return [*_method_notes(lab), *_hold_notes(results), *_cpu_notes(results), *_error_notes(results)]


def _method_notes(lab: Lab) -> list[str]:
    """How the numbers were made: baselines, rounds, stored history, the stall probe."""
    plan = lab.plan
    lines = [
        "How: 'bare stack' is a minimal Flask-SocketIO app in the same async mode whose kiosk 'rating' handler only",
        "  acks (for tap -> screen it also relays each rating to every /staff socket), driven by the same client code.",
        f"  Ratio = value / baseline. Rows 1-4 alternate the sides of each comparison over {plan.rounds} rounds.",
        "  Kiosks send tapped_at = now, so back-to-back taps from one kiosk are stored marked as misuse (see the README on misuse).",
        f"  Tap -> screen: {plan.feed_kiosks} kiosks tapping every ~{plan.tap_every_s:.0f} s in one client process with the"
        f" screen that times alerts; the other {plan.feed_screens - 1} screens",
        f"  in client processes of {SCREENS_PER_WORKER}, as screens are separate devices (one clock: CLOCK_MONOTONIC).",
        "  Stored history was written straight into the journal, tapped evenly from the start of last month:",
    ]
    for count, months in lab.history_months.items():
        lines.append(f"    {count:,} stored: " + ", ".join(f"{m}: {n:,}" for m, n in sorted(months.items())))
    return lines + [
        f"  Stall = the longest ack of one kiosk that sends a rating {PROBE_EVERY_S * 1000:.0f} ms after each ack,"
        " seen from outside;",
        "  it includes waiting for fsync. Loop stall = the same probe's every other rating, refused before any disk work.",
        f"  Held sockets: 10 wards, 1 in 10 a ward screen, each kiosk tapping every ~{plan.hold_tap_every_s:.0f} s"
        " (the bare stack acks them and relays nothing).",
    ]


def _hold_notes(results: dict[str, dict]) -> list[str]:
    """The stall probe's noise floor before any socket connected, and RSS at rest."""
    lines = []
    for mode, r in results.items():
        if "hold" in r:
            quiet = {name: [max(r[name]["probe_ms"][phase], default=0) for phase in ("quiet", "quiet refused")]
                     for name in ("hold", "bare_hold")}
            lines.append(f"  {mode}, before any socket connected (the noise floor): longest stall / loop stall"
                         f" {quiet['hold'][0]:.0f} / {quiet['hold'][1]:.0f} ms ward server,"
                         f" {quiet['bare_hold'][0]:.0f} / {quiet['bare_hold'][1]:.0f} ms bare stack;"
                         f" ward server RSS at rest {r['hold']['rss_idle_mb']:.0f} MB")
    return lines


def _cpu_notes(results: dict[str, dict]) -> list[str]:
    """Who was busy: if the bare stack's server is far from 100 %, the clients limit the baseline."""
    lines = ["Server / client CPU in the median round (100 % = one core):"]
    for mode, r in results.items():
        usage = ", ".join(f"{name} {r[name]['server_cpu_pct']:.0f}/{r[name]['client_cpu_pct']:.0f}"
                          for name in ("bare_ingest", "ingest_20", "ingest_200", "bare_feed", "feed"))
        lines.append(f"  {mode}: {usage}")
    return lines


def _error_notes(results: dict[str, dict]) -> list[str]:
    """Every refused or unanswered rating, by job."""
    # A refused or unanswered rating would make a rate look better than it is: never let it pass silently.
    lines = []
    for mode, r in results.items():
        jobs = {name: job for name, job in r.items() if isinstance(job, dict) and "error_count" in job}
        jobs.update({f"{name} flow": r[name]["flow"] for name in ("hold", "bare_hold") if name in r})
        refused = {name: (job["error_count"], job["errors"][:3]) for name, job in jobs.items() if job["error_count"]}
        if refused:
            lines.append(f"  {mode}: REFUSED OR UNANSWERED RATINGS (count, first errors): {refused}")
    return lines


def busy_warning(load_average: list[float], cpus: int | None) -> str | None:
    """A warning when other work was using the machine as the run began, else None."""
    if load_average[0] <= 0.5 * (cpus or 1):
        return None
    return (f"WARNING: the machine was busy before the run began (load {load_average[0]:.1f} on {cpus} CPUs): the"
            " numbers are slower and noisier than this server can do; run again when it is idle.")


def render(info: dict, plan: Plan, rows: list[Row], lines: list[str]) -> str:
    """The whole printed report: machine and date, the table, the notes."""
    head = [
        f"WardPulse benchmark ({plan.name}), {info['date']}",
        f"machine: {info['cpus']} CPUs, {info['cpu_model']}, Python {info['python']}, {info['platform']}",
        "load average at start: " + " ".join(f"{x:.2f}" for x in info["load_average"]),
        *filter(None, [busy_warning(info["load_average"], info["cpus"])]),
        "",
    ]
    return "\n".join([*head, format_table(rows), "", *lines])


def run_bench(quick: bool = False, json_path: Path | None = None) -> dict:
    """Run the whole benchmark, print the report, and write every number to json_path if given."""
    try:
        import psutil  # noqa: F401  (measures the servers' memory and CPU)
    except ImportError:
        raise BenchError("wardpulse bench needs psutil: pip install psutil (make install puts it in .venv)") from None
    plan = QUICK if quick else FULL
    info = machine()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="wardpulse-bench-") as tmp:
        lab = Lab(Path(tmp), plan)
        results = {mode: measure_mode(lab, mode) for mode in MODES}
        rows = build_rows(results, plan)
        report = {"machine": info, "plan": asdict(plan), "history_months": lab.history_months,
                  "rows": [row.as_json() for row in rows], "raw": results}
        print(render(info, plan, rows, notes(results, lab)))
    report["seconds"] = time.perf_counter() - started
    print(f"\nTook {report['seconds']:.0f} s.")
    if json_path is not None:
        Path(json_path).write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    if sys.argv[1:2] == ["bare"]:
        bare_main(sys.argv[2:])
    elif sys.argv[1:2] == ["worker"]:
        worker_main()
    else:
        sys.exit("usage: python -m server.tools.bench bare --async-mode MODE [--broadcast] | worker")
