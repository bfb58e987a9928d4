"""How the ward server listens: eventlet's own WSGI server in production, werkzeug's threads otherwise.

eventlet is imported only when chosen: the entry point has already monkey-patched for it by then.
"""

from __future__ import annotations

import collections
import socket


class GreenOffload:
    """Blocking disk work under eventlet: tpool for one-off writes, native threads for the rating journal's writer.

    tpool costs one round trip through its queue, its pool of 20 threads and a socket pair per call.
    The journal instead keeps one native writer thread (`thread`, `condition`) and wakes the waiting
    greenlets with one byte down a pipe per batch (`event`), read by one greenlet in the hub.
    """

    def __init__(self) -> None:
        import eventlet
        from eventlet import patcher

        self._native = patcher.original("threading")
        self._os = patcher.original("os")
        self._ready: collections.deque = collections.deque()  # green events to send; append and popleft are thread-safe
        self._wake_r, self._wake_w = self._os.pipe()
        eventlet.spawn(self._deliver)

    def __call__(self, fn, *args):
        from eventlet import tpool

        return tpool.execute(fn, *args)

    def thread(self, target, name: str) -> None:
        self._native.Thread(target=target, name=name, daemon=True).start()

    def condition(self):
        return self._native.Condition()

    def event(self) -> ThreadSetEvent:
        return ThreadSetEvent(self)

    def send_from_thread(self, event) -> None:
        """Called on a native thread: have the hub send this green event."""
        self._ready.append(event)
        self._os.write(self._wake_w, b"\0")

    def _deliver(self) -> None:
        from eventlet.green import os as green_os  # its read waits in the hub, not the whole thread

        while True:
            green_os.read(self._wake_r, 4096)
            while self._ready:
                self._ready.popleft().send()


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


def listen_and_serve(app, host: str, port: int, async_mode: str, on_listening) -> None:
    """Bind (port 0 picks a free one), report the bound port, then serve until stopped."""
    if async_mode == "eventlet":
        import eventlet
        import eventlet.wsgi

        sock = eventlet.listen((host, port), backlog=BACKLOG)
        no_delay(sock)
        on_listening(sock.getsockname()[1])
        eventlet.wsgi.server(sock, app, log_output=False, max_size=10000)
    else:
        from werkzeug.serving import make_server

        server = make_server(host, port, app, threaded=True)
        server.socket.listen(BACKLOG)  # werkzeug listens with 128; listening again only raises the limit
        no_delay(server.socket)
        on_listening(server.server_port)
        server.serve_forever()
