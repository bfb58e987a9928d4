"""Locks that let several ward processes share one data dir: one owner per ward, one registry writer at a time."""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

from server.store.files import REGISTRY_LOCK, WARD_LOCKS_DIR


class WardTaken(Exception):
    """Another process already owns a ward asked for; the message says which, and who."""


class WardLocks:
    """Exclusive fcntl locks on ward-locks/<WARD>.lock, one per ward this process serves and writes.

    The kernel drops them when the process dies (even by kill -9), so a restart can claim them at once.
    Each lock file says who holds it (pid, address), which other processes read to reach the owner."""

    def __init__(self, data_dir: Path, wards: list[str]):
        self.root = data_dir / WARD_LOCKS_DIR
        self.wards = list(wards)
        self._files: dict[str, object] = {}

    def claim(self) -> None:
        """Take every ward's lock or none: WardTaken if any is held by another process."""
        self.root.mkdir(parents=True, exist_ok=True)
        for ward in self.wards:
            fh = open(self.root / f"{ward}.lock", "a+")  # noqa: SIM115  (held for the life of the process)
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = owner_of(self.root.parent, ward) or {}
                fh.close()
                self.release()
                raise WardTaken(f"ward {ward} is already served by another WardPulse process"
                                f"{' (pid %s)' % holder['pid'] if holder.get('pid') else ''}: each ward has one") from None
            self._files[ward] = fh

    def announce(self, info: dict) -> None:
        """Write who owns these wards (pid, address) into each held lock file."""
        text = json.dumps(info)
        for fh in self._files.values():
            fh.seek(0)
            fh.truncate()
            fh.write(text)
            fh.flush()

    def release(self) -> None:
        for fh in self._files.values():
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()
        self._files = {}


def any_ward_held(data_dir: Path) -> str | None:
    """The first ward whose lock some process holds now, or None."""
    root = data_dir / WARD_LOCKS_DIR
    for path in sorted(root.glob("*.lock")) if root.exists() else []:
        with open(path, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return path.stem
            fcntl.flock(fh, fcntl.LOCK_UN)
    return None


def owner_of(data_dir: Path, ward: str) -> dict | None:
    """Who owns a ward as its lock file says (pid, local_url), or None if no process announced it."""
    path = data_dir / WARD_LOCKS_DIR / f"{ward}.lock"
    try:
        text = path.read_text()
        return json.loads(text) if text.strip() else None
    except (OSError, ValueError):
        return None


class RegistryWriteLock:
    """Held around each registry change when ward processes share the data dir: one writer at a time,
    each starting from the file as the last writer left it (`reload`), never from a stale copy."""

    def __init__(self, data_dir: Path, reload: Callable[[], None]):
        self._path = data_dir / REGISTRY_LOCK
        self._reload = reload
        self.after_change: Callable[[], None] = lambda: None  # e.g. tell the other ward processes to read it again
        self._threads = threading.Lock()
        self._fd: int | None = None

    def __enter__(self):
        self._threads.acquire()
        try:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # brief: one small file write by another process
            self._reload()
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        self._unlock()
        if exc_type is None:
            self.after_change()

    def _unlock(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._threads.release()
