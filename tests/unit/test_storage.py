"""server/storage.py: the ratings journal and the registry."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from server.store.atomic import AtomicJSONStorage, StorageUnavailable
from server.store.journal import RatingJournal, read_ratings, read_ward_month, repair_journal, ward_month
from server.store.registry import AdminError, AlreadyExists, NotFound, Registry
from shared.protocol import ProtocolError

NOW = datetime(2026, 11, 26, 10, tzinfo=timezone.utc)


@pytest.fixture
def journal(tmp_path):
    journal = RatingJournal(tmp_path)
    yield journal
    journal.close()


@pytest.fixture
def reopen(tmp_path):
    """Open the journal again, as a restarted server does; closed after the test."""
    opened = []

    def open_again():
        opened.append(RatingJournal(tmp_path))
        return opened[-1]

    yield open_again
    for j in opened:
        j.close()


def record(i: int, score: str = "good", ward: str = "7B", at: str = "2026-11-26T09:00:00.000Z") -> tuple[dict, dict]:
    fields = {"id": f"00000000-0000-4000-8000-{i:012d}", "score": score, "tapped_at": at, "comment": None, "lang": None, "follow_up": None}
    return dict(fields, ward=ward, kiosk_id="k-1", channel="kiosk", received_at=at, misuse=False), fields


def test_a_rating_is_stored_once_and_a_resend_is_a_duplicate(journal, tmp_path):
    assert journal.add(*record(1)) is True
    assert journal.add(*record(1)) is False
    assert [r["id"] for r in read_ratings(tmp_path)] == [record(1)[0]["id"]]


def test_same_id_other_content_is_a_conflict(journal):
    journal.add(*record(1, "good"))
    with pytest.raises(ProtocolError) as caught:
        journal.add(*record(1, "poor"))
    assert caught.value.code == "conflict"


def test_ratings_are_partitioned_per_ward_and_month(journal, tmp_path):
    journal.add(*record(1, ward="7B", at="2026-11-01T09:00:00.000Z"))
    journal.add(*record(2, ward="7B", at="2026-10-31T09:00:00.000Z"))
    journal.add(*record(3, ward="4A", at="2026-11-02T09:00:00.000Z"))
    files = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "ratings").rglob("*.jsonl"))
    assert files == ["ratings/4A/2026-11.jsonl", "ratings/7B/2026-10.jsonl", "ratings/7B/2026-11.jsonl"]
    assert [r["id"][-1] for r in read_ratings(tmp_path, "7B", "2026-11")] == ["1"]


def test_a_restart_remembers_ids_so_resends_stay_duplicates(journal, reopen):
    journal.add(*record(1))
    journal = reopen()
    assert len(journal.load_recent(NOW)) == 1
    assert journal.add(*record(1)) is False


def test_a_torn_last_line_from_a_crash_is_cut_and_the_rest_kept(journal, reopen, tmp_path):
    journal.add(*record(1))
    journal.close()
    path = tmp_path / "ratings" / "7B" / "2026-11.jsonl"
    with open(path, "ab") as fh:
        fh.write(b'{"id": "half a rat')
    assert len(list(read_ratings(tmp_path))) == 1  # readers skip it
    repair_journal(path)
    assert path.read_bytes().endswith(b"}\n")
    journal = reopen()
    journal.load_recent(NOW)
    assert journal.add(*record(2)) is True
    assert len(list(read_ratings(tmp_path))) == 2


def on_slow_disk(journal: RatingJournal, disk) -> RatingJournal:
    """The journal's writer thread goes through `disk(write, records)` for each batch it writes."""
    write = journal._write_batch
    journal._write_batch = lambda records: disk(write, records)
    return journal


