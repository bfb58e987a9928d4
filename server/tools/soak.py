"""Crash soak: simulated kiosks tap while the ward server is killed with SIGKILL at random moments.

`wardpulse soak` runs it for minutes or hours; tests/live/test_crash.py runs a short one. At the end
it checks the promise of README "How ratings are kept" from the outside: every tap is stored exactly once, every outbox
has drained, every follow-up request has its alert, and every file on disk reads back whole.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kiosk.client import KioskClient
from server.store.alert_store import AlertStore
from server.store.backup import server_stopped
from server.store.files import ALERTS_DIR, REGISTRY_FILE
from server.store.journal import journal_files
from server.store.registry import Registry
from server.tools.harness import WardProcess

WARD = "SOAK"
KIOSK_DIR = "soak-kiosks"  # outboxes live beside the data they feed, as the demo's do
# Mostly good, a little poor, as on a real ward; a few ask for someone to come (follow-up alerts).
MIX = {"very_good": 60, "good": 22, "neither": 5, "poor": 5, "very_poor": 4, "dont_know": 4}
COMMENTS = ["Kind staff", "Food was cold", "Noisy at night", "  spaces around  ", "Ça va, merci 👍", None, None, None]


class SoakError(Exception):
    """The soak could not run (the server would not start, the data dir is in use); the message says why."""


@dataclass
class SoakPlan:
    """How long, how busy and how violent a soak run is."""

    seconds: float
    kiosks: int = 4
    seed: int = 0
    tap_every: float = 0.1  # mean seconds between taps on each kiosk
    serve_for: tuple[float, float] = (0.5, 6.0)  # seconds between a restart and the next kill
    down_for: tuple[float, float] = (0.0, 1.0)  # seconds the server stays dead (kiosks keep tapping)
    start_kill_share: float = 0.2  # how often a restart is itself killed (mid journal repair, alert recovery)
    follow_up_share: float = 0.02
    async_mode: str = "eventlet"
    ack_timeout: float = 2.0  # a call in flight when the server dies waits this long (python-socketio)
    drain_timeout: float = 60.0


@dataclass
class SoakResult:
    """What was tapped, acked and stored, and every problem found."""

    seed: int
    seconds: float
    sent: int = 0
    acked: int = 0
    acked_as_duplicate: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    changed: int = 0
    undrained: int = 0
    refused: int = 0
    follow_ups: int = 0
    alerts_missing: int = 0
    alerts_doubled: int = 0
    kills: int = 0
    slowest_start: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        bad = (self.lost, self.duplicated, self.unexpected, self.changed, self.undrained, self.refused)
        return not any(bad) and not self.alerts_missing and not self.alerts_doubled and not self.problems

    def report(self) -> str:
        """The figures an operator reads, one per line."""
        lines = [
            f"seed {self.seed}, {self.seconds:.0f} s of tapping",
            f"ratings sent:     {self.sent}",
            f"acked:            {self.acked} ({self.acked_as_duplicate} as duplicates: resends after an ack lost to a kill)",
            f"stored:           {self.stored}",
            f"lost:             {self.lost}",
            f"duplicated:       {self.duplicated}",
            f"kills survived:   {self.kills} (slowest restart {self.slowest_start:.2f} s)",
            f"follow-up alerts: {self.follow_ups - self.alerts_missing} of {self.follow_ups} ({self.alerts_doubled} doubled)",
            f"left in outboxes: {self.undrained}; refused: {self.refused}; stored but never tapped: {self.unexpected}; "
            f"stored with other content: {self.changed}",
        ]
        lines += [f"PROBLEM: {p}" for p in self.problems]
        lines.append("OK: nothing lost, nothing doubled" if self.ok else "FAILED")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return dict(asdict(self), ok=self.ok)


class Tapper(threading.Thread):
    """Taps on random kiosks at random moments (seeded) and remembers every rating it made."""

    def __init__(self, kiosks: list[KioskClient], plan: SoakPlan):
        super().__init__(name="soak-tapper", daemon=True)
        self.kiosks = kiosks
        self.plan = plan
        self.rng = random.Random(f"{plan.seed}-taps")
        self.made: list[dict] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        scores, weights = list(MIX), list(MIX.values())
        while not self._stop_event.wait(self.rng.expovariate(len(self.kiosks) / self.plan.tap_every)):
            kiosk = self.rng.choice(self.kiosks)
            score = self.rng.choices(scores, weights)[0]
            follow_up = {"location": f"Bay {self.rng.randint(1, 6)}"} if self.rng.random() < self.plan.follow_up_share else None
            self.made.append(kiosk.tap(score, comment=self.rng.choice(COMMENTS), follow_up=follow_up))

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join()


def enroll(data_dir: Path, kiosks: int) -> list[str]:
    """Add the soak ward and its kiosks straight into a fresh data dir; return the kiosks' tokens."""
    if (data_dir / REGISTRY_FILE).exists():
        raise SoakError(f"{data_dir} already holds wards: a soak needs a fresh data dir of its own")
    with server_stopped(data_dir) as free:
        if not free:
            raise SoakError(f"a server is running on {data_dir}")
        registry = Registry(data_dir)
        registry.add_ward(WARD, "Soak test ward")
        return [registry.add_kiosk(WARD, f"Soak kiosk {i + 1}")["token"] for i in range(kiosks)]


