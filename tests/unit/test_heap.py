"""The heap keeper freezes what outlives full collections and hands it back once it has grown by half."""

from __future__ import annotations

import gc
import weakref

import pytest

from server.web.heap import HOLD_AT_MOST_S, HeapKeeper


class Cycle:
    """An object that only the cycle collector can free: it refers to itself."""

    def __init__(self):
        self.me = self


@pytest.fixture
def keeper():
    # Only the tests' own gc.collect() calls: an automatic full collection mid-test would thaw early.
    gc.disable()
    keeper = HeapKeeper()
    keeper.start()
    yield keeper
    keeper.stop()
    gc.enable()


def grow_frozen_set_by(factor: float, keeper: HeapKeeper) -> list:
    """Long-lived objects enough to grow the frozen set past `factor` of the last full walk."""
    return [[] for _ in range(int(keeper.walked * factor) + 1000)]  # lists: always tracked, unlike empty dicts


def test_survivors_of_a_full_collection_are_frozen(keeper):
    frozen = gc.get_freeze_count()
    assert frozen > 0
    kept = [[] for _ in range(1000)]
    gc.collect()
    assert gc.get_freeze_count() >= frozen + len(kept)


def test_frozen_cycles_stay_until_the_frozen_set_has_grown_by_half(keeper):
    cycle = Cycle()
    gc.collect()  # the cycle is alive now, so it is frozen
    gone = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert gone() is not None  # frozen garbage: walked past

    kept = grow_frozen_set_by(0.6, keeper)
    gc.collect()  # the frozen set grew by more than half: handed back
    assert gc.get_freeze_count() == 0
    gc.collect()  # a walk over everything
    assert gone() is None
    assert gc.get_freeze_count() >= len(kept)


def test_a_frozen_set_older_than_the_longest_hold_is_handed_back(keeper, monkeypatch):
    gc.collect()
    assert gc.get_freeze_count() > 0
    monkeypatch.setattr("server.web.heap.time.monotonic", lambda: keeper.walked_at + HOLD_AT_MOST_S + 1)
    gc.collect()
    assert gc.get_freeze_count() == 0


def test_small_growth_keeps_the_frozen_set(keeper):
    kept = grow_frozen_set_by(0.1, keeper)
    gc.collect()
    assert gc.get_freeze_count() >= keeper.walked + len(kept) - 1000
    assert not keeper.walks_everything


def test_the_keeper_counts_what_it_froze_without_walking_the_frozen_set(keeper, monkeypatch):
    assert keeper.frozen == pytest.approx(gc.get_freeze_count(), rel=0.01)
    real_count = gc.get_freeze_count

    def walks_the_frozen_set():
        raise AssertionError("gc.get_freeze_count() walks every frozen object: millions, after each full collection")

    monkeypatch.setattr(gc, "get_freeze_count", walks_the_frozen_set)
    kept = grow_frozen_set_by(0.1, keeper)
    gc.collect()
    monkeypatch.setattr(gc, "get_freeze_count", real_count)
    assert keeper.frozen == pytest.approx(gc.get_freeze_count(), rel=0.01)
    assert keeper.frozen >= keeper.walked + len(kept)
    assert not keeper.walks_everything
