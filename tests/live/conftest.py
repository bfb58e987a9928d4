"""Fixtures of the live tests that run several ward processes on one data dir."""

from __future__ import annotations

import gc

import pytest

from support import SHARD_WARDS, LiveServer, WardShard, wait_until


@pytest.fixture
def shards(tmp_path, redis_server):
    """Processes A, B, C owning wards 7A, 7B, 7C, each listening to Redis."""
    data_dir = tmp_path / "data"
    setup = LiveServer(data_dir)
    for ward in SHARD_WARDS:
        setup.add_ward(ward, f"Ward {ward}")
    processes = [WardShard(data_dir, ward, redis_server.url).start() for ward in SHARD_WARDS]
    for process in processes:
        wait_until(process.hears_others, what=f"ward process {process.ward} to listen to Redis")
    yield processes
    for process in processes:
        process.stop()
    gc.collect()  # a client socket a test left open is reported at that test, not at whichever one runs next
