"""The bare stack: a Flask-SocketIO app that only acks, the baseline every speed is compared with.

    python -m server.tools.bench.bare --async-mode eventlet [--broadcast]

It imports Flask and Socket.IO only after choosing (and for eventlet, patching) its async mode,
as the `wardpulse` entry point does for the real server.
"""

from __future__ import annotations

import sys

from server.web.serving import listen_and_serve
from shared.protocol import KIOSK_NAMESPACE, RATING, STAFF_NAMESPACE


def bare_main(argv: list[str]) -> None:
    """Serve the bare stack: its kiosk 'rating' handler only acks (with --broadcast it relays to /staff too)."""
    mode = argv[argv.index("--async-mode") + 1] if "--async-mode" in argv else "eventlet"
    broadcast = "--broadcast" in argv
    if mode == "eventlet":
        import warnings

        # Patch before Flask and Socket.IO load, as server/entry.py does for the real server.
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        import eventlet

        eventlet.monkey_patch()
    from flask import Flask
    from flask_socketio import SocketIO

    app = Flask("bare")
    sio = SocketIO(app, async_mode=mode, logger=False, engineio_logger=False)

    @sio.on(RATING, namespace=KIOSK_NAMESPACE)
    def rating(payload=None):
        """A tablet sends one tap; ack it at once."""
        if broadcast:
            sio.emit(RATING, payload, namespace=STAFF_NAMESPACE)
        return {"ok": True}

    @sio.on("connect", namespace=STAFF_NAMESPACE)
    def screen(auth=None):
        """A ward screen connects; nothing to check."""
        pass  # a handler is what makes Socket.IO accept the namespace

    def on_listening(port: int) -> None:
        """Say where we listen, as `wardpulse serve` does."""
        print(f"bare stack listening on http://127.0.0.1:{port} ({mode})", flush=True)

    try:
        listen_and_serve(app, "127.0.0.1", 0, mode, on_listening, gate=False)  # bare: no handshake gate
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    bare_main(sys.argv[1:])
