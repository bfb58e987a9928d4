"""A Python kiosk's TLS connection when its reader and writer threads meet on it, as the Socket.IO client's do.

Each connection runs the first moments of a kiosk's websocket through the trust's proxy: the server's
first message is read, then a reader thread waits for the answer while the main thread sends the
request. On a bare TLS socket now and then the read sees the connection as closed (27 of 1,000 here).
"""

from __future__ import annotations

import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from kiosk.tls import SerialTLS
from server.tools.nginx import self_signed_certificate

CONNECTIONS = 2000  # over four threads at once, as several screens' clients would be


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """A TLS server on loopback that says "open", then answers each request once, like engine.io's start."""
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)

    def answer(conn: socket.socket) -> None:
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"open")
                tls.sendall(b"answer to " + tls.recv(100))
                tls.recv(100)  # until the client closes
        except OSError:
            pass

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname(), cert
    listener.close()


def first_answer(address, cert) -> bytes | Exception:
    """Open a connection as a kiosk does and return what its reader thread got back for the request."""
    context = ssl.create_default_context(cafile=str(cert))
    raw = socket.create_connection(address)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tls = context.wrap_socket(raw, server_hostname="localhost")
    tls.settimeout(5)
    connection = SerialTLS(tls)
    got: list[bytes | Exception] = []
    try:
        assert connection.recv(100) == b"open"

        def read() -> None:
            try:
                got.append(connection.recv(100))
            except Exception as exc:  # noqa: BLE001  (what the kiosk's reader would have died of)
                got.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        connection.send(b"connect")
        reader.join(10)
    finally:
        connection.close()
    return got[0] if got else TimeoutError("no answer")


def test_every_connection_gets_its_answer_while_reader_and_writer_share_it(tls_server):
    address, cert = tls_server
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: first_answer(address, cert), range(CONNECTIONS)))
    lost = [a for a in answers if a != b"answer to connect"]
    assert not lost, f"{len(lost)} of {CONNECTIONS} connections lost their answer, e.g. {lost[0]!r}"


def test_a_read_with_nothing_to_read_times_out_as_a_blocking_socket_would(tls_server):
    address, cert = tls_server
    context = ssl.create_default_context(cafile=str(cert))
    connection = SerialTLS(context.wrap_socket(socket.create_connection(address), server_hostname="localhost"))
    try:
        assert connection.recv(100) == b"open"
        connection.settimeout(0.2)
        with pytest.raises(TimeoutError):
            connection.recv(100)  # the server waits for a request that never comes
        connection.send(b"late")
        connection.settimeout(5)
        assert connection.recv(100) == b"answer to late"
    finally:
        connection.close()
