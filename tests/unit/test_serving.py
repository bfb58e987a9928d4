"""server/web/serving.py: under eventlet the rating journal writes on one native thread and wakes greenlets per batch."""

from __future__ import annotations

import threading
import time
import warnings

from server.store.journal import RatingJournal, read_ratings
from server.web.serving import GreenOffload

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # eventlet announces its maintenance mode on import (README, "Async mode")
    import eventlet


def rating(i: int) -> tuple[dict, dict]:
    fields = {"id": f"00000000-0000-4000-8000-{i:012d}", "score": "good", "tapped_at": "2026-11-26T09:00:00.000Z",
              "comment": None, "lang": None, "follow_up": None}
    return dict(fields, ward="7B", kiosk_id="k-1", channel="kiosk", received_at=fields["tapped_at"], misuse=False), fields


def test_greenlets_share_one_native_writer_thread_and_lose_nothing(tmp_path):
    journal = RatingJournal(tmp_path, GreenOffload())
    writers, batches, write = set(), [], journal._write_batch

    def slow_disk(records):  # a 5 ms fsync, as on a real disk
        writers.add(threading.get_ident())
        batches.append(len(records))
        time.sleep(0.005)
        write(records)

    journal._write_batch = slow_disk
    taps = [eventlet.spawn(journal.add, *rating(i)) for i in range(50)]
    assert [tap.wait() for tap in taps] == [True] * 50
    assert eventlet.spawn(journal.add, *rating(7)).wait() is False  # a resend is a duplicate
    journal.close()
    assert len(writers) == 1 and threading.get_ident() not in writers  # one thread of its own, not the event loop
    assert sum(batches) == 50 and len(batches) < 25  # group commit: many ratings per fsync
    assert len(list(read_ratings(tmp_path))) == 50


def test_the_event_loop_keeps_running_while_a_batch_is_written(tmp_path):
    journal = RatingJournal(tmp_path, GreenOffload())
    write = journal._write_batch
    journal._write_batch = lambda records: (time.sleep(0.1), write(records))
    ticks = []

    def meanwhile():
        while len(ticks) < 1000:
            ticks.append(time.monotonic())
            eventlet.sleep(0.002)

    ticker = eventlet.spawn(meanwhile)
    assert eventlet.spawn(journal.add, *rating(1)).wait() is True
    ticker.kill()
    journal.close()
    assert len(ticks) >= 20  # a 100 ms write; the loop ticked every 2 ms meanwhile
