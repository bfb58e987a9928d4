"""The benchmark's client worker: kiosk and screen sockets in one process doing one job, a round per 'go'.

    python -m server.tools.bench.load      (spec on stdin, one JSON line per answer on stdout)
"""

from __future__ import annotations

import json
import os
import queue
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import socketio

from kiosk.client import make_rating
from server.tools.bench.plan import ALERT_WAIT_S, SCORE_WEIGHTS
from shared.fft import SCORES
from shared.protocol import ALERT, KIOSK_NAMESPACE, RATING, STAFF_NAMESPACE


def connect_socket(url: str, namespace: str, token: str, handlers: dict | None = None):
    """A python-socketio client on one namespace over websocket only, as the tablets and screens use."""
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


if __name__ == "__main__":
    worker_main()
