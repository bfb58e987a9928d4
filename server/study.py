"""`wardpulse study-detector`: how often trend alerts cry wolf, and how fast they catch a real rise.

It drives the ward service itself (`WardServer.receive_rating` and `act_on_alert`, the code `serve`
runs) on a temporary data dir with an injected clock, so what it measures is what a ward gets:
simulated wards from their first rating, Poisson arrivals, each rating negative with the ward's true
rate (by weekday if given), times FACTOR during a spell or after a shift, every trend alert
acknowledged within two hours. Flask and Socket.IO are not started: they only carry these calls.
"""

from __future__ import annotations

import heapq
import math
import random
import shutil
import statistics
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from server.live import WardServer
from server.trends import Baseline, chain_run_length, threshold_for
from shared.protocol import iso_utc

START = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a Monday: --weekday rates run Monday to Sunday
ACK_WITHIN = timedelta(hours=2)
DAY = timedelta(days=1)
# fsync is cheap on tmpfs; the study writes every rating durably, as `serve` does.
SCRATCH = Path("/dev/shm") if Path("/dev/shm").is_dir() else None


@dataclass(frozen=True)
class Spell:
    start: float  # day
    days: float
    factor: float

    def covers(self, day: float) -> bool:
        return self.start <= day < self.start + self.days


@dataclass(frozen=True)
class Shift:
    day: float
    factor: float


@dataclass(frozen=True)
class Study:
    """One cell of the grid: what the wards are like and what is counted."""

    volume: float
    p: float
    days: float
    wards: int
    seed: int
    from_day: float = 30
    weekday: tuple[float, ...] | None = None
    spell: Spell | None = None
    shift: Shift | None = None

    def true_rate(self, day: float) -> float:
        """The chance a rating on this (fractional) day is negative."""
        rate = self.weekday[(START + timedelta(days=day)).weekday()] if self.weekday else self.p
        if self.spell and self.spell.covers(day):
            rate *= self.spell.factor
        if self.shift and day >= self.shift.day:
            rate *= self.shift.factor
        return min(rate, 1.0)

    def counts_false_alerts(self, day: float) -> bool:
        """From --from-day until any shift, outside a spell."""
        end = self.shift.day if self.shift else self.days
        return self.from_day <= day < end and not (self.spell and self.spell.covers(day))

    def ward_days(self) -> float:
        end = min(self.shift.day if self.shift else self.days, self.days)
        days = max(0.0, end - self.from_day)
        if self.spell:
            overlap = min(end, self.spell.start + self.spell.days) - max(self.from_day, self.spell.start)
            days -= max(0.0, overlap)
        return days * self.wards


def parse_pair(text: str, parts: int) -> tuple[float, ...]:
    """'DAY:FACTOR' or 'DAY:DAYS:FACTOR' as numbers; ValueError with the expected form otherwise."""
    values = tuple(float(v) for v in text.split(":"))
    if len(values) != parts or any(v < 0 for v in values):
        raise ValueError(f"expected {parts} non-negative numbers separated by ':'")
    return values


