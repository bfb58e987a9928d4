"""Backup and restore of a data dir; a backup is consistent even when taken while the server is serving.

Why no pause is needed: the JSON files (the ward registry, each ward's alerts and trend checkpoint) are
replaced whole with os.replace, so a copy of one is always one whole version; the rating journals are
only ever appended to. The JSON files are copied FIRST and the journals AFTER: a rating is in its journal
before any alert or checkpoint can name it, so every rating the copied JSON refers to is in the copied
journals. A journal caught in the middle of an append is copied up to its last complete line (that
rating was not acked yet; the tablet still has it and sends it again).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from server.clock import now_utc
from server.store.atomic import DataDirLock, fsync_dir
from server.store.files import (
    ALERTS_DIR,
    CONTROL_TOKEN,
    LOCK_FILE,
    REGISTRY_FILE,
    REGISTRY_LOCK,
    SECRET_FILE,
    SERVER_INFO,
    SHARDS_DIR,
    THEMES_FILE,
    WARD_LOCKS_DIR,
)
from server.store.journal import journal_files
from server.store.ward_locks import any_ward_held
from shared.protocol import iso_utc

MANIFEST = "backup.json"
# A running server's own files: its lock, its address and its control token, and the ward processes' locks and
# addresses. Never copied, and never data: a restore neither counts them as data nor moves them aside.
PROCESS_FILES = {LOCK_FILE, SERVER_INFO, CONTROL_TOKEN, WARD_LOCKS_DIR, SHARDS_DIR, REGISTRY_LOCK}
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot be done as asked; the message says why."""


@dataclass
class Contents:
    """What a data dir or a backup holds, and what is wrong with it."""

    wards: int = 0
    ratings: int = 0
    journals: int = 0
    alerts: int = 0
    files: int = 0
    bytes: int = 0
    torn: list[str] = field(default_factory=list)  # journals whose last line is incomplete (cut when copied)
    warnings: list[str] = field(default_factory=list)  # inconsistent but restorable
    problems: list[str] = field(default_factory=list)  # unreadable: refuse

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return (f"{self.wards} ward(s), {self.ratings} rating(s) in {self.journals} journal(s), "
                f"{self.alerts} alert(s); {self.files} files, {self.bytes / 1e6:.1f} MB")


# --------------------------------------------------------------------------- which files are data


def json_files(root: Path) -> list[Path]:
    """The registry, the secret key, the trust's themes and every ward's alerts file, relative to root."""
    names = [Path(REGISTRY_FILE), Path(SECRET_FILE), Path(THEMES_FILE)]
    names += [p.relative_to(root) for p in sorted((root / ALERTS_DIR).glob("*.json"))]
    return [name for name in names if (root / name).is_file()]


def journals(root: Path) -> list[Path]:
    """Every rating journal, relative to root."""
    return [p.relative_to(root) for p in journal_files(root)]


# --------------------------------------------------------------------------- copying


