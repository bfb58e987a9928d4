"""server/backup.py: consistent copies of a data dir, strict verification, and careful restores."""

from __future__ import annotations

import json
import shutil
import stat
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from server.store import backup as backups
from server.store.alert_store import AlertStore
from server.store.atomic import DataDirLock, load_secret
from server.store.backup import MANIFEST, BackupError, backup, inspect, restore, verify_backup
from server.store.files import THEMES_FILE
from server.store.journal import RatingJournal, journal_files, read_ratings
from server.store.registry import Registry
from server.ward.alerts import new_alert
from shared.protocol import iso_utc


class Ward:
    """A data dir with ward 7B, written through the storage classes the server itself uses."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True)
        registry = Registry(root)
        registry.add_ward("7B", "Ward 7B")
        registry.add_kiosk("7B", "Day room")
        load_secret(root)
        self.journal = RatingJournal(root)
        self.alerts = AlertStore(root)
        self.next_tap = datetime.now(timezone.utc) - timedelta(hours=1)

    def rate(self, score: str = "good", follow_up: dict | None = None) -> dict:
        """Store a rating, and its follow-up alert and a trend checkpoint if it asks for someone."""
        self.next_tap += timedelta(seconds=30)
        fields = {"id": str(uuid.uuid4()), "score": score, "tapped_at": iso_utc(self.next_tap), "comment": None,
                  "lang": None, "follow_up": follow_up}
        record = dict(fields, ward="7B", kiosk_id="k-1", channel="kiosk", received_at=fields["tapped_at"], misuse=False)
        self.journal.add(record, fields)
        if follow_up is not None:
            alert = new_alert("follow_up", "7B", record["received_at"], "A patient would like to talk", record)
            self.alerts.save("7B", [alert], {"b0": 0.0, "cutoff": record["tapped_at"], "held": False, "p0": 0.08, "h": 4.0, "own": False})
        return record

    def journal_path(self) -> Path:
        return journal_files(self.root)[0]


@pytest.fixture
def ward(tmp_path):
    ward = Ward(tmp_path / "data")
    for i in range(20):
        ward.rate(["good", "poor", "very_good", "dont_know"][i % 4], follow_up={"location": "Bay 2"} if i % 7 == 0 else None)
    yield ward
    ward.journal.close()


def ids(root: Path) -> list[str]:
    return sorted(r["id"] for r in read_ratings(root))


def same_data(a: Path, b: Path) -> None:
    assert ids(a) == ids(b)
    assert AlertStore(a).alerts("7B") == AlertStore(b).alerts("7B")
    assert AlertStore(a).checkpoint("7B") == AlertStore(b).checkpoint("7B")
    assert Registry(a).wards() == Registry(b).wards() and Registry(a).kiosks() == Registry(b).kiosks()
    assert (a / "secret_key").read_text() == (b / "secret_key").read_text()


# --------------------------------------------------------------------------- backup


def test_a_backup_holds_every_rating_alert_and_account_but_no_running_server_files(ward, tmp_path):
    for name in ("server.lock", "server.json", "control.token", "wardpulse.json.tmp", ".healthz"):
        (ward.root / name).write_text("x")
    (tmp_path / "copy").mkdir()  # an empty directory made ready for it is fine
    contents = backup(ward.root, tmp_path / "copy")
    same_data(ward.root, tmp_path / "copy")
    assert (contents.wards, contents.ratings, contents.alerts, contents.warnings) == (1, 20, 3, [])
    kept = sorted(str(p.relative_to(tmp_path / "copy")) for p in (tmp_path / "copy").rglob("*") if p.is_file())
    month = ward.journal_path().name
    assert kept == sorted([MANIFEST, "alerts/7B.json", f"ratings/7B/{month}", "secret_key", "wardpulse.json"])
    assert stat.S_IMODE((tmp_path / "copy" / "secret_key").stat().st_mode) == 0o600


def test_a_journal_caught_mid_append_is_copied_up_to_its_last_whole_line(ward, tmp_path):
    with open(ward.journal_path(), "ab") as fh:
        fh.write(b'{"id": "half a rat')
    contents = backup(ward.root, tmp_path / "copy")
    copied = journal_files(tmp_path / "copy")[0].read_bytes()
    assert copied.endswith(b"\n") and copied == ward.journal_path().read_bytes().rsplit(b"\n", 1)[0] + b"\n"
    assert (contents.ratings, contents.torn) == (20, [])


def test_the_json_files_are_copied_before_the_journals(ward, tmp_path, monkeypatch):
    order = []
    real_copy = backups.copy_file
    monkeypatch.setattr(backups, "copy_file", lambda src, dst, whole_lines=False: order.append(src.suffix) or real_copy(src, dst, whole_lines))
    backup(ward.root, tmp_path / "copy")
    assert order == sorted(order, key=lambda suffix: suffix == ".jsonl") and order[-1] == ".jsonl"


def test_ratings_and_alerts_written_while_the_backup_runs_leave_it_consistent(ward, tmp_path, monkeypatch):
    real_journals = backups.journals
    written = []

    def serving_meanwhile(root):  # called between the JSON copy and the journal copy, as a busy server would
        if root == ward.root:
            written.append(ward.rate("poor", follow_up={"location": "Bay 9"}))
        return real_journals(root)

    monkeypatch.setattr(backups, "journals", serving_meanwhile)
    contents = backup(ward.root, tmp_path / "copy")
    assert written and written[0]["id"] in ids(tmp_path / "copy")
    assert contents.warnings == []


def test_journals_copied_before_the_json_would_lose_the_rating_of_an_alert(ward, tmp_path):
    early = tmp_path / "wrong-order"
    for name in backups.journals(ward.root):
        backups.copy_file(ward.root / name, early / name, whole_lines=True)
    late = ward.rate("very_poor", follow_up={"location": "Bay 3"})  # the server carries on
    for name in backups.json_files(ward.root):
        backups.copy_file(ward.root / name, early / name)
    warnings = inspect(early).warnings
    assert any(late["id"] in w for w in warnings) and any("trend checkpoint" in w for w in warnings)


@pytest.mark.parametrize("case", ["dest-not-empty", "dest-is-a-file", "not-a-data-dir", "dest-is-the-data-dir"])
def test_a_backup_is_refused_where_it_would_overwrite_or_copy_nothing(ward, tmp_path, case):
    dest = tmp_path / "copy"
    source = ward.root
    if case == "dest-not-empty":
        dest.mkdir()
        (dest / "old").write_text("x")
    elif case == "dest-is-a-file":
        dest.write_text("x")
    elif case == "not-a-data-dir":
        source = tmp_path / "empty"
        source.mkdir()
    else:
        dest = ward.root
    with pytest.raises(BackupError):
        backup(source, dest)


def test_a_backup_cut_short_leaves_nothing_under_the_name_asked_for(ward, tmp_path, monkeypatch):
    def disk_full(src, dst, whole_lines=False):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backups, "copy_file", disk_full)
    with pytest.raises(OSError):
        backup(ward.root, tmp_path / "copy")
    assert list(tmp_path.iterdir()) == [ward.root]


# --------------------------------------------------------------------------- verify


def damage(root: Path, how: str) -> None:
    journal = journal_files(root)[0]
    lines = journal.read_bytes().splitlines(keepends=True)
    if how == "journal-line":
        journal.write_bytes(b"".join(lines[:3] + [b'{"id": "x", "sco\n'] + lines[4:]))
    elif how == "registry":
        (root / "wardpulse.json").write_text('{"wards": {"1": ')
    elif how == "alerts":
        (root / "alerts" / "7B.json").write_text("")
    elif how == "no-registry":
        (root / "wardpulse.json").unlink()
    elif how == "missing-journal":
        journal.unlink()
    elif how == "added-journal":
        shutil.copy(journal, journal.with_name("1999-01.jsonl"))
    elif how == "edited-journal":
        journal.write_bytes(b"".join(lines[:-1]))  # still whole lines: only the manifest can tell


@pytest.mark.parametrize("how", ["journal-line", "registry", "alerts", "no-registry", "missing-journal", "added-journal", "edited-journal"])
def test_a_damaged_backup_is_refused(ward, tmp_path, how):
    backup(ward.root, tmp_path / "copy")
    damage(tmp_path / "copy", how)
    with pytest.raises(BackupError):
        verify_backup(tmp_path / "copy")


@pytest.mark.parametrize("how", ["journal-line", "registry", "alerts"])
def test_a_plain_copy_without_a_manifest_is_checked_line_by_line(ward, tmp_path, how):
    shutil.copytree(ward.root, tmp_path / "plain")
    damage(tmp_path / "plain", how)
    with pytest.raises(BackupError):
        verify_backup(tmp_path / "plain")


def test_an_alert_without_its_rating_is_a_warning_not_a_refusal(ward, tmp_path):
    backup(ward.root, tmp_path / "copy")
    journal = journal_files(tmp_path / "copy")[0]
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(line for line in lines if b"Bay 2" not in line))
    (tmp_path / "copy" / MANIFEST).unlink()
    contents = verify_backup(tmp_path / "copy")
    assert len(contents.warnings) == 4 and contents.problems == []  # 3 alerts and the checkpoint


# --------------------------------------------------------------------------- restore


def test_restore_into_a_new_data_dir_gives_back_everything(ward, tmp_path):
    backup(ward.root, tmp_path / "copy")
    contents, aside = restore(tmp_path / "copy", tmp_path / "restored")
    same_data(ward.root, tmp_path / "restored")
    assert aside is None and contents.ratings == 20
    assert not (tmp_path / "restored" / MANIFEST).exists()
    assert stat.S_IMODE((tmp_path / "restored" / "secret_key").stat().st_mode) == 0o600


def test_restore_refuses_while_a_server_holds_the_data_dir(ward, tmp_path):
    backup(ward.root, tmp_path / "copy")
    target = tmp_path / "served"
    server = DataDirLock(target)
    assert server.try_acquire()
    with pytest.raises(BackupError, match="running"):
        restore(tmp_path / "copy", target)
    server.release()
    assert [p.name for p in target.iterdir()] == ["server.lock"]


def test_restore_over_data_needs_force_and_then_keeps_the_old_data_aside(ward, tmp_path):
    backup(ward.root, tmp_path / "copy")
    other = Ward(tmp_path / "other")
    other.rate("very_poor")
    other.journal.close()
    before = ids(other.root)
    with pytest.raises(BackupError, match="already holds data"):
        restore(tmp_path / "copy", other.root)
    assert ids(other.root) == before
    _, aside = restore(tmp_path / "copy", other.root, force=True)
    same_data(ward.root, other.root)
    assert ids(aside) == before


def test_a_plain_copy_with_a_torn_journal_restores_without_the_torn_line(ward, tmp_path):
    with open(ward.journal_path(), "ab") as fh:
        fh.write(b'{"id": "torn')
    shutil.copytree(ward.root, tmp_path / "plain")
    assert verify_backup(tmp_path / "plain").torn == [str(ward.journal_path().relative_to(ward.root))]
    restore(tmp_path / "plain", tmp_path / "restored")
    restored = journal_files(tmp_path / "restored")[0].read_bytes()
    assert restored.endswith(b"\n") and b"torn" not in restored
    assert ids(tmp_path / "restored") == ids(ward.root)


# --------------------------------------------------------------------------- the commands


def test_backup_and_restore_commands(ward, tmp_path, runner):
    from server.cli import cli

    made = runner.invoke(cli, ["--data-dir", str(ward.root), "backup", str(tmp_path / "copy"), "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["ratings"] == 20
    restored = runner.invoke(cli, ["--data-dir", str(tmp_path / "new"), "restore", str(tmp_path / "copy")])
    assert restored.exit_code == 0 and "20 rating(s)" in restored.output
    again = runner.invoke(cli, ["--data-dir", str(tmp_path / "new"), "restore", str(tmp_path / "copy")])
    assert again.exit_code == 1 and "already holds data" in again.output
    damage(tmp_path / "copy", "journal-line")
    checked = runner.invoke(cli, ["restore", "--check", str(tmp_path / "copy")])
    assert checked.exit_code == 1 and "changed since the backup was made" in checked.output


def test_the_trusts_themes_file_is_backed_up_and_restored(ward, tmp_path):
    themes = '{"Call bells": {"en": ["buzzer"]}}'
    (ward.root / THEMES_FILE).write_text(themes)
    backup(ward.root, tmp_path / "copy")
    restore(tmp_path / "copy", tmp_path / "restored")
    assert (tmp_path / "restored" / THEMES_FILE).read_text() == themes
