"""A whole site reconnecting at once: connections wait for the busy server instead of being dropped."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import time

from server.web.serving import HANDSHAKE_LIMIT_S, HANDSHAKES_AT_ONCE

from support import kiosk_socket, wait_until

SITE = 600  # more than eventlet's and werkzeug's default queues (50, 128), well under the server's


def connected_while_stopped(server, count: int, wait_s: float = 3.0) -> int:
    """Connect `count` sockets while the server process is stopped (as busy as it can be): how many the kernel queued."""
    waiting, done = selectors.DefaultSelector(), 0
    os.kill(server.proc.pid, signal.SIGSTOP)
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", server.port))
            waiting.register(sock, selectors.EVENT_WRITE)
            sockets.append(sock)
        deadline = time.monotonic() + wait_s  # a dropped attempt is retried by the kernel only after 1 s, then 3 s
        while done < count and time.monotonic() < deadline:
            for key, _ in waiting.select(timeout=0.1):
                waiting.unregister(key.fileobj)
                done += key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
        for sock in sockets:
            sock.close()
        waiting.close()
    return done


def test_a_site_reconnecting_at_once_is_queued_for_the_busy_server_not_dropped(any_live_server):
    # A dropped attempt waits 1, 2, 4, 8 s before it tries again: with the default queue, 2,000 sockets
    # reconnecting after a restart took 21 s to be back (README, Performance).
    assert connected_while_stopped(any_live_server, SITE) == SITE
    wait_until(any_live_server.healthy, 10, "the server to answer /healthz after the burst")


def test_a_socket_gives_its_handshake_place_up_once_its_namespace_is_connected(live_server):
    # Only HANDSHAKES_AT_ONCE sockets handshake together; each connected one must free its place at once,
    # or the socket after them would wait HANDSHAKE_LIMIT_S (5 s) for a place.
    token, connected = live_server.add_kiosk()["token"], []
    try:
        for _ in range(HANDSHAKES_AT_ONCE):
            connected.append(kiosk_socket(live_server.url, token))
        started = time.monotonic()
        connected.append(kiosk_socket(live_server.url, token))
        assert time.monotonic() - started < HANDSHAKE_LIMIT_S / 2
    finally:
        for client in connected:
            client.disconnect()