def poisson_interval(count: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson mean, by bisection on the Poisson distribution."""
    tail = (1 - level) / 2

    def at_most(k: int, mean: float) -> float:
        term = total = math.exp(-mean)
        for i in range(1, k + 1):
            term *= mean / i
            total += term
        return total

    def solve(wanted, high: float) -> float:
        low = 0.0
        for _ in range(100):
            mid = (low + high) / 2
            low, high = (mid, high) if wanted(mid) else (low, mid)
        return (low + high) / 2

    ceiling = count + 10 * math.sqrt(count + 1) + 10
    lower = 0.0 if count == 0 else solve(lambda m: at_most(count - 1, m) > 1 - tail, ceiling)
    upper = solve(lambda m: at_most(count, m) > tail, ceiling)
    return lower, upper


def reference_delay(volume: float, p: float, factor: float) -> float:
    """Mean ratings to an alert after a rise, for a CUSUM that knows the ward's true rate and volume (from B = 0)."""
    base = Baseline(p, threshold_for(volume, p), per_day=volume)
    return chain_run_length(min(p * factor, 1.0), base.up, base.down, base.limit)


def run(study: Study, scratch: Path | None = SCRATCH) -> dict:
    """Simulate the study's wards through the real ward service; the figures as one dict."""
    rng = random.Random(study.seed)
    root = Path(tempfile.mkdtemp(prefix="wardpulse-study-", dir=scratch))
    clock = [START]
    try:
        server = WardServer(root, clock=lambda: clock[0], default_volume=30.0)
        kiosks = []
        for i in range(study.wards):
            code = f"W{i:03d}"
            server.registry.add_ward(code, f"Study ward {i}")
            kiosks.append(server.kiosk_for_token(server.registry.add_kiosk(code)["token"]))
        server.registry_changed()
        return _simulate(study, server, kiosks, rng, clock)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _simulate(study: Study, server: WardServer, kiosks: list[dict], rng: random.Random, clock: list) -> dict:
    per_day = study.volume
    # Events in time order: (day, order, ward index, alert id or None for a rating).
    events: list[tuple[float, int, int, str | None]] = []
    order = 0
    for i in range(study.wards):
        events.append((rng.expovariate(per_day), order, i, None))
        order += 1
    heapq.heapify(events)
    false_alerts = [0] * study.wards
    all_alerts = 0
    after_shift = [0] * study.wards  # counted ratings since the shift, per ward
    delays: dict[int, int] = {}
    while events:
        day, _, i, alert_id = heapq.heappop(events)
        clock[0] = START + timedelta(days=day)
        kiosk = kiosks[i]
        if alert_id is not None:
            server.act_on_alert(kiosk["ward"], alert_id, "study", "acknowledge")
            continue
        negative = rng.random() < study.true_rate(day)
        payload = {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "score": "poor" if negative else "good",
            "tapped_at": iso_utc(clock[0]),
        }
        ack, _, raised = server.receive_rating(kiosk, payload, clock[0])
        if not ack.get("ok"):
            raise RuntimeError(f"the ward service refused a study rating: {ack}")
        shifted = study.shift is not None and day >= study.shift.day
        after_shift[i] += shifted
        for alert in raised:
            if alert["kind"] != "trend":
                continue
            all_alerts += 1
            if study.counts_false_alerts(day):
                false_alerts[i] += 1
            if shifted and i not in delays:
                delays[i] = after_shift[i]
            ack_at = day + rng.uniform(0, ACK_WITHIN / DAY)
            heapq.heappush(events, (ack_at, order, i, alert["id"]))
            order += 1
        following = day + rng.expovariate(per_day)
        if following < study.days:
            heapq.heappush(events, (following, order, i, None))
            order += 1
    server.close()
    return summary(study, false_alerts, all_alerts, delays)


def summary(study: Study, false_alerts: list[int], all_alerts: int, delays: dict[int, int]) -> dict:
    """False alerts per 100 ward-days with a 95 % interval (widened if wards differ more than Poisson)."""
    ward_days = study.ward_days()
    count = sum(false_alerts)
    mean = count / len(false_alerts)
    spread = statistics.variance(false_alerts) / mean if len(false_alerts) > 1 and mean > 0 else 1.0
    dispersion = max(1.0, spread)  # quasi-Poisson: a ward-level effect widens the interval
    low, high = poisson_interval(round(count / dispersion))
    per_100 = 100 / ward_days if ward_days else float("nan")
    result = {
        "false_alerts_per_100_days": round(count * per_100, 3),
        "ci95": [round(low * dispersion * per_100, 3), round(high * dispersion * per_100, 3)],
        "alerts": all_alerts,
        "false_alerts": count,
        "ward_days": round(ward_days, 1),
        "dispersion": round(dispersion, 2),
    }
    if study.shift:
        found = sorted(delays.values())
        reference = reference_delay(study.volume, study.weekday and sum(study.weekday) / 7 or study.p, study.shift.factor)
        result.update({
            "delay_ratings": found,
            "missed": study.wards - len(found),
            "delay_mean": round(statistics.mean(found), 1) if found else None,
            "delay_median": statistics.median(found) if found else None,
            "reference_delay_ratings": round(reference, 1),
        })
    return result
