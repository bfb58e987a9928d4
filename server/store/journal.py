"""The ratings journal: append-only, one file per ward per month of `tapped_at`, group commit, idempotent adds.

Each rating is written and fsync'd before it is acked; ratings arriving together share one fsync,
so durability stays cheap, and an append costs the same with a hundred or a million ratings on disk."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from server.store.atomic import StorageUnavailable, fsync_dir
from server.store.files import RATINGS_DIR
from shared.protocol import MAX_CLOCK_SKEW, ProtocolError

log = logging.getLogger(__name__)


# json.dumps(..., sort_keys=True) builds a new encoder at each call; this one gives the same text.
_canonical_json = json.JSONEncoder(sort_keys=True).encode


def fingerprint(fields: dict) -> str:
    """What the tablet said, reduced to a hash: a resend must match it to count as a duplicate."""
    return hashlib.sha256(_canonical_json(fields).encode()).hexdigest()[:32]


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


class Threads:
    """Plain OS threads: the writer thread, its lock and the events ratings wait on (threading mode, tools, tests)."""

    def thread(self, target: Callable[[], None], name: str) -> None:
        threading.Thread(target=target, name=name, daemon=True).start()

    def condition(self) -> threading.Condition:
        return threading.Condition()

    def event(self) -> threading.Event:
        """An event the writer thread sets and a handler waits on."""
        return threading.Event()

    def soon(self, fn: Callable[[], None]) -> None:
        """Run `fn` now: with no event loop there is no turn of it to wait for."""
        fn()


class _Batch:
    """Ratings that share one write and one fsync. Its members all wait on one event, set once per batch."""

    def __init__(self, done) -> None:
        self.records: list[dict] = []
        self.done = done
        self.error: Exception | None = None  # what each of its ratings is told
        self.failure: Exception | None = None  # why the write failed, until one of them logs it


class RatingJournal:
    """Durable, idempotent rating store with group commit."""

    def __init__(self, data_dir: Path, offload: object = None):
        self.root = data_dir / RATINGS_DIR
        self.root.mkdir(parents=True, exist_ok=True)
        # Under eventlet the entry point passes an offload with native threads and events a native
        # thread can set (server/web/serving.py); a plain callable or None means plain threads.
        self._threads = offload if hasattr(offload, "event") else Threads()
        self._lock = self._threads.condition()  # guards everything below; the writer sleeps on it
        self._known: dict[str, tuple[str, str]] = {}  # rating id -> (fingerprint, tap key)
        self._pending: dict[str, tuple[tuple[str, str], _Batch]] = {}  # rating id -> ((fingerprint, tap key), its batch)
        self._open = _Batch(self._threads.event())  # where ratings gather while the writer writes the one before
        self._writer_started = False
        self._writer_asleep = False  # waiting for a rating: the next one must wake it
        self._wake_due = False  # a rating has asked for it to be woken (add): later ones need not
        self._closed = False
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
        fp, wake = (fingerprint(fields), tap_key(fields)), False
        with self._lock:
            if self._closed:
                raise StorageUnavailable("the journal is closed: the server is stopping")
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
                if not self._writer_started:
                    self._writer_started = True
                    self._threads.thread(self._write_batches, name="rating-journal")
                if self._writer_asleep and not self._wake_due:
                    self._wake_due = wake = True
        if wake:
            # Under eventlet, once every handler ready in this turn of the loop has added its rating:
            # one wake-up and one fsync for them all, where waking it at once split them over several.
            self._threads.soon(self._wake_writer)
        batch.done.wait()
        if batch.error is not None:
            self._report(batch)
            raise batch.error
        return new

    def _wake_writer(self) -> None:
        with self._lock:
            self._wake_due = False
            self._lock.notify()

    def _write_batches(self) -> None:
        """The writer thread: write whatever gathered while the last batch was written, in one fsync, until closed.

        Group commit with hand-off: a batch's ratings are acked the moment its own fsync returns, and
        those that arrived meanwhile are already waiting as the next batch, so no rating's ack waits
        behind other ratings' fsyncs. Under eventlet this thread is the only hand-off to the disk:
        one wake-up each way per batch, where tpool cost a thread round trip per write (measured in
        the README's Performance section).
        """
        while True:
            with self._lock:
                while not self._open.records and not self._closed:
                    self._writer_asleep = True
                    self._lock.wait()
                    self._writer_asleep = False
                batch, self._open = self._open, _Batch(self._threads.event())
                if self._closed:
                    break
            self._commit(batch)
        self._commit(batch, StorageUnavailable("the server is stopping"))  # refuses what arrived too late
        self._close_files()

    def _commit(self, batch: _Batch, refused: StorageUnavailable | None = None) -> None:
        error: Exception | None = refused or StorageUnavailable("the write was interrupted")
        try:
            if refused is None:
                self._write_batch(batch.records)
                error = None
        except OSError as exc:
            error, batch.failure = StorageUnavailable(str(exc)), exc
        except Exception as exc:  # a bug must not leave every later rating waiting forever
            error, batch.failure = StorageUnavailable(f"unexpected error: {exc}"), exc
        finally:
            with self._lock:
                for record in batch.records:
                    del self._pending[record["id"]]
                    if error is None:
                        self._known[record["id"]] = (record["fingerprint"], tap_key(record))
                batch.error = error
            batch.done.set()

    def _report(self, batch: _Batch) -> None:
        """Log why a batch failed, once, from a rating's handler: under eventlet logging's locks are green,
        which the native writer thread must not wait on."""
        with self._lock:
            failure, batch.failure = batch.failure, None
        if isinstance(failure, OSError):
            log.error("could not store %d rating(s): %s", len(batch.records), failure)
        elif failure is not None:
            log.error("storing %d rating(s) failed", len(batch.records), exc_info=failure)

    def _write_batch(self, records: list[dict]) -> None:
        """Append records to their partitions and fsync each once. Runs on a real thread."""
        lines: dict[tuple[str, str], list[bytes]] = {}
        for r in records:
            lines.setdefault(partition(r["ward"], r["tapped_at"]), []).append(
                _canonical_json(r).encode() + b"\n"
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
        """Stop taking ratings; the writer thread closes the files once its batch in flight is written.

        It returns at once: the server calls it from its signal handler, inside the event loop, and
        every acked rating is already on disk.
        """
        with self._lock:
            self._closed = True
            self._lock.notify()
            if self._writer_started:
                return
        self._close_files()

    def _close_files(self) -> None:
        for fh in self._files.values():
            fh.close()
        self._files.clear()
