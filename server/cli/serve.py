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

from server.store.atomic import DataDirLock, load_secret, write_atomically
from server.store.files import CONTROL_TOKEN, SERVER_INFO, SHARDS_DIR
from server.store.registry import WARD_CODE
from server.store.ward_locks import WardLocks, WardTaken, any_ward_held
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
@click.option(
    "--message-queue",
    metavar="redis://HOST:PORT/DB",
    help="Redis that ward processes share, so a screen on any of them gets every ward's events. Needs --wards.",
)
@click.option(
    "--wards",
    metavar="CODE,CODE",
    help="Serve and write only these wards (one process per ward; others share the data dir). Needs --message-queue.",
)
@click.pass_obj
def serve(data_dir: Path, host: str, port: int, async_mode: str, public_url: str | None, trusted_proxies: int | None,
          message_queue: str | None, wards: str | None) -> None:
    """Run the ward server."""
    owned = ward_codes(wards, message_queue)
    lock = DataDirLock(data_dir)
    if not lock.try_acquire(shared=owned is not None):
        held = any_ward_held(data_dir)
        raise click.ClickException(
            f"ward processes (serve --wards) are using {data_dir} (ward {held} among them): stop them first" if held and owned is None
            else f"a WardPulse server for every ward is using {data_dir}: stop it before starting ward processes" if owned
            else f"another WardPulse server is already using {data_dir}")
    ward_locks = WardLocks(data_dir, owned or [])
    try:
        ward_locks.claim()
    except WardTaken as taken:
        lock.release()
        raise click.ClickException(str(taken)) from None
    if owned is None:
        control_token = secrets.token_urlsafe(32)
        write_atomically(data_dir / CONTROL_TOKEN, control_token, mode=0o600)
    else:  # one token for every ward process: the CLI, and each process asking another, use any of them
        control_token = load_secret(data_dir, CONTROL_TOKEN)
    info_path = data_dir / SERVER_INFO if owned is None else data_dir / SHARDS_DIR / f"{os.getpid()}.json"
    config = {"DATA_DIR": str(data_dir), "ASYNC_MODE": async_mode, "OFFLOAD": offload_for(async_mode), "CONTROL_TOKEN": control_token,
              "WARDS": owned, "MESSAGE_QUEUE": message_queue}
    if trusted_proxies is not None:
        config["TRUSTED_PROXIES"] = trusted_proxies
    try:
        app = create_app(config)
    except ValueError as exc:  # a mistyped setting: say which, plainly
        ward_locks.release()
        lock.release()
        raise click.ClickException(str(exc)) from None

    def on_listening(bound_port: int) -> None:
        local_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        local_url = f"http://{local_host}:{bound_port}"
        shown = public_url or (f"http://{socket.getfqdn()}:{bound_port}" if host in ("0.0.0.0", "::") else local_url)
        info = {"pid": os.getpid(), "local_url": local_url, "public_url": shown.rstrip("/"), "async_mode": async_mode}
        if owned:
            info["wards"] = owned
            info_path.parent.mkdir(exist_ok=True)
            ward_locks.announce(info)  # other ward processes ask this one for these wards' snapshots
        write_atomically(info_path, json.dumps(info))
        app.config["PUBLIC_URL"] = info["public_url"]
        serving = f" wards {','.join(owned)}," if owned else ""
        click.echo(f"WardPulse ward server listening on {local_url} ({async_mode});{serving} data in {data_dir}", err=False)
        sys.stdout.flush()

    def stop(*_signal) -> None:
        # Every acked rating is already fsync'd, so there is nothing to flush: tidy up and leave at once
        # rather than wait for idle tablets and wall screens to close their websockets.
        info_path.unlink(missing_ok=True)
        ward_service(app).close()
        ward_locks.release()
        lock.release()
        os._exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    HeapKeeper().start()  # after start-up, so the history just loaded is frozen too
    socketio.start_background_task(keep_alerts_saved, ward_service(app))
    listen_and_serve(app, host, port, async_mode, on_listening)


def ward_codes(wards: str | None, message_queue: str | None) -> list[str] | None:
    """The wards named by --wards, checked (None: every ward, as one server); --wards and --message-queue go together."""
    if wards is None and message_queue is None:
        return None
    if not wards or not message_queue:
        raise click.UsageError("--wards and --message-queue go together: ward processes share events through the queue")
    if not message_queue.startswith(("redis://", "rediss://")):
        raise click.UsageError(f"--message-queue must be a Redis address like redis://127.0.0.1:6379/0 (not {message_queue!r})")
    codes = list(dict.fromkeys(code.strip().upper() for code in wards.split(",") if code.strip()))
    bad = [code for code in codes if not WARD_CODE.fullmatch(code)]
    if not codes or bad:
        raise click.UsageError(f"--wards takes ward codes separated by commas, like 7A,7B (not {wards!r})")
    return codes


COMMANDS = (serve,)
