"""Files that a crash leaves whole: fsync'd atomic replacement, the TinyDB storage built on it, the data-dir lock and the health probe."""

from __future__ import annotations

import copy
import fcntl
import json
import os
import secrets
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from tinydb.storages import Storage

from server.store.files import HEALTH_PROBE, LOCK_FILE, SECRET_FILE


class StorageUnavailable(Exception):
    """The disk refused a write (full, read-only, gone): nothing was stored."""


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


def load_secret(data_dir: Path, name: str = SECRET_FILE) -> str:
    """Read a secret from the data dir, generating it on first run."""
    path = data_dir / name
    if not path.exists():
        # Ward processes may start together: each writes its own temporary file, and the first to link
        # it into place wins; the others read the winner's.
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
            fsync_dir(path.parent)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


class DataDirLock:
    """An exclusive lock on the data dir: held by the running server, or by a CLI command when none runs."""

    def __init__(self, data_dir: Path):
        data_dir.mkdir(parents=True, exist_ok=True)
        self._fh = open(data_dir / LOCK_FILE, "a+")

    def try_acquire(self, shared: bool = False) -> bool:
        """Take the lock, or close the file and return False if someone else holds it.

        `shared`: a ward process's hold; any number of them share the data dir, and each keeps out a
        plain server and the CLI's direct writes (which take it exclusively) until the last one stops."""
        try:
            fcntl.flock(self._fh, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
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
    probe = data_dir / HEALTH_PROBE
    try:
        with open(probe, "wb") as fh:
            fh.write(b"ok")
            fh.flush()
            os.fsync(fh.fileno())
        probe.unlink()
    except OSError as exc:
        return False, f"cannot write to the data directory: {exc.strerror or exc}"
    return True, "ok"
