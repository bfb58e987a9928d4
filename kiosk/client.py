"""A Python kiosk: the same protocol as the tablet page, with a durable outbox.

Used for Linux kiosks, by `wardpulse demo` to simulate tablets, and by the tests.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import socketio

from kiosk.tls import WEBSOCKET_OPTIONS
from shared.protocol import (
    CLOCK,
    CLOCK_SYNCED,
    CLOCK_UNKNOWN,
    KIOSK_NAMESPACE,
    KIOSK_STATUS,
    RATING,
    RETRY_LATER,
    WARD_QUERY,
    WRONG_SERVER,
    clock_offset_ms,
    iso_utc,
    parse_utc,
)

log = logging.getLogger(__name__)

# A clock reading is kept until a closer one (shorter round trip) comes, or it is this old.
READING_KEEP_SECONDS = 600

# Refusals that no resend can fix: the device must be enrolled again.
FATAL_CONNECT_ERRORS = {"missing_token", "unknown_token", "revoked_token"}
RETRY_AFTER_REFUSAL = (0.5, 8.0)  # seconds before connecting again after a wrong-process refusal: first, longest


class Outbox:
    """Ratings made here and not yet acked by the server, in SQLite so they survive a restart or power cut."""

    def __init__(self, path: str | Path):
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, tapped_at TEXT, payload TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS refused (id TEXT PRIMARY KEY, payload TEXT, error TEXT)")
        self._lock = threading.Lock()

    def put(self, rating: dict) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO outbox VALUES (?, ?, ?)", (rating["id"], rating["tapped_at"], json.dumps(rating))
            )

    def remove(self, rating_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE id = ?", (rating_id,))

    def refuse(self, rating: dict, ack: dict) -> None:
        """Keep a permanently refused rating aside (never silently dropped) and out of the queue."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO refused VALUES (?, ?, ?)", (rating["id"], json.dumps(rating), json.dumps(ack)))
            self._db.execute("DELETE FROM outbox WHERE id = ?", (rating["id"],))

    def pending(self) -> list[dict]:
        """Oldest tap first."""
        with self._lock:
            rows = self._db.execute("SELECT payload FROM outbox ORDER BY tapped_at, id").fetchall()
        return [json.loads(r[0]) for r in rows]

    def refused(self) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT payload, error FROM refused").fetchall()
        return [{"rating": json.loads(p), "ack": json.loads(e)} for p, e in rows]

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def close(self) -> None:
        self._db.close()


def device_now() -> datetime:
    return datetime.now(timezone.utc)


class ServerClock:
    """The server's clock as this kiosk last read it, carried forward on the monotonic clock,
    so a change of the kiosk's own clock between readings moves no tap."""

    def __init__(self, device_clock: Callable[[], datetime] = device_now):
        self.device_clock = device_clock
        self._reading: tuple[datetime, float, int] | None = None  # (server time, monotonic moment, round trip ms)

    def read(self, server_time: str, sent: float, received: float, device_time: datetime) -> None:
        """Take a reading from a request sent at monotonic `sent` (device clock `device_time`) and answered at `received`."""
        offset, rtt = clock_offset_ms(sent, received, parse_utc(server_time), device_time)
        if self._reading is None or rtt <= self._reading[2] + 100 or received - self._reading[1] > READING_KEEP_SECONDS:
            middle = (received - sent) / 2
            self._reading = (device_time + timedelta(seconds=middle, milliseconds=offset), sent + middle, rtt)

    def now(self) -> datetime | None:
        """The server's time now, or None if it was never read."""
        if self._reading is None:
            return None
        server_at, mono, _ = self._reading
        return server_at + timedelta(seconds=time.monotonic() - mono)

    def offset_ms(self) -> int | None:
        """The server's clock minus this kiosk's, in ms, or None if never read."""
        server = self.now()
        return None if server is None else round((server - self.device_clock()).total_seconds() * 1000)

    def stamp(self) -> dict:
        """A tap's time fields: on the server's clock with the device's reading and the offset, or the device's own, said so."""
        device = self.device_clock()
        server = self.now()
        if server is None:
            return {"tapped_at": iso_utc(device), "device_time": iso_utc(device), "clock": CLOCK_UNKNOWN}
        offset = round((server - device).total_seconds() * 1000)
        return {"tapped_at": iso_utc(server), "device_time": iso_utc(device), "clock_offset_ms": offset, "clock": CLOCK_SYNCED}


def make_rating(
    score: str, comment: str | None = None, follow_up: dict | None = None, tapped_at: datetime | None = None, clock: ServerClock | None = None
) -> dict:
    """A rating as a tablet makes it at the moment of the tap (stamped by `clock` unless a tap time is given)."""
    rating = {"id": str(uuid.uuid4()), "score": score}
    if tapped_at is None and clock is not None:
        rating.update(clock.stamp())
    else:
        rating["tapped_at"] = iso_utc(tapped_at or datetime.now(timezone.utc))
    if comment:
        rating["comment"] = comment
    if follow_up is not None:
        rating["follow_up"] = follow_up
    return rating


