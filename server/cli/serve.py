"""`wardpulse serve`: run the ward server on the data dir, as its only writer."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import sys
from pathlib import Path

import click

from server.store.atomic import DataDirLock, write_atomically
from server.store.files import CONTROL_TOKEN, SERVER_INFO
from server.web.app import create_app
from server.web.broadcast import keep_alerts_saved
from server.web.extensions import socketio, ward_service
from server.web.heap import HeapKeeper
from server.web.serving import listen_and_serve, offload_for


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all).")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on; 0 picks a free one.")
@click.option(
    "--async-mode",
    type=click.Choice(["eventlet", "threading"]),
    default="eventlet",
    show_default=True,
    help="eventlet for production; threading needs no monkey-patching.",
)
@click.option("--public-url", envvar="WARDPULSE_PUBLIC_URL", help="Address tablets and phones use, e.g. https://wardpulse.trust.nhs.uk.")
@click.option(
    "--trusted-proxies",
    type=click.IntRange(0),
    help="How many proxies (nginx: 1) sit in front and may tell the client's address, scheme and host in "
    "X-Forwarded-* headers. Default: WARDPULSE_TRUSTED_PROXIES, else 0 (such headers are ignored).",
)
@click.pass_obj
def serve(data_dir: Path, host: str, port: int, async_mode: str, public_url: str | None, trusted_proxies: int | None) -> None:
    """Run the ward server."""
    lock = DataDirLock(data_dir)
    if not lock.try_acquire():
        raise click.ClickException(f"another WardPulse server is already using {data_dir}")
    control_token = secrets.token_urlsafe(32)
    write_atomically(data_dir / CONTROL_TOKEN, control_token, mode=0o600)
    config = {"DATA_DIR": str(data_dir), "ASYNC_MODE": async_mode, "OFFLOAD": offload_for(async_mode), "CONTROL_TOKEN": control_token}
    if trusted_proxies is not None:
        config["TRUSTED_PROXIES"] = trusted_proxies
    try:
        app = create_app(config)
    except ValueError as exc:  # a mistyped setting: say which, plainly
        lock.release()
        raise click.ClickException(str(exc)) from None

    def on_listening(bound_port: int) -> None:
        local_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        local_url = f"http://{local_host}:{bound_port}"
        shown = public_url or (f"http://{socket.getfqdn()}:{bound_port}" if host in ("0.0.0.0", "::") else local_url)
        info = {"pid": os.getpid(), "local_url": local_url, "public_url": shown.rstrip("/"), "async_mode": async_mode}
        write_atomically(data_dir / SERVER_INFO, json.dumps(info))
        app.config["PUBLIC_URL"] = info["public_url"]
        click.echo(f"WardPulse ward server listening on {local_url} ({async_mode}); data in {data_dir}", err=False)
        sys.stdout.flush()

    def stop(*_signal) -> None:
        # Every acked rating is already fsync'd, so there is nothing to flush: tidy up and leave at once
        # rather than wait for idle tablets and wall screens to close their websockets.
        (data_dir / SERVER_INFO).unlink(missing_ok=True)
        ward_service(app).close()
        lock.release()
        os._exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    HeapKeeper().start()  # after start-up, so the history just loaded is frozen too
    socketio.start_background_task(keep_alerts_saved, ward_service(app))
    listen_and_serve(app, host, port, async_mode, on_listening)


COMMANDS = (serve,)