def unreadable_files(data_dir: Path) -> list[str]:
    """Every journal line and every TinyDB file read strictly: a line that is torn or does not parse is a problem."""
    problems = []
    for path in journal_files(data_dir):
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            problems.append(f"{path}: torn last line")
        for number, line in enumerate(data.splitlines(), 1):
            try:
                json.loads(line)["id"]
            except (ValueError, KeyError, TypeError):
                problems.append(f"{path}:{number}: not a whole rating: {line[:80]!r}")
    for path in [data_dir / REGISTRY_FILE, *sorted((data_dir / ALERTS_DIR).glob("*.json"))]:
        try:
            if not isinstance(json.loads(path.read_text(encoding="utf-8")), dict):
                raise ValueError("not an object")
        except (OSError, ValueError) as exc:
            problems.append(f"{path}: does not load: {exc}")
    return problems


def server_tracebacks(log_path: Path) -> list[str]:
    """Handlers that failed during the soak, from the server's stderr: none may."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    count = text.count("Traceback (most recent call last)")
    return [f"the server logged {count} traceback(s); see {log_path}"] if count else []


def tally(result: SoakResult, made: list[dict], stored: list[dict]) -> None:
    """Compare every tap made with the export: each stored once, with the content it was tapped with."""
    copies = Counter(r["id"] for r in stored)
    by_id = {r["id"]: r for r in made}
    result.sent = len(made)
    result.stored = sum(1 for rating_id in copies if rating_id in by_id)
    result.lost = sum(1 for rating_id in by_id if not copies[rating_id])
    result.duplicated = sum(1 for n in copies.values() if n > 1)
    result.unexpected = sum(1 for rating_id in copies if rating_id not in by_id)
    result.changed = sum(1 for r in stored if r["id"] in by_id and as_tapped(r) != as_tapped(by_id[r["id"]]))


def as_tapped(rating: dict) -> tuple:
    """What the patient said, as the server keeps it (comments trimmed)."""
    return rating["score"], (rating.get("comment") or "").strip() or None, rating.get("follow_up")


def check_follow_ups(result: SoakResult, data_dir: Path, made: list[dict]) -> None:
    """Every follow-up request that was tapped has exactly one follow-up alert."""
    alerts = Counter(a["rating_id"] for a in AlertStore(data_dir).alerts(WARD) if a["kind"] == "follow_up")
    asked = [r["id"] for r in made if "follow_up" in r]
    result.follow_ups = len(asked)
    result.alerts_missing = sum(1 for rating_id in asked if not alerts[rating_id])
    result.alerts_doubled = sum(1 for n in alerts.values() if n > 1)


def kill_at_random(server: WardProcess, plan: SoakPlan, result: SoakResult, progress: Callable[[str], None]) -> None:
    """Until the time is up: serve a random while, kill -9, stay dead a random while, restart on the same port."""
    rng = random.Random(f"{plan.seed}-kills")
    began = time.monotonic()
    deadline = began + plan.seconds
    next_report = began + 30
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, rng.uniform(*plan.serve_for)))
        if time.monotonic() >= deadline:
            break
        server.kill()
        result.kills += 1
        time.sleep(rng.uniform(*plan.down_for))
        if rng.random() < plan.start_kill_share:
            server.spawn()
            time.sleep(rng.uniform(0.0, 0.8))
            server.kill()
            result.kills += 1
        result.slowest_start = max(result.slowest_start, server.start())
        if time.monotonic() >= next_report:
            progress(f"{time.monotonic() - began:.0f} s: {result.kills} kills so far")
            next_report += 30


def settle(kiosks: list[KioskClient], plan: SoakPlan, result: SoakResult, progress: Callable[[str], None]) -> None:
    """Give the outboxes time to drain, count what each kiosk saw, and stop them."""
    deadline = time.monotonic() + plan.drain_timeout
    for kiosk in kiosks:
        kiosk.wait_drained(max(0.0, deadline - time.monotonic()))
    progress(f"outboxes drained in {plan.drain_timeout - (deadline - time.monotonic()):.1f} s")
    for kiosk in kiosks:
        result.acked += kiosk.acked
        result.acked_as_duplicate += kiosk.duplicates
        result.undrained += len(kiosk.outbox)
        result.refused += len(kiosk.outbox.refused())
    stop_kiosks(kiosks)


def stop_kiosks(kiosks: list[KioskClient]) -> None:
    """Stop them side by side: a websocket close waits up to 3 s for the server's answer (threading mode is slow)."""
    stopping = [threading.Thread(target=kiosk.stop) for kiosk in kiosks]
    for thread in stopping:
        thread.start()
    for thread in stopping:
        thread.join()


