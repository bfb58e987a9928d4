"""server/web/serving.py: under eventlet the rating journal writes on one native thread and wakes greenlets per batch."""

from __future__ import annotations

import sys
import threading
import time
import warnings

from server.store.journal import RatingJournal, read_ratings
from server.web.serving import GreenOffload, HandshakeGate, handshake_done

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


def test_ratings_taken_in_during_one_turn_of_the_event_loop_are_written_as_one_batch(tmp_path):
    # Woken by the first of them, the writer thread took the GIL within a millisecond and wrote a
    # batch or two of whatever had arrived: more wake-ups, more fsyncs, more CPU for each rating.
    journal = RatingJournal(tmp_path, GreenOffload())
    batches, write = [], journal._write_batch
    journal._write_batch = lambda records: (batches.append(len(records)), write(records))
    assert eventlet.spawn(journal.add, *rating(0)).wait() is True
    eventlet.sleep(0.05)  # the writer thread is asleep again
    taps = [eventlet.spawn(journal.add, *rating(i)) for i in range(1, 301)]  # all ready to run in the same turn
    assert [tap.wait() for tap in taps] == [True] * 300
    journal.close()
    assert batches == [1, 300]


def test_a_lone_rating_wakes_the_writer_at_once_and_a_turn_full_of_them_once_they_have_all_run():
    offload, order = GreenOffload(), []
    offload.soon(lambda: order.append("lone"))  # nothing else ready: no turn of the loop to wait for
    assert order == ["lone"]

    def first():
        offload.soon(lambda: order.append("writer woken"))
        order.append("first")

    eventlet.spawn(first)
    eventlet.spawn(order.append, "second")  # ready in the same turn
    eventlet.sleep(0.01)
    assert order == ["lone", "first", "second", "writer woken"]


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


def new_socket(n: int) -> dict:
    """The WSGI environ of a websocket opened straight away, as tablets and screens open theirs."""
    return {"HTTP_UPGRADE": "websocket", "QUERY_STRING": f"EIO=4&transport=websocket&n={n}", "PATH_INFO": "/socket.io/"}


def test_only_so_many_new_sockets_handshake_at_once_and_each_gives_its_place_up_once_connected():
    handshaking, most = set(), []

    def app(environ, start_response):  # a websocket: connects its namespace, then lives on
        handshaking.add(id(environ))
        most.append(len(handshaking))
        eventlet.sleep(0.002)
        handshaking.discard(id(environ))
        handshake_done(environ)
        eventlet.sleep(0.2)
        return []

    gate = HandshakeGate(app, at_once=4)
    started = time.monotonic()
    sockets = [eventlet.spawn(gate, new_socket(n), None) for n in range(40)]
    for socket in sockets:
        socket.wait()
    assert max(most) == 4 and len(most) == 40
    assert time.monotonic() - started < 1.0  # places freed at namespace connect, not when the socket closes


def test_a_socket_that_never_connects_gives_its_place_up_and_other_requests_never_wait(monkeypatch):
    monkeypatch.setattr("server.web.serving.HANDSHAKE_LIMIT_S", 0.1)
    served = []

    def app(environ, start_response):
        served.append(environ["QUERY_STRING"])
        eventlet.sleep(0.3 if "silent" in environ["QUERY_STRING"] else 0)  # never calls handshake_done
        return []

    gate = HandshakeGate(app, at_once=1)
    silent = eventlet.spawn(gate, dict(new_socket(0), QUERY_STRING="EIO=4&transport=websocket&silent"), None)
    eventlet.sleep(0)
    page = eventlet.spawn(gate, {"PATH_INFO": "/ward/7B", "QUERY_STRING": ""}, None)
    upgrade = eventlet.spawn(gate, dict(new_socket(1), QUERY_STRING="EIO=4&transport=websocket&sid=abc"), None)
    page.wait(), upgrade.wait()
    assert served[1:] == ["", "EIO=4&transport=websocket&sid=abc"]  # not gated: neither waited for the silent socket
    started = time.monotonic()
    eventlet.spawn(gate, new_socket(2), None).wait()
    assert time.monotonic() - started < 0.25  # the silent socket gave its place up after 0.1 s, not at its close
    silent.wait()



def test_under_eventlet_the_writer_thread_waits_at_most_a_millisecond_for_the_gil():
    # Timing the writer against a busy loop in a unit test was too noisy on a shared box (the storm
    # in `wardpulse bench --storm` measures the effect): here, that the server asks for it.
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)  # CPython's own
        GreenOffload()
        assert sys.getswitchinterval() <= 0.001
    finally:
        sys.setswitchinterval(before)
