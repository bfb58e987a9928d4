"""Each ward tablet as the admin page sees it: online or not, last seen, today's ratings and misuse,
its outbox and its clock. Kept in memory: it is what the tablets say now, not a record."""

from __future__ import annotations

import threading
from datetime import datetime

from shared.protocol import CLOCK_FLAG_MS, MAX_OFFSET_MS, iso_utc

REPORTED_REFUSALS = 20  # the newest ratings a tablet gave up on, as it reports them
_REPORTED_FIELDS = ("id", "score", "tapped_at", "error")


def clock_off(offset_ms: object) -> bool:
    return isinstance(offset_ms, int) and abs(offset_ms) > CLOCK_FLAG_MS


def tablet_report(report: object) -> dict:
    """The parts of a tablet's self-report that make sense; anything else is ignored, never an error."""
    report = report if isinstance(report, dict) else {}
    update: dict = {}
    waiting = report.get("waiting")
    if isinstance(waiting, int) and not isinstance(waiting, bool) and 0 <= waiting < 1_000_000:
        update["waiting"] = waiting
    offset = report.get("clock_offset_ms")
    if isinstance(offset, int) and not isinstance(offset, bool) and abs(offset) <= MAX_OFFSET_MS:
        update["clock_offset_ms"] = offset
    refused = report.get("refused")
    if isinstance(refused, list):
        update["refused"] = [
            {k: str(item.get(k, ""))[:64] for k in _REPORTED_FIELDS}
            for item in refused[-REPORTED_REFUSALS:]
            if isinstance(item, dict)
        ]
    return update


class KioskPresence:
    """What the tablets last said about themselves, and what each stored today."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._presence: dict[str, dict] = {}  # kiosk id -> sockets, last seen, outbox size it reported
        self._days: dict[tuple[str, str], dict] = {}  # (kiosk id, local day) -> ratings, misuse

    def _of(self, kiosk_id: str) -> dict:
        return self._presence.setdefault(
            kiosk_id, {"sockets": 0, "last_seen": None, "waiting": None, "clock_offset_ms": None, "refused": []}
        )

    def connected(self, kiosk_id: str, sockets: int, now: datetime) -> None:
        """A socket of the tablet opened (+1) or closed (-1)."""
        with self._lock:
            presence = self._of(kiosk_id)
            presence["sockets"] = max(0, presence["sockets"] + sockets)
            presence["last_seen"] = iso_utc(now)

    def report(self, kiosk_id: str, report: object, now: datetime) -> None:
        """Keep the sensible parts of what a tablet says about itself."""
        update = tablet_report(report)
        if update:
            with self._lock:
                self._of(kiosk_id).update(update)
                self._seen(kiosk_id, now)

    def seen(self, kiosk_id: str, now: datetime) -> None:
        """The tablet sent something just now."""
        with self._lock:
            self._seen(kiosk_id, now)

    def _seen(self, kiosk_id: str, now: datetime) -> None:
        if kiosk_id in self._presence:
            self._presence[kiosk_id]["last_seen"] = iso_utc(now)

    def tally(self, rating: dict, day: str) -> None:
        """Count a stored rating on its kiosk's ward day; the rest of an already-counted tap is not a rating."""
        with self._lock:
            tally = self._days.setdefault((rating["kiosk_id"], day), {"ratings": 0, "misuse": 0})
            tally["ratings"] += not rating.get("amends")
            tally["misuse"] += bool(rating.get("misuse"))

    def clocks_off(self) -> int:
        """How many tablets last reported a clock more than CLOCK_FLAG_MS away from the server's."""
        with self._lock:
            return sum(clock_off(p.get("clock_offset_ms")) for p in self._presence.values())

    def overview(self, kiosks: list[dict], today: str) -> list[dict]:
        """A row per kiosk for the admin page."""
        rows = []
        with self._lock:
            for kiosk in kiosks:
                presence = self._presence.get(kiosk["id"], {})
                offset = presence.get("clock_offset_ms")
                tally = self._days.get((kiosk["id"], today), {"ratings": 0, "misuse": 0})
                rows.append({
                    "id": kiosk["id"],
                    "label": kiosk["label"],
                    "revoked": bool(kiosk["revoked_at"]),
                    "wording": kiosk.get("wording"),  # its own; None: the ward's
                    "online": presence.get("sockets", 0) > 0,
                    "last_seen": presence.get("last_seen"),
                    "waiting": presence.get("waiting"),
                    "ratings_today": tally["ratings"],
                    "misuse_today": tally["misuse"],
                    "clock_offset_ms": offset,
                    "clock_off": clock_off(offset),
                    "refused": presence.get("refused", []),
                })
        return rows