class KioskClient:
    """Taps go into the outbox first, then to the server; each leaves the outbox only when acked."""

    def __init__(
        self, url: str, token: str, outbox_path: str | Path, ack_timeout: float = 10.0, device_clock: Callable[[], datetime] = device_now,
        ward: str | None = None,
    ):
        self.url = url
        self.token = token
        # Its ward, in every connection's query (?ward=7B): a proxy sends it to the process that owns the ward.
        # Learnt from the server if not given (a refusal by another ward's process says which).
        self.ward = ward
        self.outbox = Outbox(outbox_path)
        self.ack_timeout = ack_timeout
        self.clock = ServerClock(device_clock)
        self.acked = 0
        self.duplicates = 0
        self.refusal: dict | None = None  # set when the server refuses this device
        self._refusals = 0  # wrong-process refusals in a row
        self.last_ack: dict | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._drained = threading.Condition()
        # The send loop reconnects by itself; one mechanism, not two racing.
        self.sio = socketio.Client(reconnection=False, websocket_extra_options=WEBSOCKET_OPTIONS)  # safe over https (kiosk/tls.py)
        self.sio.on("connect", self._wake.set, namespace=KIOSK_NAMESPACE)
        self.sio.on("connect_error", self._on_connect_error, namespace=KIOSK_NAMESPACE)
        self._sender = threading.Thread(target=self._send_loop, name="kiosk-outbox", daemon=True)

    # -- public
    def start(self) -> KioskClient:
        self._sender.start()
        return self

    def tap(self, score: str, comment: str | None = None, follow_up: dict | None = None, tapped_at: datetime | None = None) -> dict:
        """Record a tap durably on this kiosk and queue it for the server."""
        rating = make_rating(score, comment, follow_up, tapped_at, self.clock)
        self.outbox.put(rating)
        self._wake.set()
        return rating

    def wait_drained(self, timeout: float = 10.0) -> bool:
        """Block until the outbox is empty (True) or the timeout passes (False)."""
        with self._drained:
            return self._drained.wait_for(lambda: len(self.outbox) == 0, timeout)

    @property
    def clock_offset_ms(self) -> int | None:
        """The server's clock minus this kiosk's, as last measured (None before the first connection)."""
        return self.clock.offset_ms()

    @property
    def connected(self) -> bool:
        return self.sio.connected and KIOSK_NAMESPACE in self.sio.namespaces

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._sender.is_alive():
            self._sender.join()
        try:
            self.sio.disconnect()
        except Exception:  # already gone
            pass
        self.outbox.close()

    # -- internals
    def _sync_clock(self) -> None:
        """Time a request to the server to read its clock, then tell the server how this kiosk stands."""
        device_time, sent = self.clock.device_clock(), time.monotonic()
        try:
            ack = self.sio.call(CLOCK, {}, namespace=KIOSK_NAMESPACE, timeout=self.ack_timeout)
            received = time.monotonic()
            if isinstance(ack, dict) and ack.get("server_time"):
                self.clock.read(ack["server_time"], sent, received, device_time)
            if isinstance(ack, dict) and ack.get("ward"):
                self.ward = ack["ward"]
            self._report()
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError, socketio.exceptions.DisconnectedError):
            pass  # the next connection reads it

    def _report(self) -> None:
        """Tell the server what waits here, the clock offset and what was given up on (the admin kiosks page shows it)."""
        refused = [
            {"id": r["rating"]["id"], "score": r["rating"]["score"], "tapped_at": r["rating"]["tapped_at"], "error": r["ack"].get("error")}
            for r in self.outbox.refused()
        ]
        report = {"waiting": len(self.outbox), "clock_offset_ms": self.clock.offset_ms(), "refused": refused}
        self.sio.emit(KIOSK_STATUS, report, namespace=KIOSK_NAMESPACE)

    def _on_connect_error(self, data=None):
        refusal = data.get("data") if isinstance(data, dict) else None
        if isinstance(refusal, dict) and refusal.get("error") in FATAL_CONNECT_ERRORS:
            self.refusal = refusal
            log.error("kiosk refused by the server: %s", refusal.get("message"))
        elif isinstance(refusal, dict) and refusal.get("error") == WRONG_SERVER:
            self.ward = refusal.get("ward") or self.ward
            self._refusals += 1  # tried again after a back-off, in case the owner is restarting

    def _connect(self) -> None:
        if self._refusals:
            self._stop.wait(min(RETRY_AFTER_REFUSAL[1], RETRY_AFTER_REFUSAL[0] * 2 ** (self._refusals - 1)))
        try:
            self.sio.connect(
                self.url + (f"?{urlencode({WARD_QUERY: self.ward})}" if self.ward else ""),
                namespaces=[KIOSK_NAMESPACE],
                # The device's clock and what waits here, read at each attempt: a refused (revoked)
                # kiosk still tells the admin page what it holds.
                auth=lambda: {"token": self.token, "device_time": iso_utc(self.clock.device_clock()), "waiting": len(self.outbox)},
                transports=["websocket"],
                wait_timeout=5,
            )
        except socketio.exceptions.ConnectionError as exc:
            log.debug("kiosk could not connect yet: %s", exc)

    def _send_loop(self) -> None:
        while not self._stop.is_set():
            if self.refusal:
                return
            if not self.sio.connected:
                self._connect()
                if self.connected:
                    self._refusals = 0
                    self._sync_clock()
            if self.connected:
                self._send_pending()
            self._wake.wait(timeout=0.5 if len(self.outbox) else 2.0)
            self._wake.clear()

    def _send_pending(self) -> None:
        for rating in self.outbox.pending():
            if self._stop.is_set() or not self.connected:
                return
            try:
                ack = self.sio.call(RATING, rating, namespace=KIOSK_NAMESPACE, timeout=self.ack_timeout)
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError, socketio.exceptions.DisconnectedError):
                return  # not acked: it stays in the outbox and is sent again
            self.last_ack = ack
            if isinstance(ack, dict) and ack.get("ok"):
                self.outbox.remove(rating["id"])
                self.acked += 1
                self.duplicates += bool(ack.get("duplicate"))
            elif not isinstance(ack, dict) or ack.get("error") in RETRY_LATER:
                return  # not a refusal we understand: keep it and try again later
            else:
                log.warning("rating %s refused: %s", rating["id"], ack)
                self.outbox.refuse(rating, ack)
                self._report()
            with self._drained:
                self._drained.notify_all()
