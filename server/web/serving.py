"""How the ward server listens: eventlet's own WSGI server in production, werkzeug's threads otherwise.

eventlet is imported only when chosen: the entry point has already monkey-patched for it by then.
"""

from __future__ import annotations

import collections
import logging
import socket
import sys

log = logging.getLogger(__name__)

# How long the writer thread may wait for the GIL while the event loop is busy. It needs it back after
# every write and fsync, one per ward's file: at CPython's 5 ms a storm's batch over ten wards took up
# to 290 ms to write, and a tap waited 153 ms at the median in the rating handler (4 ms batches at 1 ms).
WRITER_GIL_WAIT_S = 0.001


class GreenOffload:
    """Blocking disk work under eventlet: tpool for one-off writes, native threads for the rating journal's writer.

    tpool costs one round trip through its queue, its pool of 20 threads and a socket pair per call.
    The journal instead keeps one native writer thread (`thread`, `condition`) and wakes the waiting
    greenlets with one byte down a pipe per batch (`event`), which the hub reads itself: the pipe stays
    in its poll set, so a batch costs no greenlet of its own and no poll registration (a greenlet
    reading the pipe cost a lone rating's trip through the journal about 30 µs more CPU: 279 against 249).
    """

    def __init__(self) -> None:
        from eventlet import hubs, patcher

        self._native = patcher.original("threading")
        self._os = patcher.original("os")
        self._ready: collections.deque = collections.deque()  # green events to send; append and popleft are thread-safe
        self._wake_r, self._wake_w = self._os.pipe()
        self._os.set_blocking(self._wake_r, False)
        hub = self._hub = hubs.get_hub()
        hub.add(hub.READ, self._wake_r, self._deliver, self._pipe_failed, lambda: None)
        sys.setswitchinterval(WRITER_GIL_WAIT_S)

    def __call__(self, fn, *args):
        from eventlet import tpool

        return tpool.execute(fn, *args)

    def thread(self, target, name: str) -> None:
        self._native.Thread(target=target, name=name, daemon=True).start()

    def condition(self):
        return self._native.Condition()

    def event(self) -> ThreadSetEvent:
        return ThreadSetEvent(self)

    def soon(self, fn) -> None:
        """Run `fn` after the greenlets ready to run in this turn of the loop, or now if none is."""
        due = self._hub.timers  # the hub's heap of (when, timer): a ready greenlet is a timer due now
        if due and due[0][0] <= self._hub.clock():
            self._hub.schedule_call_global(0, fn)
        else:
            fn()

    def send_from_thread(self, event) -> None:
        """Called on a native thread: have the hub send this green event."""
        self._ready.append(event)
        self._os.write(self._wake_w, b"\0")

    def _deliver(self, _fd: int) -> None:
        """Run by the hub when the pipe has bytes: send every green event the writer thread has set."""
        try:
            self._os.read(self._wake_r, 4096)
        except BlockingIOError:  # an earlier call read these bytes and sent the events they announced
            pass
        while self._ready:
            self._ready.popleft().send()

    @staticmethod
    def _pipe_failed(exc: BaseException) -> None:
        log.error("the journal's wake-up pipe was closed under the hub: %s", exc)


class ThreadSetEvent:
    """A green event that a native thread sets: greenlets wait on it as usual."""

    def __init__(self, offload: GreenOffload) -> None:
        from eventlet.event import Event

        self._offload = offload
        self._event = Event()

    def set(self) -> None:
        self._offload.send_from_thread(self._event)

    def wait(self, timeout: float | None = None):
        return self._event.wait(timeout)


# Sockets in their opening handshake at once. The hub runs every ready greenlet in turn, so with all
# 2,000 of a site's sockets handshaking together each step of a tap's ack (handler, journal, wake-up,
# send) waited a whole round of them: no ack for the first 5 s of a storm. The rest wait in the
# listen queue (BACKLOG) or just accepted, costing nothing.
HANDSHAKES_AT_ONCE = 64
HANDSHAKE_KEY = "wardpulse.handshake"  # in a new socket's WSGI environ: call it once its namespace is connected
HANDSHAKE_LIMIT_S = 5.0  # a socket that never connects a namespace gives its place up after this


class HandshakeGate:
    """WSGI middleware (eventlet): at most `at_once` new Socket.IO websockets between accept and namespace connect."""

    def __init__(self, app, at_once: int = HANDSHAKES_AT_ONCE) -> None:
        from eventlet.semaphore import Semaphore

        self.app = app
        self.places = Semaphore(at_once)

    def __call__(self, environ, start_response):
        if not _new_websocket(environ):
            return self.app(environ, start_response)
        import eventlet

        self.places.acquire()
        done = environ[HANDSHAKE_KEY] = _Once(self.places.release)
        limit = eventlet.spawn_after(HANDSHAKE_LIMIT_S, done)
        try:
            return self.app(environ, start_response)  # for a websocket: returns when it closes
        finally:
            limit.cancel()
            done()


class _Once:
    """Call `fn` the first time only."""

    def __init__(self, fn) -> None:
        self.fn = fn

    def __call__(self) -> None:
        fn, self.fn = self.fn, None
        if fn is not None:
            fn()


def _new_websocket(environ: dict) -> bool:
    """A websocket opened straight away (no polling session before it): its namespace connect comes on it."""
    return environ.get("HTTP_UPGRADE", "").lower() == "websocket" and "sid=" not in environ.get("QUERY_STRING", "")


def handshake_done(environ: dict) -> None:
    """A socket's namespace is connected (or refused): the next waiting socket may start its handshake."""
    done = environ.get(HANDSHAKE_KEY)
    if done is not None:
        done()


def offload_for(async_mode: str):
    """How blocking disk work leaves the event loop: a real OS thread under eventlet."""
    if async_mode == "eventlet":
        return GreenOffload()
    return None


def no_delay(listener) -> None:
    """Send small events at once. Ward screens only listen, so with Nagle's algorithm each event would
    wait for the screen's delayed ACK (up to 40 ms). Accepted sockets inherit the option on Linux."""
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# Connections waiting to be accepted. After a restart every tablet and screen of the site connects at
# once: with eventlet's default of 50 the kernel dropped about 9,700 connection attempts while 2,000
# sockets reconnected, each retried after 1, 2, 4, 8 s, so the last was back after 21 s with the server
# 41 % busy. The kernel caps it at net.core.somaxconn (4,096 by default since Linux 5.4).
BACKLOG = 4096


def listen_and_serve(app, host: str, port: int, async_mode: str, on_listening, gate: bool = True) -> None:
    """Bind (port 0 picks a free one), report the bound port, then serve until stopped.
    `gate`: new websockets handshake HANDSHAKES_AT_ONCE at a time (eventlet); its connect handlers must call handshake_done."""
    if async_mode == "eventlet":
        import eventlet
        import eventlet.wsgi

        sock = eventlet.listen((host, port), backlog=BACKLOG)
        no_delay(sock)
        on_listening(sock.getsockname()[1])
        eventlet.wsgi.server(sock, HandshakeGate(app) if gate else app, log_output=False, max_size=10000)
    else:
        from werkzeug.serving import make_server

        server = make_server(host, port, app, threaded=True)
        server.socket.listen(BACKLOG)  # werkzeug listens with 128; listening again only raises the limit
        no_delay(server.socket)
        on_listening(server.server_port)
        server.serve_forever()
