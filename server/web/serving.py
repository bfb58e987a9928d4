"""How the ward server listens: eventlet's own WSGI server in production, werkzeug's threads otherwise.

eventlet is imported only when chosen: the entry point has already monkey-patched for it by then.
"""

from __future__ import annotations

import socket


def offload_for(async_mode: str):
    """How blocking disk work leaves the event loop: a real OS thread under eventlet."""
    if async_mode == "eventlet":
        from eventlet import tpool

        return tpool.execute
    return None


def no_delay(listener) -> None:
    """Send small events at once. Ward screens only listen, so with Nagle's algorithm each event would
    wait for the screen's delayed ACK (up to 40 ms). Accepted sockets inherit the option on Linux."""
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def listen_and_serve(app, host: str, port: int, async_mode: str, on_listening) -> None:
    """Bind (port 0 picks a free one), report the bound port, then serve until stopped."""
    if async_mode == "eventlet":
        import eventlet
        import eventlet.wsgi

        sock = eventlet.listen((host, port))
        no_delay(sock)
        on_listening(sock.getsockname()[1])
        eventlet.wsgi.server(sock, app, log_output=False, max_size=10000)
    else:
        from werkzeug.serving import make_server

        server = make_server(host, port, app, threaded=True)
        no_delay(server.socket)
        on_listening(server.server_port)
        server.serve_forever()
