"""The one module that owns storage.

Two stores, each used for what it is good at:

* **Ratings** go to an append-only journal, one file per ward per month of `tapped_at`
  (`ratings/<WARD>/<YYYY-MM>.jsonl`). Each rating is written and fsync'd before it is acked;
  ratings arriving together share one fsync (group commit), so durability stays cheap, and an
  append costs the same with a hundred or a million ratings on disk.
* **The ward registry** (wards, kiosks, wall displays, staff) is small and rarely written, so it
  lives in TinyDB, with a storage class that writes a temp file, fsyncs it and renames it over the
  old one: a crash leaves either the old or the new file, never half of one.

The server process is the only writer: it holds an exclusive lock on `server.lock` while it runs,
and admin commands reach it through its control endpoint (see `server/cli.py`).
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Callable, Iterator

from tinydb import Query, TinyDB
from tinydb.storages import Storage

from shared.protocol import MAX_CLOCK_SKEW, ProtocolError

log = logging.getLogger(__name__)

REGISTRY_FILE = "wardpulse.json"
RATINGS_DIR = "ratings"
LOCK_FILE = "server.lock"
SECRET_FILE = "secret_key"


class StorageUnavailable(Exception):
    """The disk refused a write (full, read-only, gone): nothing was stored."""


class AdminError(ValueError):
    """An admin command that cannot be done as asked; the message says why."""


class AlreadyExists(AdminError):
    """An admin tried to add something whose name is taken."""


class NotFound(AdminError):
    """An admin named something that does not exist."""


WARD_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,15}")
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
ROLES = ("staff", "sister", "admin")


def fsync_dir(path: Path) -> None:
    """Make a new or renamed directory entry durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace a file so that a crash leaves the old or the new contents, never a mix."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


class AtomicJSONStorage(Storage):
    """TinyDB storage: atomic, fsync'd whole-file writes, with an in-memory copy for reads.

    Inside `batch()`, writes only update memory and the file is written once on leaving it, so
    several table changes (an alert and the trend checkpoint it resets) land together or not at all.
    """

    def __init__(self, path: str | Path, offload: Callable | None = None):
        self.path = Path(path)
        self._offload = offload or (lambda fn, *args: fn(*args))
        self._data = None
        self._deferred = 0
        if self.path.exists():
            self._data = json.loads(self.path.read_text(encoding="utf-8") or "null")

    def read(self):
        # TinyDB mutates what it reads before writing it back; hand out a copy.
        return copy.deepcopy(self._data)

    def current(self):
        """The data as last read or written, uncopied, for read-only indexes: a new object after every write."""
        return self._data

    def write(self, data) -> None:
        if self._deferred:
            self._data = copy.deepcopy(data)
            return
        self._flush(data)

    def _flush(self, data) -> None:
        text = json.dumps(data, sort_keys=True, indent=1)
        try:
            self._offload(write_atomically, self.path, text)
        except OSError as exc:
            raise StorageUnavailable(str(exc)) from exc
        self._data = copy.deepcopy(data)

    @contextmanager
    def batch(self):
        before = copy.deepcopy(self._data)
        self._deferred += 1
        try:
            yield
        except BaseException:
            self._data = before
            raise
        finally:
            self._deferred -= 1
        if not self._deferred:
            try:
                self._flush(self._data)
            except StorageUnavailable:
                self._data = before
                raise


def token_hash(token: str) -> str:
    """Tokens are stored hashed: a copied data dir does not leak working device tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


def load_secret(data_dir: Path, name: str = SECRET_FILE) -> str:
    """Read a secret from the data dir, generating it on first run."""
    path = data_dir / name
    if not path.exists():
        write_atomically(path, secrets.token_hex(32), mode=0o600)
    return path.read_text().strip()


TEST_CLOCK_ENV = "WARDPULSE_TEST_CLOCK"


def _clock_shift(start: str | None) -> timedelta:
    """How far this process's clock is moved: tests set WARDPULSE_TEST_CLOCK to an ISO time (e.g.
    2026-11-30T23:58:00Z) to start a real server at a month end; the clock then runs on from there."""
    if not start:
        return timedelta(0)
    return datetime.fromisoformat(start).astimezone(timezone.utc) - datetime.now(timezone.utc)


_CLOCK_SHIFT = _clock_shift(os.environ.get(TEST_CLOCK_ENV))


def now_utc() -> datetime:
    """The one clock of the server (moved only by WARDPULSE_TEST_CLOCK, which tests alone set)."""
    return datetime.now(timezone.utc) + _CLOCK_SHIFT


def _stamp() -> str:
    return now_utc().isoformat(timespec="seconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- ratings journal


def fingerprint(fields: dict) -> str:
    """What the tablet said, reduced to a hash: a resend must match it to count as a duplicate."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]