def verify(result: SoakResult, server: WardProcess, made: list[dict]) -> None:
    """After the run: one more clean start and stop, then every file, every tap and every follow-up checked."""
    result.slowest_start = max(result.slowest_start, server.start())
    if server.stop() != 0:
        result.problems.append(f"the server did not stop on Ctrl-C; see {server.log_path}")
    result.problems += unreadable_files(server.data_dir) + server_tracebacks(server.log_path)
    tally(result, made, server.export(WARD))
    check_follow_ups(result, server.data_dir, made)


def run_soak(plan: SoakPlan, data_dir: Path, progress: Callable[[str], None] = lambda line: None) -> SoakResult:
    """Run one soak on a fresh data dir and return its figures (the data dir is left for inspection)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    tokens = enroll(data_dir, plan.kiosks)
    (data_dir / KIOSK_DIR).mkdir(exist_ok=True)
    result = SoakResult(seed=plan.seed, seconds=plan.seconds)
    server = WardProcess(data_dir, plan.async_mode)
    kiosks: list[KioskClient] = []
    tapper = Tapper(kiosks, plan)
    try:
        server.start()
        kiosks += [
            KioskClient(server.url, token, data_dir / KIOSK_DIR / f"outbox-{i}.sqlite", ack_timeout=plan.ack_timeout).start()
            for i, token in enumerate(tokens)
        ]
        tapper.start()
        kill_at_random(server, plan, result, progress)
    except BaseException:
        tapper.stop()
        stop_kiosks(kiosks)
        server.kill()
        raise
    tapper.stop()
    progress(f"tapping stopped after {len(tapper.made)} taps; waiting for the outboxes to drain")
    settle(kiosks, plan, result, progress)
    server.stop()
    progress("checking what is on disk")
    verify(result, server, tapper.made)
    return result
