"""One owner per ward, one registry writer at a time, and `serve` refusing to start beside the wrong kind of server."""

from __future__ import annotations

import subprocess
import sys

import pytest

from server.store.atomic import DataDirLock
from server.store.registry import Registry
from server.store.ward_locks import WardLocks, WardTaken, any_ward_held, owner_of


def test_a_ward_has_one_owner_and_a_refused_claim_holds_nothing(tmp_path):
    first = WardLocks(tmp_path, ["7A", "7B"])
    first.claim()
    first.announce({"pid": 4242, "local_url": "http://127.0.0.1:5001"})
    second = WardLocks(tmp_path, ["7C", "7B"])
    with pytest.raises(WardTaken, match="ward 7B is already served by another WardPulse process .pid 4242."):
        second.claim()
    third = WardLocks(tmp_path, ["7C"])
    third.claim()  # 7C was let go when the claim of 7C and 7B failed
    assert owner_of(tmp_path, "7A") == {"pid": 4242, "local_url": "http://127.0.0.1:5001"}
    assert any_ward_held(tmp_path) == "7A"
    first.release()
    third.release()
    assert any_ward_held(tmp_path) is None
    assert owner_of(tmp_path, "7A") is None, "a stopped owner leaves no address behind"


def test_ward_processes_share_the_data_dir_lock_that_keeps_a_plain_server_out(tmp_path):
    ward_a, ward_b = DataDirLock(tmp_path), DataDirLock(tmp_path)
    assert ward_a.try_acquire(shared=True) and ward_b.try_acquire(shared=True)
    assert not DataDirLock(tmp_path).try_acquire(), "a plain server (or a CLI write) waits for every ward process"
    ward_a.release()
    ward_b.release()
    plain = DataDirLock(tmp_path)
    assert plain.try_acquire()
    assert not DataDirLock(tmp_path).try_acquire(shared=True), "and a ward process waits for the plain server"
    plain.release()


def test_two_processes_changing_the_registry_never_undo_each_other(tmp_path):
    one, other = Registry(tmp_path, shared=True), Registry(tmp_path, shared=True)
    one.add_ward("7A", "Ward 7A")
    other.add_ward("7B", "Ward 7B")  # made from the file as `one` left it, not from its own stale copy
    one.add_kiosk("7B", "bay")
    assert sorted(w["code"] for w in Registry(tmp_path).wards()) == ["7A", "7B"]
    assert [k["label"] for k in Registry(tmp_path).kiosks("7B")] == ["bay"]


def test_each_change_is_announced_after_it_is_saved(tmp_path):
    registry, told = Registry(tmp_path, shared=True), []
    registry.after_change(lambda: told.append(len(Registry(tmp_path).wards())))
    registry.add_ward("7A", "Ward 7A")
    with pytest.raises(ValueError):
        registry.add_ward("7A", "Ward 7A again")
    assert told == [1], "announced once, with the change already on disk; a refused change is not announced"


def serve(data_dir, *args):
    return subprocess.run([sys.executable, "-m", "server", "--data-dir", str(data_dir), "serve", "--port", "0", *args],
                          capture_output=True, text=True, timeout=60)


def test_serve_refuses_a_ward_another_process_owns_and_a_plain_server_beside_ward_processes(tmp_path):
    held = DataDirLock(tmp_path)
    assert held.try_acquire(shared=True)
    owner = WardLocks(tmp_path, ["7B"])
    owner.claim()
    queue = ("--message-queue", "redis://127.0.0.1:1/0")
    refused = serve(tmp_path, "--wards", "7A,7B", *queue)
    assert refused.returncode == 1 and "ward 7B is already served by another WardPulse process" in refused.stderr
    plain = serve(tmp_path)
    assert plain.returncode == 1 and "ward processes (serve --wards) are using" in plain.stderr
    owner.release()
    held.release()


@pytest.mark.parametrize("args, message", [
    (("--wards", "7A"), "--wards and --message-queue go together"),
    (("--message-queue", "redis://127.0.0.1:1/0"), "--wards and --message-queue go together"),
    (("--wards", "7A", "--message-queue", "amqp://x"), "must be a Redis address"),
    (("--wards", "7a,no way", "--message-queue", "redis://127.0.0.1:1/0"), "--wards takes ward codes"),
])
def test_serve_says_plainly_what_is_wrong_with_its_ward_options(tmp_path, args, message):
    refused = serve(tmp_path, *args)
    assert refused.returncode == 2 and message in refused.stderr, refused.stderr