def copy_file(src: Path, dst: Path, whole_lines: bool = False) -> int:
    """Copy src as it is now to dst (fsync'd); with whole_lines, stop after the last complete line. Returns bytes kept."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    mode = os.stat(src).st_mode & 0o777  # the secret key stays readable by its owner only, from the first byte
    with open(src, "rb") as fin, os.fdopen(os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as fout:
        # Only what is there when we look: an append that lands during the copy belongs to the next backup.
        left, copied, keep = os.fstat(fin.fileno()).st_size, 0, 0
        while left > 0 and (chunk := fin.read(min(CHUNK, left))):
            fout.write(chunk)
            newline = chunk.rfind(b"\n")
            keep = copied + newline + 1 if newline >= 0 else keep
            copied += len(chunk)
            left -= len(chunk)
        kept = keep if whole_lines else copied
        fout.truncate(kept)
        fout.flush()
        os.fsync(fout.fileno())
    return kept


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_tree(root: Path) -> None:
    """Make every directory entry under root durable."""
    for directory in sorted({p.parent for p in root.rglob("*")} | {root}, key=lambda p: len(p.parts), reverse=True):
        fsync_dir(directory)


def write_manifest(root: Path, source: Path, names: list[Path]) -> None:
    """Sizes and checksums of every copied file, so a restore can tell a damaged backup."""
    manifest = {
        "made_at": iso_utc(now_utc(), "seconds"),
        "source": str(source.resolve()),
        "files": {str(name): {"bytes": (root / name).stat().st_size, "sha256": sha256(root / name)} for name in names},
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))


def backup(data_dir: Path, dest: Path) -> Contents:
    """Copy a data dir (served or not) to dest, which must be new or empty; return what the copy holds."""
    if not (data_dir / REGISTRY_FILE).is_file():
        raise BackupError(f"{data_dir} is not a WardPulse data dir (it has no {REGISTRY_FILE})")
    if dest.resolve() == data_dir.resolve():
        raise BackupError("the backup must go somewhere other than the data dir itself")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} already exists and is not an empty directory: choose a new one")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.parent / f".{dest.name}.partial-{secrets.token_hex(4)}"
    partial.mkdir()
    try:
        contents = copy_consistently(data_dir, partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    os.replace(partial, dest)  # a half-made backup never carries the name asked for
    fsync_dir(dest.parent)
    return contents


def copy_consistently(data_dir: Path, into: Path) -> Contents:
    """The copy itself: JSON first, journals after (see the module docstring), then a manifest; read back strictly."""
    first = json_files(data_dir)
    for name in first:
        copy_file(data_dir / name, into / name)
    later = journals(data_dir)
    for name in later:
        copy_file(data_dir / name, into / name, whole_lines=True)
    write_manifest(into, data_dir, first + later)
    contents = inspect(into)
    if contents.problems:
        raise BackupError("the copy does not read back whole:\n" + "\n".join(contents.problems))
    fsync_tree(into)
    return contents


# --------------------------------------------------------------------------- checking


def load_json(root: Path, name: Path, contents: Contents):
    """A JSON file's data, or None (with the problem noted) if it does not load."""
    try:
        return json.loads((root / name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        contents.problems.append(f"{name}: does not load as JSON ({exc})")
        return None


def check_journal(root: Path, name: Path, contents: Contents, taps: dict) -> None:
    """Every complete line must be a rating; a torn last line is noted (restore cuts it)."""
    data = (root / name).read_bytes()
    lines = data.split(b"\n")
    if lines[-1]:
        contents.torn.append(str(name))
    for number, line in enumerate(lines[:-1], 1):
        try:
            rating = json.loads(line)
            taps[rating["ward"]].add((rating["id"], rating["tapped_at"]))
        except (ValueError, KeyError, TypeError):
            contents.problems.append(f"{name}:{number}: not a whole rating")
            continue
        contents.ratings += 1


def check_alerts(name: Path, data: dict, contents: Contents, taps: dict) -> None:
    """Each alert's rating, and the last rating the trend checkpoint judged, must be in the ward's journals."""
    ward = name.stem
    ids = {rating_id for rating_id, _ in taps[ward]}
    times = {tapped_at for _, tapped_at in taps[ward]}
    for alert in (data.get("alerts") or {}).values():
        contents.alerts += 1
        if alert.get("rating_id") and alert["rating_id"] not in ids:
            contents.warnings.append(f"{name}: alert {alert.get('id')} names rating {alert['rating_id']}, which no journal holds")
    for checkpoint in (data.get("trend") or {}).values():
        if checkpoint.get("cutoff") and checkpoint["cutoff"] not in times:
            contents.warnings.append(f"{name}: the trend checkpoint counts ratings up to {checkpoint['cutoff']}, which no journal holds")


def check_manifest(root: Path, names: list[Path], contents: Contents) -> None:
    """With a manifest (a `wardpulse backup`), every file must be there, unchanged, and nothing added."""
    manifest = load_json(root, Path(MANIFEST), contents)
    if not isinstance(manifest, dict):
        return
    listed = manifest.get("files", {})
    for name in sorted(set(listed) - {str(n) for n in names}):
        contents.problems.append(f"{name}: in the manifest but missing")
    for name in names:
        entry = listed.get(str(name))
        if entry is None:
            contents.problems.append(f"{name}: not in the manifest (added after the backup?)")
        elif entry["bytes"] != (root / name).stat().st_size or entry["sha256"] != sha256(root / name):
            contents.problems.append(f"{name}: changed since the backup was made (checksum differs)")


def inspect(root: Path) -> Contents:
    """Read every data file under root strictly and say what is there and what is wrong."""
    contents = Contents()
    if not (root / REGISTRY_FILE).is_file():
        contents.problems.append(f"{root} holds no {REGISTRY_FILE}: it is not a WardPulse backup")
        return contents
    names = json_files(root) + journals(root)
    if (root / MANIFEST).exists():
        check_manifest(root, names, contents)
    taps: dict[str, set] = defaultdict(set)
    for name in journals(root):
        contents.journals += 1
        check_journal(root, name, contents, taps)
    registry = load_json(root, Path(REGISTRY_FILE), contents)
    if isinstance(registry, dict):
        contents.wards = len(registry.get("wards") or {})
    elif registry is not None:
        contents.problems.append(f"{REGISTRY_FILE}: not a TinyDB file")
    for name in json_files(root):
        if name.parent == Path(ALERTS_DIR) and isinstance(data := load_json(root, name, contents), dict):
            check_alerts(name, data, contents, taps)
    if (root / SECRET_FILE).is_file() and not (root / SECRET_FILE).read_text().strip():
        contents.problems.append(f"{SECRET_FILE}: empty")
    contents.files = len(names)
    contents.bytes = sum((root / name).stat().st_size for name in names)
    return contents


def verify_backup(src: Path) -> Contents:
    """What a backup holds; BackupError listing every problem if any file does not read back whole."""
    contents = inspect(src)
    if contents.problems:
        raise BackupError(f"{src} cannot be restored:\n" + "\n".join(contents.problems))
    return contents


# --------------------------------------------------------------------------- restoring


def existing_data(data_dir: Path) -> list[Path]:
    """What in the data dir is data (everything but a server's own lock, address and token files)."""
    if not data_dir.is_dir():
        return []
    return sorted(p for p in data_dir.iterdir() if p.name not in PROCESS_FILES)


def move_aside(data_dir: Path, entries: list[Path]) -> Path:
    """Keep what a forced restore replaces: moved into DATA_DIR/replaced-<time>/, never deleted."""
    aside = data_dir / f"replaced-{now_utc().strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(2)}"
    aside.mkdir()
    for entry in entries:
        os.replace(entry, aside / entry.name)
    fsync_dir(aside)
    fsync_dir(data_dir)
    return aside


def copy_in(src: Path, data_dir: Path) -> None:
    """Journals first, the registry last: a restore cut short is still seen as not done (run it again with --force)."""
    names = journals(src) + [n for n in json_files(src) if n != Path(REGISTRY_FILE)] + [Path(REGISTRY_FILE)]
    for name in names:
        target = data_dir / name
        staged = target.with_name(target.name + ".restoring")
        copy_file(src / name, staged, whole_lines=name.suffix == ".jsonl")
        os.replace(staged, target)
    fsync_tree(data_dir)


@contextmanager
def server_stopped(data_dir: Path) -> Iterator[bool]:
    """Hold the data dir's lock; yields False, holding nothing, if a running server has it."""
    lock = DataDirLock(data_dir)
    held = lock.try_acquire()
    try:
        yield held
    finally:
        lock.release()  # unlocks only what we hold; always closes the file


def restore(src: Path, data_dir: Path, force: bool = False) -> tuple[Contents, Path | None]:
    """Verify a backup and copy it into a data dir no server is using; return what it holds and where old data went."""
    if src.resolve() == data_dir.resolve():
        raise BackupError("the backup and the data dir are the same directory")
    contents = verify_backup(src)
    with server_stopped(data_dir) as free:
        # Ward processes hold the data dir's lock shared and each its wards' locks: looked at under our lock, so none
        # can start meanwhile, and named, so the admin knows to stop every one of them (not "a server").
        held = any_ward_held(data_dir)
        if held:
            raise BackupError(f"ward processes (serve --wards) are running on {data_dir}, ward {held} among them: stop every one "
                              "of them first (restore never writes under a live server)")
        if not free:
            raise BackupError(f"a WardPulse server is running on {data_dir}: stop it first (restore never writes under a live server)")
        present = existing_data(data_dir)
        if present and not force:
            names = ", ".join(p.name for p in present[:5])
            raise BackupError(f"{data_dir} already holds data ({names}): restore into an empty data dir, or use --force "
                              "to move what is there aside")
        aside = move_aside(data_dir, present) if present else None
        copy_in(src, data_dir)
    return contents, aside
