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
from shared.protocol import KIOSK_NAMESPACE, RATING, SNAPSHOT, STAFF_NAMESPACE


class AsyncKiosks:
    """Kiosk sockets on one event loop; `acked` holds (when acked, ms waited) for the round."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.kiosks: list[socketio.AsyncClient] = []
        self.screens: list[socketio.AsyncClient] = []
        self.acked: list[tuple[float, float]] = []
        self.errors: list[str] = []
        self.tapping = asyncio.Event()
        self.snapshots: list[float] = []  # when a ward screen got a snapshot
        self.gone: dict[socketio.AsyncClient, asyncio.Event] = {}  # set when that socket dropped
        self.outbox_done: list[float] = []
        self.unanswered: list[tuple[float, float]] = []  # (when given up, ms waited): taps with no ack in time

    async def connect(self, at_once: int = 20) -> None:
        """Open every kiosk (and idle ward screen) socket of the spec, `at_once` at a time."""
        gate = asyncio.Semaphore(at_once)

        async def one(token: str, namespace: str = KIOSK_NAMESPACE) -> socketio.AsyncClient:
            async with gate:
                return await self.open(token, namespace)

        self.kiosks = list(await asyncio.gather(*(one(token) for token in self.spec["kiosks"])))
        self.screens = list(await asyncio.gather(*(one(token, STAFF_NAMESPACE) for token in self.spec.get("screens", []))))

    async def open(self, token: str, namespace: str = KIOSK_NAMESPACE) -> socketio.AsyncClient:
        """One socket; a ward screen notes when each snapshot arrives."""
        client = socketio.AsyncClient(reconnection=False)
        if namespace == STAFF_NAMESPACE:
            client.on(SNAPSHOT, lambda *_: self.snapshots.append(time.perf_counter()), namespace=namespace)
        gone = asyncio.Event()  # a tablet sees its socket drop at once and stops waiting for that ack
        client.on("disconnect", lambda *_: gone.set(), namespace=namespace)
        self.gone[client] = gone
        await client.connect(self.spec["url"], namespaces=[namespace], auth={"token": token},
                             transports=["websocket"], wait_timeout=30)
        return client

    async def reopen(self, index: int) -> socketio.AsyncClient | None:
        """A tablet whose server went away: try again every 20 ms until back (or the round ends)."""
        while self.tapping.is_set():
            try:
                return await self.open(self.spec["kiosks"][index])
            except socketio.exceptions.SocketIOError:
                await asyncio.sleep(0.02)
        return None

    async def tap_until_stopped(self, index: int) -> None:
        """Tap, wait for the ack, tap again (at once, or after a random gap of mean 'every' s), while the round lasts."""
        rng, every, kiosk = random.Random(), self.spec.get("every", 0), self.kiosks[index]
        while self.tapping.is_set():
            if every:  # Poisson arrivals: each kiosk waits an exponential gap
                await asyncio.sleep(rng.expovariate(1 / every))
                if not self.tapping.is_set():
                    break
            sent = time.perf_counter()
            try:
                ack = await self.call(kiosk, make_rating(random_score(rng)))
            except socketio.exceptions.SocketIOError as exc:
                self.errors.append(type(exc).__name__)
                if isinstance(exc, socketio.exceptions.TimeoutError):
                    self.unanswered.append((time.perf_counter(), round((time.perf_counter() - sent) * 1000, 3)))
                if self.spec.get("reconnect"):  # the storm's probe: a tablet tapping through a restart
                    await kiosk.disconnect()
                    kiosk = await self.reopen(index)
                    if kiosk is None:
                        break
                continue
            acked = time.perf_counter()
            if isinstance(ack, dict) and ack.get("ok"):
                self.acked.append((acked, round((acked - sent) * 1000, 3)))
            else:
                self.errors.append(str(ack.get("error") if isinstance(ack, dict) else ack))

    async def call(self, kiosk: socketio.AsyncClient, rating: dict):
        """Send a rating and wait for its ack, or until the socket drops (SocketIOError either way)."""
        acked = asyncio.ensure_future(kiosk.call(RATING, rating, namespace=KIOSK_NAMESPACE, timeout=self.spec.get("ack_timeout", 30)))
        dropped = asyncio.ensure_future(self.gone[kiosk].wait())
        await asyncio.wait({acked, dropped}, return_when=asyncio.FIRST_COMPLETED)
        dropped.cancel()
        if not acked.done():
            acked.cancel()
            raise socketio.exceptions.DisconnectedError("the server went away")
        return acked.result()

    async def storm(self) -> dict:
        """After a restart: every socket of this worker at once, then each tablet sends its outbox."""
        self.snapshots, self.errors = [], []
        back: list[float] = []
        resent: list[tuple[float, float]] = []  # (sent, acked) of each outbox tap
        outbox = self.spec.get("outbox", 0)

        async def kiosk(token: str) -> None:
            client = await self.open(token)
            back.append(time.perf_counter())
            for _ in range(outbox):  # the taps it kept while the server was down, each resent until acked
                sent = time.perf_counter()
                ack = await client.call(RATING, make_rating(random_score(random)), namespace=KIOSK_NAMESPACE, timeout=30)
                resent.append((sent, time.perf_counter()))
                if not (isinstance(ack, dict) and ack.get("ok")):
                    self.errors.append(str(ack))
            self.outbox_done.append(time.perf_counter())

        async def screen(token: str) -> None:
            await self.open(token, STAFF_NAMESPACE)
            back.append(time.perf_counter())

        self.outbox_done = []
        results = await asyncio.gather(*(kiosk(t) for t in self.spec["kiosks"]), *(screen(t) for t in self.spec.get("screens", [])),
                                       return_exceptions=True)
        self.errors += [type(r).__name__ for r in results if isinstance(r, BaseException)]
        await asyncio.sleep(0.5)  # a snapshot may trail its connect
        return {"back": back, "outbox_done": self.outbox_done, "snapshots": self.snapshots, "resent": resent,
                "error_count": len(self.errors), "errors": self.errors[:20]}

    async def round(self) -> dict:
        """Every kiosk taps until 'stop'; then what was acked and when, and when taps went unanswered."""
        self.acked, self.errors, self.unanswered = [], [], []
        self.tapping.set()
        await asyncio.gather(*(self.tap_until_stopped(i) for i in range(len(self.kiosks))))
        return {"acked": self.acked, "unanswered": self.unanswered, "error_count": len(self.errors), "errors": self.errors[:20]}


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
        elif command == "storm":
            _say(await kiosks.storm())


def worker_main() -> None:
    """Run one async kiosk worker: spec on stdin, then rounds."""
    asyncio.run(serve_rounds(json.loads(sys.stdin.readline())))


if __name__ == "__main__":
    worker_main()
