"""Short garbage collections on a server that holds thousands of sockets.

CPython's full collection walks every live object with the event loop stopped: with 2,000 sockets
connected that is about 370,000 objects and 150-190 ms, in a bare Flask-SocketIO app too. Nearly all
of them live as long as their socket, so after each full collection the survivors are frozen
(gc.freeze) and the next full collection walks only what is new.

Frozen objects are never collected as cycles, so a closed socket's cycles would stay frozen for
good. Once the frozen set has grown by half since the last walk over everything (sockets have come
and gone, or history grew), it is handed back and the next full collection walks it all again: the
same rule CPython uses for its own oldest generation, one level up. The long pause then falls
where sockets churn, not while they sit connected. It is also handed back after an hour, so a
quiet spell after a busy one does not keep the busy spell's dead cycles.
"""

from __future__ import annotations

import gc
import time

GROWTH_BEFORE_FULL_WALK = 1.5
HOLD_AT_MOST_S = 3600


class HeapKeeper:
    """Freezes what outlives a full collection; hands it back once it has grown by half, or after an hour."""

    def __init__(self, growth: float = GROWTH_BEFORE_FULL_WALK):
        self.growth = growth
        self.walked = 0  # objects frozen after the last collection that walked everything
        self.walked_at = time.monotonic()
        self.walks_everything = True
        self.frozen = 0  # objects frozen now, counted by this keeper

    def start(self) -> None:
        """Freeze what start-up made (code, registry, history) and keep freezing after full collections."""
        gc.collect()
        self._freeze()
        gc.callbacks.append(self._after_collection)

    def stop(self) -> None:
        if self._after_collection in gc.callbacks:
            gc.callbacks.remove(self._after_collection)
        gc.unfreeze()
        self.frozen = 0

    def _after_collection(self, phase: str, info: dict) -> None:
        if phase == "stop" and info["generation"] == 2:
            self._freeze()

    def _freeze(self) -> None:
        # Counted as they are frozen: gc.get_freeze_count() walks the whole frozen set (15 ms at 2 million
        # objects, after every full collection); right after a full collection the unfrozen ones are few.
        # Frozen objects freed since are still counted: the count runs a little high, thawing a little early.
        self.frozen += sum(len(gc.get_objects(generation)) for generation in range(3))
        gc.freeze()
        if self.walks_everything:
            self.walked, self.walked_at, self.walks_everything = self.frozen, time.monotonic(), False
        elif self.frozen > self.walked * self.growth or time.monotonic() - self.walked_at > HOLD_AT_MOST_S:
            gc.unfreeze()
            self.frozen, self.walks_everything = 0, True
