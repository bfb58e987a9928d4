"""The light client worker for the server-bound rows: asyncio kiosks tapping back to back, a round per 'go'.

    python -m server.tools.bench.ingest      (spec on stdin, one JSON line per answer on stdout)

A thread per python-socketio Client costs the client more CPU per rating than the bare stack costs
the server, so the threaded worker (load.py) measured its own limits. Here each kiosk is an asyncio
task on an AsyncClient, `call` waiting for each ack as a tablet does, and the parent spreads the
kiosks over several of these processes so that none of them is the bottleneck. The parent reads the
server's CPU counters between two instants; this worker returns when each ack came, so the parent
counts exactly the ratings acked between them.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import threading
import time

import socketio

from kiosk.client import make_rating
from server.tools.bench.load import random_score
from shared.protocol import KIOSK_NAMESPACE, RATING, STAFF_NAMESPACE


class AsyncKiosks:
    """Kiosk sockets on one event loop; `acked` holds (when acked, ms waited) for the round."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.kiosks: list[socketio.AsyncClient] = []
        self.screens: list[socketio.AsyncClient] = []
        self.acked: list[tuple[float, float]] = []
        self.errors: list[str] = []
        self.tapping = asyncio.Event()

    async def connect(self) -> None:
        """Open every kiosk (and idle ward screen) socket of the spec, a few at a time."""
        gate = asyncio.Semaphore(20)

        async def one(token: str, namespace: str = KIOSK_NAMESPACE) -> socketio.AsyncClient:
            client = socketio.AsyncClient(reconnection=False)
            async with gate:
                await client.connect(self.spec["url"], namespaces=[namespace], auth={"token": token},
                                     transports=["websocket"], wait_timeout=30)
            return client

        self.kiosks = list(await asyncio.gather(*(one(token) for token in self.spec["kiosks"])))
        self.screens = list(await asyncio.gather(*(one(token, STAFF_NAMESPACE) for token in self.spec.get("screens", []))))

    async def tap_until_stopped(self, kiosk: socketio.AsyncClient) -> None:
        """Tap, wait for the ack, tap again (at once, or after a random gap of mean 'every' s), while the round lasts."""
        rng, every = random.Random(), self.spec.get("every", 0)
        while self.tapping.is_set():
            if every:  # Poisson arrivals: each kiosk waits an exponential gap
                await asyncio.sleep(rng.expovariate(1 / every))
                if not self.tapping.is_set():
                    break
            sent = time.perf_counter()
            try:
                ack = await kiosk.call(RATING, make_rating(random_score(rng)), namespace=KIOSK_NAMESPACE, timeout=30)
            except socketio.exceptions.SocketIOError as exc:
                self.errors.append(type(exc).__name__)
                continue
            acked = time.perf_counter()
            if isinstance(ack, dict) and ack.get("ok"):
                self.acked.append((acked, round((acked - sent) * 1000, 3)))
            else:
                self.errors.append(str(ack.get("error") if isinstance(ack, dict) else ack))

    async def round(self) -> dict:
        """Every kiosk taps until 'stop'; then what was acked and when."""
        self.acked, self.errors = [], []
        self.tapping.set()
        await asyncio.gather(*(self.tap_until_stopped(k) for k in self.kiosks))
        return {"acked": self.acked, "error_count": len(self.errors), "errors": self.errors[:20]}


def _say(message: dict) -> None:
    """One JSON line to the parent."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def serve_rounds(spec: dict) -> None:
    """Connect, say ready, then a round per 'go' ended by 'stop'; end of input ends the process."""
    kiosks = AsyncKiosks(spec)
    await kiosks.connect()
    _say({"ready": True, "sockets": len(kiosks.kiosks) + len(kiosks.screens)})
    loop, commands = asyncio.get_running_loop(), asyncio.Queue()

    def read_commands() -> None:
        """stdin on a thread: the event loop must never block on the parent."""
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, line.strip())
        os._exit(0)  # the parent is gone or done: sockets close with the process

    threading.Thread(target=read_commands, daemon=True).start()
    while True:
        command = await commands.get()
        if command == "go":
            round_ = asyncio.create_task(kiosks.round())
        elif command == "stop":
            kiosks.tapping.clear()
            _say(await round_)


def worker_main() -> None:
    """Run one async kiosk worker: spec on stdin, then rounds."""
    asyncio.run(serve_rounds(json.loads(sys.stdin.readline())))


if __name__ == "__main__":
    worker_main()
