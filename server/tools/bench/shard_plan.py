"""What `wardpulse bench --processes 1,2,4` runs: how the wards are split, where each socket goes, and
what each client worker does. Pure: no processes are started here.

With N processes, ward i belongs to process i mod N. Kiosks always reach their ward's owner; a ward's
screen sits on the *next* process, so every rating it sees crossed Redis (with one process there is no
other, and that is the baseline). Directly, a socket goes to its process's own address; through nginx,
every socket goes to nginx with `?ward=` and nginx's map sends it on.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from server.tools.bench.plan import OTHER_WARDS, WARD
from shared.protocol import WARD_QUERY

WARDS = (WARD, *OTHER_WARDS)
MOST_PROCESSES = 8  # a few per core is already past what a two- or four-core ward server gains from
ROUTES = ("direct", "nginx")


@dataclass(frozen=True)
class ShardPlan:
    """How long and how big each part of a `--processes` run is (the same for every process count)."""

    name: str
    rounds: int  # server-bound ingest rounds per process count and route; the median round is reported
    warmup_s: float
    window_s: float  # one round of server-bound ingest
    ingest_kiosks_per_ward: int  # tapping back to back, every ward at once
    hold_sockets: int  # idle kiosk and screen sockets over all wards
    feed_wards: int  # wards whose kiosks tap at a tablet's pace while a screen on another process watches
    feed_kiosks_per_ward: int
    feed_every_s: float  # mean gap between one kiosk's taps (Poisson)
    feed_window_s: float


QUICK = ShardPlan("quick", rounds=2, warmup_s=0.3, window_s=1.0, ingest_kiosks_per_ward=5, hold_sockets=300,
                  feed_wards=2, feed_kiosks_per_ward=5, feed_every_s=1.0, feed_window_s=3.0)
FULL = ShardPlan("full", rounds=4, warmup_s=0.5, window_s=2.0, ingest_kiosks_per_ward=20, hold_sockets=2_000,
                 feed_wards=4, feed_kiosks_per_ward=10, feed_every_s=1.0, feed_window_s=6.0)


def parse_counts(text: str) -> tuple[int, ...]:
    """'1,2,4' -> (1, 2, 4): each a process count from 1 to MOST_PROCESSES, in the order to run them."""
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--processes takes counts separated by commas, e.g. 1,2,4 (not {text!r})") from None
    if not all(1 <= n <= MOST_PROCESSES for n in counts):
        raise ValueError(f"each process count must be between 1 and {MOST_PROCESSES}")
    if len(set(counts)) != len(counts):
        raise ValueError("each process count once, please")
    return counts


def shard_names(processes: int) -> list[str]:
    """a, b, c, ...: the names the systemd instances and nginx upstreams use."""
    return list(string.ascii_lowercase[:processes])


def split_wards(processes: int, wards: tuple[str, ...] = WARDS) -> list[tuple[str, ...]]:
    """Each process's wards: ward i to process i mod N, so every process has its share."""
    return [wards[i::processes] for i in range(processes)]


def owner(ward: str, processes: int, wards: tuple[str, ...] = WARDS) -> int:
    """The process that owns `ward`."""
    return wards.index(ward) % processes


def screen_process(ward: str, processes: int, wards: tuple[str, ...] = WARDS) -> int:
    """Where the ward's screen sits: the next process after its owner, so its ratings cross processes."""
    return (owner(ward, processes, wards) + 1) % processes


def socket_url(base: str, ward: str) -> str:
    """A Socket.IO address that names its ward, as kiosks and ward screens connect."""
    return f"{base}?{WARD_QUERY}={ward}"


def urls_for(route: str, process_urls: list[str], proxy_url: str | None) -> list[str]:
    """Where sockets of each process go: the processes themselves, or nginx for all of them."""
    if route == "direct":
        return list(process_urls)
    if proxy_url is None:
        raise ValueError("the nginx route needs nginx")
    return [proxy_url] * len(process_urls)


def ingest_specs(plan: ShardPlan, kiosks: dict[str, list[str]], urls: list[str]) -> list[dict]:
    """One async client worker per ward: its first kiosks, tapping back to back at their owner."""
    processes = len(urls)
    return [{"kiosks": kiosks[ward][:plan.ingest_kiosks_per_ward], "url": socket_url(urls[owner(ward, processes)], ward)}
            for ward in WARDS]


def hold_specs(plan: ShardPlan, kiosks: dict[str, list[str]], displays: dict[str, str], urls: list[str]) -> list[dict]:
    """Idle sockets spread evenly over the wards, one worker per ward: a wall display and kiosks (a kiosk
    token may hold several sockets, as a tablet reloading does for a moment)."""
    processes, per_ward = len(urls), plan.hold_sockets // len(WARDS)
    specs = []
    for ward in WARDS:
        tokens = [kiosks[ward][i % len(kiosks[ward])] for i in range(per_ward - 1)]
        specs.append({"kiosks": tokens, "screens": [displays[ward]], "url": socket_url(urls[owner(ward, processes)], ward)})
    return specs


def feed_specs(plan: ShardPlan, kiosks: dict[str, list[str]], displays: dict[str, str], urls: list[str]) -> list[dict]:
    """Per watched ward, two threaded workers: its kiosks tapping at their owner, its screen on the next process."""
    processes = len(urls)
    timed = {"warmup": plan.warmup_s, "seconds": plan.feed_window_s}
    specs = []
    for ward in WARDS[:plan.feed_wards]:
        specs.append(dict(timed, kiosks=kiosks[ward][:plan.feed_kiosks_per_ward], every=plan.feed_every_s,
                          url=socket_url(urls[owner(ward, processes)], ward)))
        specs.append(dict(timed, screens=[displays[ward]], url=socket_url(urls[screen_process(ward, processes)], ward)))
    return specs


def serve_options(wards: tuple[str, ...], message_queue: str | None) -> list[str]:
    """`wardpulse serve` options for one process: with one process, none (the plain server, the baseline)."""
    if message_queue is None:
        return []
    return ["--wards", ",".join(wards), "--message-queue", message_queue]