def tap_key(fields: dict) -> str:
    """The tap itself (answer and tap time as the tablet sent them), without what was added after it."""
    return f"{fields['score']}|{fields.get('tapped_at_sent') or fields['tapped_at']}"


class Conflict(ProtocolError):
    """A rating id already stored with other content; `same_tap` if only the words after the tap differ."""

    def __init__(self, same_tap: bool):
        super().__init__("conflict")
        self.same_tap = same_tap


def partition(ward: str, tapped_at: str) -> tuple[str, str]:
    return ward, tapped_at[:7]


def read_journal(path: Path) -> Iterator[dict]:
    """Yield the complete ratings in one journal file; a torn last line (crash mid-write) is skipped."""
    with open(path, "rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                break
            try:
                yield json.loads(line)
            except ValueError:
                log.error("skipping an unreadable line in %s", path)


def repair_journal(path: Path) -> None:
    """Cut a torn last line left by a crash mid-append, so the next append starts on a fresh line."""
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return
        fh.seek(0)
        keep = fh.read().rfind(b"\n") + 1
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
    log.warning("cut a torn last line (%d bytes) from %s", size - keep, path)


def journal_files(data_dir: Path, ward: str | None = None, month: str | None = None) -> list[Path]:
    root = data_dir / RATINGS_DIR
    pattern = f"{ward or '*'}/{month or '*'}.jsonl"
    return sorted(root.glob(pattern))


def read_ratings(data_dir: Path, ward: str | None = None, month: str | None = None) -> Iterator[dict]:
    """Every stored rating (optionally one ward and one journal month), oldest partition first. Read-only."""
    for path in journal_files(Path(data_dir), ward, month):
        yield from read_journal(path)


def ward_month(tapped_at: str, tz: tzinfo) -> str:
    """The ward's month (YYYY-MM, in its time zone) of a UTC tap time."""
    return datetime.fromisoformat(tapped_at).astimezone(tz).strftime("%Y-%m")


def read_ward_month(data_dir: Path, ward: str, month: str, tz: tzinfo) -> Iterator[dict]:
    """The ratings tapped in one month of the ward's calendar (e.g. Europe/London).

    Journals are split by the UTC month of the tap (a file never changes name with the clocks), so a
    ward month reaches into its neighbours: 00:30 BST on 1 August is 23:30 UTC on 31 July. Reading the
    month before and after and keeping the ward month's taps is exact for any zone within a day of UTC.
    """
    first = datetime.strptime(month, "%Y-%m")
    around = [(first - timedelta(days=1)).strftime("%Y-%m"), month, (first + timedelta(days=32)).strftime("%Y-%m")]
    for journal_month in around:
        yield from (r for r in read_ratings(data_dir, ward, journal_month) if ward_month(r["tapped_at"], tz) == month)


class _Batch:
    """Ratings that share one write and one fsync. Its members wait on two events, not one each."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.turn = threading.Event()  # set when no other batch is being written: a member may write it
        self.claimed = False  # a member has taken the turn
        self.done = threading.Event()
        self.error: Exception | None = None


class RatingJournal:
    """Durable, idempotent rating store with group commit."""

    def __init__(self, data_dir: Path, offload: Callable | None = None):
        self.root = data_dir / RATINGS_DIR
        self.root.mkdir(parents=True, exist_ok=True)
        # Under eventlet the entry point passes tpool.execute so fsync runs on a real thread.
        self._offload = offload or (lambda fn, *args: fn(*args))
        self._lock = threading.Lock()
        self._known: dict[str, tuple[str, str]] = {}  # rating id -> (fingerprint, tap key)
        self._pending: dict[str, tuple[tuple[str, str], _Batch]] = {}  # rating id -> ((fingerprint, tap key), its batch)
        self._open = _Batch()  # where ratings gather while another batch is being written
        self._writing = False
        self._files: dict[tuple[str, str], object] = {}

    def load_recent(self, now: datetime, days: int = 8) -> list[dict]:
        """Index the ratings a tablet could still resend (tapped up to 7 days ago); return them.

        That includes next month's journal: a tablet a few minutes fast taps into it before midnight
        on the last day, and a server restarted then must still know that rating when it is resent.
        """
        months = {(now - timedelta(days=d)).strftime("%Y-%m") for d in range(days + 1)}
        months.add((now + MAX_CLOCK_SKEW).strftime("%Y-%m"))
        recent = []
        for month in sorted(months):
            for path in sorted(self.root.glob(f"*/{month}.jsonl")):
                repair_journal(path)
                for record in read_journal(path):
                    self._known[record["id"]] = (record["fingerprint"], tap_key(record))
                    recent.append(record)
        return recent

    def add(self, record: dict, fields: dict) -> bool:
        """Store a rating durably; True if new, False if this id was already stored with the same content.

        Raises Conflict for a reused id with other content, StorageUnavailable on disk failure.
        """
        fp = (fingerprint(fields), tap_key(fields))
        with self._lock:
            known = self._known.get(record["id"])
            if known is None and record["id"] in self._pending:  # a resend while the first copy waits for its fsync
                known, batch = self._pending[record["id"]]
            if known is not None and known[0] != fp[0]:
                raise Conflict(same_tap=known[1] == fp[1])
            if record["id"] in self._known:
                return False
            if record["id"] in self._pending:
                new = False
            else:
                batch, new = self._open, True
                batch.records.append(dict(record, fingerprint=fp[0]))
                self._pending[record["id"]] = (fp, batch)
                if not self._writing:
                    self._writing = True
                    self._take_turn()
        # Group commit with hand-off: the first member to see its batch's turn writes the whole batch
        # in one fsync, then hands the next batch to that batch's members and acks its own at once,
        # so no rating's ack waits behind other ratings' fsyncs.
        batch.turn.wait()
        with self._lock:
            lead, batch.claimed = not batch.claimed, True
        if lead:
            self._commit(batch)
        batch.done.wait()
        if batch.error is not None:
            raise batch.error
        return new

    def _take_turn(self) -> None:
        """Close the open batch and let its members write it (called holding the lock)."""
        batch, self._open = self._open, _Batch()
        batch.turn.set()

    def _commit(self, batch: _Batch) -> None:
        error: Exception | None = StorageUnavailable("the write was interrupted")
        try:
            self._offload(self._write_batch, batch.records)
            error = None
        except OSError as exc:
            log.error("could not store %d rating(s): %s", len(batch.records), exc)
            error = StorageUnavailable(str(exc))
        except Exception as exc:  # a bug must not leave every later rating waiting forever
            log.exception("storing %d rating(s) failed", len(batch.records))
            error = StorageUnavailable(f"unexpected error: {exc}")
        finally:
            with self._lock:
                for record in batch.records:
                    del self._pending[record["id"]]
                    if error is None:
                        self._known[record["id"]] = (record["fingerprint"], tap_key(record))
                batch.error = error
                if self._open.records:
                    self._take_turn()
                else:
                    self._writing = False
            batch.done.set()

    def _write_batch(self, records: list[dict]) -> None:
        """Append records to their partitions and fsync each once. Runs on a real thread."""
        lines: dict[tuple[str, str], list[bytes]] = {}
        for r in records:
            lines.setdefault(partition(r["ward"], r["tapped_at"]), []).append(
                json.dumps(r, sort_keys=True).encode() + b"\n"
            )
        written = []
        try:
            for key, chunk in lines.items():
                fh = self._file(key)
                start = fh.tell()
                written.append((fh, start))
                fh.write(b"".join(chunk))
                fh.flush()
            for fh, _ in written:
                os.fsync(fh.fileno())
        except OSError:
            # Take back anything half-written so the journal never holds a torn line mid-file.
            for fh, start in written:
                try:
                    fh.truncate(start)
                    fh.seek(start)
                except OSError:
                    self._forget(fh)
            raise

    def _file(self, key: tuple[str, str]):
        fh = self._files.get(key)
        if fh is None:
            ward_dir = self.root / key[0]
            new_dir = not ward_dir.exists()
            ward_dir.mkdir(parents=True, exist_ok=True)
            path = ward_dir / f"{key[1]}.jsonl"
            new_file = not path.exists()
            fh = self._files[key] = open(path, "ab")  # kept (and closed by close()) even if an fsync below fails
            if new_file:
                fsync_dir(ward_dir)
            if new_dir:
                fsync_dir(self.root)
        return fh

    def _forget(self, fh) -> None:
        for key, open_fh in list(self._files.items()):
            if open_fh is fh:
                del self._files[key]
                fh.close()

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()
        self._files.clear()


# --------------------------------------------------------------------------- ward registry


class Registry:
    """Wards, kiosks, wall displays and staff accounts, kept in TinyDB and mirrored in memory."""

    def __init__(self, data_dir: Path, offload: Callable | None = None):
        self._db = TinyDB(data_dir / REGISTRY_FILE, storage=AtomicJSONStorage, offload=offload)
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], dict] = {}
        self._tokens_of = object()  # the registry data the token index was built from

    def _table(self, name: str):
        return self._db.table(name)

    # wards
    def add_ward(self, code: str, name: str) -> dict:
        code = code.strip().upper()
        if not WARD_CODE.fullmatch(code):
            raise AdminError("a ward code is 1-16 letters, digits or dashes, e.g. 7B or AMU-2")
        if not name.strip():
            raise AdminError("a ward needs a name")
        with self._lock:
            if self._table("wards").contains(Query().code == code):
                raise AlreadyExists(f"ward {code} already exists")
            ward = {"code": code, "name": name.strip(), "created_at": _stamp()}
            self._table("wards").insert(ward)
        return ward

    def update_ward_settings(self, code: str, urgent_phrases: list[str] | None, trend_volume: float | None, trend_p0: float | None) -> dict:
        """A ward's own urgent phrases (None = the defaults) and trend overrides (None = from its history)."""
        code = self._require_ward(code)
        if urgent_phrases is not None:
            urgent_phrases = [" ".join(p.split()).lower() for p in urgent_phrases if p.strip()]
        if trend_volume is not None and not 1 <= trend_volume <= 5000:
            raise AdminError("expected ratings a day must be between 1 and 5000")
        if trend_p0 is not None and not 0.01 <= trend_p0 <= 0.3:
            raise AdminError("the usual negative rate must be between 1 % and 30 %")
        # When the phrases last changed: start-up only re-raises comment alerts judged by today's list.
        settings = {"urgent_phrases": urgent_phrases, "trend_volume": trend_volume, "trend_p0": trend_p0,
                    "settings_changed_at": now_utc().isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        with self._lock:
            self._table("wards").update(settings, Query().code == code)
        return self.ward(code)

    def set_kiosk_start(self, code: str, language: str, wording: str) -> dict:
        """The language tag and wording (standard, easy, children) a ward's kiosks start each patient in."""
        code = self._require_ward(code)
        with self._lock:
            self._table("wards").update({"kiosk_language": language, "kiosk_wording": wording}, Query().code == code)
        return self.ward(code)

    def ward(self, code: str) -> dict | None:
        return self._table("wards").get(Query().code == code.upper())

    def wards(self) -> list[dict]:
        return [dict(w) for w in self._table("wards").all()]

    def _require_ward(self, code: str) -> str:
        ward = self.ward(code)
        if ward is None:
            raise NotFound(f"there is no ward {code.upper()}: add it with `wardpulse ward add`")
        return ward["code"]

    # kiosks and displays: devices holding a token
    def _add_device(self, table: str, prefix: str, ward: str, label: str | None) -> dict:
        ward = self._require_ward(ward)
        token = secrets.token_urlsafe(32)
        device_id = prefix + secrets.token_hex(4)
        record = {
            "id": device_id,
            "ward": ward,
            "label": label or device_id,
            "token_hash": token_hash(token),
            "created_at": _stamp(),
            "revoked_at": None,
        }
        with self._lock:
            self._table(table).insert(record)
        return {"id": device_id, "ward": ward, "label": record["label"], "token": token}

    def add_kiosk(self, ward: str, label: str | None = None) -> dict:
        return self._add_device("kiosks", "k-", ward, label)

    def add_display(self, ward: str, label: str | None = None) -> dict:
        return self._add_device("displays", "d-", ward, label)

    def kiosk_start(self, code: str) -> dict:
        """A ward's kiosk language and wording as set, read in place: every tablet asks as it connects,
        and a TinyDB query would copy the whole registry each time (a sixth off the kill -9 soak's throughput)."""
        data = self._db.storage.current() or {}
        for ward in (data.get("wards") or {}).values():
            if ward.get("code") == code.upper():
                return {"kiosk_language": ward.get("kiosk_language"), "kiosk_wording": ward.get("kiosk_wording")}
        return {}

    def device_by_token(self, table: str, token: str) -> dict | None:
        """The kiosk or display holding this token, from an index rebuilt only after a write:
        a TinyDB query would copy the whole registry on every connect."""
        data = self._db.storage.current()
        if data is not self._tokens_of:
            self._tokens = {
                (name, device["token_hash"]): device
                for name in ("kiosks", "displays")
                for device in ((data or {}).get(name) or {}).values()
            }
            self._tokens_of = data
        found = self._tokens.get((table, token_hash(token)))
        return dict(found) if found else None

    def kiosks(self, ward: str | None = None) -> list[dict]:
        table = self._table("kiosks")
        return [dict(k) for k in (table.search(Query().ward == ward.upper()) if ward else table.all())]

    def add_enrollment(self, kiosk_id: str, minutes: int = 10) -> dict:
        """A single-use enrollment code for a kiosk, valid for a few minutes (the QR on the admin page)."""
        code = secrets.token_urlsafe(16)
        expires = (now_utc() + timedelta(minutes=minutes)).isoformat(timespec="seconds").replace("+00:00", "Z")
        with self._lock:
            self._table("enrollments").insert({"code_hash": token_hash(code), "kiosk_id": kiosk_id, "expires_at": expires, "used_at": None})
        return {"code": code, "expires_at": expires}

    def use_enrollment(self, code: str) -> dict:
        """Spend an enrollment code: the kiosk gets a fresh device token (returned once). AdminError if spent or stale."""
        with self._lock:
            enrollments = self._table("enrollments")
            found = enrollments.get(Query().code_hash == token_hash(code))
            if found is None or found["used_at"] is not None:
                raise AdminError("This enrollment code has already been used or does not exist: make a new one.")
            if found["expires_at"] < _stamp():
                raise AdminError("This enrollment code has expired (they last 10 minutes): make a new one.")
            kiosks = self._table("kiosks")
            kiosk = kiosks.get(Query().id == found["kiosk_id"])
            if kiosk is None or kiosk["revoked_at"]:
                raise AdminError("This kiosk has been revoked: add a new one.")
            token = secrets.token_urlsafe(32)
            with self._db.storage.batch():
                enrollments.update({"used_at": _stamp()}, Query().code_hash == token_hash(code))
                kiosks.update({"token_hash": token_hash(token)}, Query().id == kiosk["id"])
        return {"id": kiosk["id"], "ward": kiosk["ward"], "label": kiosk["label"], "token": token}

    def revoke_kiosk(self, kiosk_id: str) -> dict:
        with self._lock:
            table = self._table("kiosks")
            kiosk = table.get(Query().id == kiosk_id)
            if kiosk is None:
                raise NotFound(f"there is no kiosk {kiosk_id}")
            if kiosk["revoked_at"] is None:
                table.update({"revoked_at": _stamp()}, Query().id == kiosk_id)
            return dict(table.get(Query().id == kiosk_id))

    # staff
    def add_staff(self, username: str, ward: str, role: str, password_hash: str) -> dict:
        ward = self._require_ward(ward)
        username = username.strip().lower()
        if not USERNAME.fullmatch(username):
            raise AdminError("a username is letters, digits, dots, dashes or underscores (up to 64)")
        if role not in ROLES:
            raise AdminError(f"the role must be one of {', '.join(ROLES)}")
        with self._lock:
            table = self._table("staff")
            if table.contains(Query().username == username):
                raise AlreadyExists(f"staff member {username} already exists")
            record = {
                "username": username,
                "ward": ward,
                "role": role,
                "password_hash": password_hash,
                "created_at": _stamp(),
            }
            table.insert(record)
        return {k: v for k, v in record.items() if k != "password_hash"}

    def staff(self, username: str) -> dict | None:
        return self._table("staff").get(Query().username == username.strip().lower())

    def end_sessions(self, username: str, password_hash: str | None = None) -> dict:
        """Sign a staff member out everywhere (optionally with a new password): the session
        generation their cookies carry moves on, so every older cookie is refused."""
        username = username.strip().lower()
        with self._lock:
            table = self._table("staff")
            found = table.get(Query().username == username)
            if found is None:
                raise NotFound(f"there is no staff member {username}")
            change = {"session_generation": found.get("session_generation", 0) + 1}
            if password_hash:
                change["password_hash"] = password_hash
            table.update(change, Query().username == username)
        return {"username": username, "session_generation": change["session_generation"], "password_changed": bool(password_hash)}

    def set_password(self, username: str, password_hash: str) -> dict:
        """A new password, which also ends every session signed in with the old one."""
        return self.end_sessions(username, password_hash)

    def all_staff(self) -> list[dict]:
        return [{k: v for k, v in s.items() if k != "password_hash"} for s in self._table("staff").all()]


ALERTS_DIR = "alerts"


class AlertStore:
    """Alerts and trend-detector checkpoints, one TinyDB file per ward (`alerts/<WARD>.json`).

    Written only when an alert is raised or changes, or a checkpoint moves (about daily):
    never once per rating.
    """

    def __init__(self, data_dir: Path, offload: Callable | None = None):
        self.root = data_dir / ALERTS_DIR
        self.root.mkdir(parents=True, exist_ok=True)
        self._offload = offload
        self._dbs: dict[str, TinyDB] = {}
        self._lock = threading.Lock()
        for path in sorted(self.root.glob("*.json")):
            self._db(path.stem)

    def _db(self, ward: str) -> TinyDB:
        db = self._dbs.get(ward)
        if db is None:
            db = self._dbs[ward] = TinyDB(self.root / f"{ward}.json", storage=AtomicJSONStorage, offload=self._offload)
        return db

    def wards(self) -> list[str]:
        return sorted(self._dbs)

    def save(self, ward: str, alerts: list[dict] = (), checkpoint: dict | None = None) -> None:
        """Store alerts (new or changed) and optionally the ward's trend checkpoint, in one atomic write."""
        with self._lock:
            db = self._db(ward)
            try:
                with db.storage.batch():
                    for alert in alerts:
                        db.table("alerts").upsert(alert, Query().id == alert["id"])
                    if checkpoint is not None:
                        db.table("trend").upsert(dict(checkpoint, ward=ward), Query().ward == ward)
            except StorageUnavailable:
                for name in ("alerts", "trend"):  # the batch was rolled back: forget results read inside it
                    db.table(name).clear_cache()
                raise

    def alerts(self, ward: str) -> list[dict]:
        return [dict(a) for a in self._db(ward).table("alerts").all()] if ward in self._dbs else []

    def alert(self, ward: str, alert_id: str) -> dict | None:
        found = self._db(ward).table("alerts").get(Query().id == alert_id) if ward in self._dbs else None
        return dict(found) if found else None

    def find(self, field: str, value: str) -> dict | None:
        """The alert whose `field` (follow_up_token or short_code) has this value, on any ward."""
        with self._lock:
            for db in self._dbs.values():
                found = db.table("alerts").get(Query()[field] == value)
                if found:
                    return dict(found)
        return None

    def checkpoint(self, ward: str) -> dict | None:
        found = self._db(ward).table("trend").get(Query().ward == ward) if ward in self._dbs else None
        return dict(found) if found else None


class DataDirLock:
    """An exclusive lock on the data dir: held by the running server, or by a CLI command when none runs."""

    def __init__(self, data_dir: Path):
        data_dir.mkdir(parents=True, exist_ok=True)
        self._fh = open(data_dir / LOCK_FILE, "a+")

    def try_acquire(self) -> bool:
        """Take the lock, or close the file and return False if someone else holds it."""
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.close()
            return False
        return True

    def release(self) -> None:
        if not self._fh.closed:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()


def storage_writable(data_dir: Path) -> tuple[bool, str]:
    """Can we create, write and fsync a file in the data dir right now?"""
    probe = data_dir / ".healthz"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"ok")
            fh.flush()
            os.fsync(fh.fileno())
        probe.unlink()
    except OSError as exc:
        return False, f"cannot write to the data directory: {exc.strerror or exc}"
    return True, "ok"