def test_concurrent_writers_share_fsyncs_and_lose_nothing(tmp_path):
    batches = []

    def slow_disk(write, records):  # a 5 ms fsync, as on a real disk
        time.sleep(0.005)
        batches.append(len(records))
        return write(records)

    journal = on_slow_disk(RatingJournal(tmp_path), slow_disk)
    threads = [threading.Thread(target=journal.add, args=record(i)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal.close()
    assert len(list(read_ratings(tmp_path))) == 50
    assert sum(batches) == 50
    assert len(batches) < 25  # group commit: many ratings per fsync


def test_a_writer_is_acked_after_its_own_batch_and_hands_the_next_one_on(tmp_path):
    first_in, let_first_finish, let_second_finish = threading.Event(), threading.Event(), threading.Event()
    batches = []

    def held_disk(write, records):
        batches.append(sorted(r["id"][-1] for r in records))
        if len(batches) == 1:
            first_in.set()
            let_first_finish.wait(5)
        else:
            let_second_finish.wait(5)
        return write(records)

    journal = on_slow_disk(RatingJournal(tmp_path), held_disk)
    first = threading.Thread(target=journal.add, args=record(1), daemon=True)  # a broken hand-off fails, not hangs
    first.start()
    assert first_in.wait(5)
    later = [threading.Thread(target=journal.add, args=record(i), daemon=True) for i in (2, 3)]
    for t in later:
        t.start()
    deadline = time.monotonic() + 5
    while len(journal._pending) < 3 and time.monotonic() < deadline:  # both wait behind the first fsync
        time.sleep(0.001)
    let_first_finish.set()
    first.join(2)
    assert not first.is_alive()  # acked while the next batch is still being written
    let_second_finish.set()
    for t in later:
        t.join(5)
        assert not t.is_alive()
    journal.close()
    assert batches == [["1"], ["2", "3"]]
    assert len(list(read_ratings(tmp_path))) == 3


def test_a_failed_write_is_reported_and_leaves_no_torn_line(journal, tmp_path, monkeypatch):
    journal.add(*record(1))

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("server.store.journal.os.fsync", disk_full)
    with pytest.raises(StorageUnavailable):
        journal.add(*record(2))
    monkeypatch.undo()
    assert journal.add(*record(2)) is True  # space is back: the same rating goes through
    lines = (tmp_path / "ratings" / "7B" / "2026-11.jsonl").read_bytes().splitlines()
    assert [json.loads(line)["id"][-1] for line in lines] == ["1", "2"]


def test_registry_round_trip_and_errors(tmp_path):
    registry = Registry(tmp_path)
    registry.add_ward("7b", "Ward 7B")
    with pytest.raises(AlreadyExists):
        registry.add_ward("7B", "Again")
    with pytest.raises(AdminError):
        registry.add_ward("no spaces", "Bad")
    with pytest.raises(NotFound):
        registry.add_kiosk("9Z")
    kiosk = registry.add_kiosk("7B", "Day room")
    assert Registry(tmp_path).device_by_token("kiosks", kiosk["token"])["label"] == "Day room"
    assert kiosk["token"] not in (tmp_path / "wardpulse.json").read_text()  # only its hash is kept
    assert registry.revoke_kiosk(kiosk["id"])["revoked_at"]


def test_registry_file_is_replaced_atomically(tmp_path):
    storage = AtomicJSONStorage(tmp_path / "db.json")
    storage.write({"wards": {"1": {"code": "7B"}}})
    assert not (tmp_path / "db.json.tmp").exists()
    assert json.loads((tmp_path / "db.json").read_text())["wards"]["1"]["code"] == "7B"


def test_token_lookups_follow_every_write(tmp_path):
    registry = Registry(tmp_path)
    registry.add_ward("7B", "Ward 7B")
    kiosk = registry.add_kiosk("7B")
    assert registry.device_by_token("kiosks", kiosk["token"])["id"] == kiosk["id"]
    assert registry.device_by_token("displays", kiosk["token"]) is None  # a kiosk token is not a display token
    fresh = registry.use_enrollment(registry.add_enrollment(kiosk["id"])["code"])
    assert registry.device_by_token("kiosks", kiosk["token"]) is None  # rotated away
    assert registry.device_by_token("kiosks", fresh["token"])["revoked_at"] is None
    registry.revoke_kiosk(kiosk["id"])
    assert registry.device_by_token("kiosks", fresh["token"])["revoked_at"]


def test_a_restart_at_23_59_on_the_last_day_knows_a_fast_tablets_tap_in_next_months_journal(journal, reopen):
    journal.add(*record(1, at="2026-12-01T00:02:00.000Z"))  # tapped at 23:58 on a tablet four minutes fast
    journal = reopen()
    assert [r["id"][-1] for r in journal.load_recent(datetime(2026, 11, 30, 23, 59, tzinfo=timezone.utc))] == ["1"]
    assert journal.add(*record(1, at="2026-12-01T00:02:00.000Z")) is False


# (tap time in UTC, the ward's month in Europe/London): the 1st in summer time, the last day in winter
# time, and the hours around both clock changes of 2026 (29 March and 25 October, at 01:00 UTC).
WARD_MONTHS = [
    ("2026-07-31T23:30:00.000Z", "2026-08"),  # 00:30 BST on 1 August
    ("2026-07-31T22:59:59.999Z", "2026-07"),  # 23:59 BST on 31 July
    ("2026-11-30T23:30:00.000Z", "2026-11"),  # 23:30 GMT on 30 November
    ("2026-12-01T00:00:00.000Z", "2026-12"),  # midnight GMT
    ("2026-03-29T00:59:00.000Z", "2026-03"),  # 00:59 GMT, the clocks go forward at 01:00
    ("2026-03-31T23:30:00.000Z", "2026-04"),  # 00:30 BST on 1 April, two days later
    ("2026-10-25T00:30:00.000Z", "2026-10"),  # 01:30 BST, the first of the two 01:30s
    ("2026-10-31T23:30:00.000Z", "2026-10"),  # 23:30 GMT on 31 October, after the clocks went back
    ("2026-09-30T23:30:00.000Z", "2026-10"),  # 00:30 BST on 1 October
]


@pytest.mark.parametrize("tapped_at, month", WARD_MONTHS)
def test_a_ward_month_is_the_london_month(tapped_at, month):
    assert ward_month(tapped_at, ZoneInfo("Europe/London")) == month


@pytest.mark.parametrize("tapped_at, month", WARD_MONTHS)
def test_reading_a_ward_month_finds_the_tap_in_whichever_journal_holds_it(journal, tmp_path, tapped_at, month):
    journal.add(*record(1, at=tapped_at))
    london = ZoneInfo("Europe/London")
    assert [r["tapped_at"] for r in read_ward_month(tmp_path, "7B", month, london)] == [tapped_at]
    first = datetime.strptime(month, "%Y-%m")
    for other in ((first - timedelta(days=1)).strftime("%Y-%m"), (first + timedelta(days=31)).strftime("%Y-%m")):
        assert list(read_ward_month(tmp_path, "7B", other, london)) == [], other


def test_a_failed_batch_is_logged_once_by_a_waiting_rating_not_by_the_writer_thread(tmp_path, caplog):
    def full_disk(write, records):
        time.sleep(0.02)  # long enough for all three to share the batch
        raise OSError(28, "No space left on device")

    journal = on_slow_disk(RatingJournal(tmp_path), full_disk)
    refused = []

    def tap(i):
        try:
            journal.add(*record(i))
        except StorageUnavailable:
            refused.append(i)

    threads = [threading.Thread(target=tap, args=(i,), name=f"tablet-{i}") for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    journal.close()
    assert sorted(refused) == [0, 1, 2]
    logged = [r for r in caplog.records if "could not store" in r.getMessage()]
    assert len(logged) <= 2 and logged  # once per failed batch: the first tap may have gone alone
    assert all(r.threadName.startswith("tablet-") for r in logged)  # under eventlet, logging's locks are green
