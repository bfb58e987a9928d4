"""The `wardpulse` entry point: the only place that chooses the async mode and imports eventlet.

eventlet must monkey-patch the standard library before anything else imports it, so the mode
is read from the raw command line first, and only then is the rest of WardPulse imported.
"""

from __future__ import annotations

import sys

ASYNC_MODES = ("eventlet", "threading")


def requested_async_mode(argv: list[str]) -> str | None:
    """The async mode `wardpulse serve` will run in, or None for commands that serve nothing."""
    if "serve" not in argv:
        return None
    for i, arg in enumerate(argv):
        if arg == "--async-mode" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--async-mode="):
            return arg.split("=", 1)[1]
    return "eventlet"


def main() -> None:
    if requested_async_mode(sys.argv[1:]) == "eventlet":
        import warnings

        # eventlet warns on import that it is in maintenance mode; known and chosen (README, "Async mode").
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        import eventlet

        eventlet.monkey_patch()
    from server.cli import cli

    cli()


def offload_for(async_mode: str):
    """How blocking disk work leaves the event loop: a real OS thread under eventlet."""
    if async_mode == "eventlet":
        from eventlet import tpool

        return tpool.execute
    return None


def no_delay(listener) -> None:
    """Send small events at once. Ward screens only listen, so with Nagle's algorithm each event would
    wait for the screen's delayed ACK (up to 40 ms). Accepted sockets inherit the option on Linux."""
    import socket

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


if __name__ == "__main__":
    main()
