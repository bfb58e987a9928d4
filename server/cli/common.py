"""What every command of the `wardpulse` CLI shares: JSON output, the public address, admin commands.

Admin commands work whether or not a server is running. The running server holds an exclusive
lock on the data dir; when a command finds it taken, it sends the command to the server's
control endpoint (address in `server.json`, bearer token in `control.token`, both in the data
dir and readable only by the service user), so the change takes effect at once and the server
stays the only writer. Ward processes (`serve --wards`) share one control token and each list
their address in `shards/<pid>.json`: any of them takes the command, makes it under the registry
lock and tells the others through the message queue.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import click

from server.store.admin import run_command
from server.store.atomic import DataDirLock, StorageUnavailable
from server.store.files import CONTROL_TOKEN, SERVER_INFO, SHARDS_DIR
from server.store.registry import AdminError, Registry


def emit_result(as_json: bool, result: dict, human: str) -> None:
    """With --json: one JSON object on stdout and nothing else."""
    click.echo(json.dumps(result) if as_json else human)


def public_url(data_dir: Path) -> str:
    """The address tablets and phones use: --public-url / WARDPULSE_PUBLIC_URL, else the running server's."""
    if os.environ.get("WARDPULSE_PUBLIC_URL"):
        return os.environ["WARDPULSE_PUBLIC_URL"].rstrip("/")
    info = data_dir / SERVER_INFO
    if info.exists():
        return json.loads(info.read_text())["public_url"]
    for shard in sorted((data_dir / SHARDS_DIR).glob("*.json")):  # ward processes: any one's address (behind the proxy, the same)
        return json.loads(shard.read_text())["public_url"]
    return "http://127.0.0.1:5000"


def admin(data_dir: Path, command: str, **args) -> dict:
    """Run an admin command on the data dir, through the running server if there is one."""
    lock = DataDirLock(data_dir)
    if lock.try_acquire():
        try:
            return run_command(Registry(data_dir), command, args)
        except (AdminError, StorageUnavailable) as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            lock.release()
    return _via_server(data_dir, command, args)


def _running_servers(data_dir: Path) -> list[str]:
    """Addresses of the running server, or of every ward process (`serve --wards`: any of them takes commands)."""
    if (data_dir / SERVER_INFO).exists():
        return [json.loads((data_dir / SERVER_INFO).read_text())["local_url"]]
    return [json.loads(path.read_text())["local_url"] for path in sorted((data_dir / SHARDS_DIR).glob("*.json"))]


def _via_server(data_dir: Path, command: str, args: dict) -> dict:
    deadline = time.monotonic() + 10
    while not (urls := _running_servers(data_dir)):  # a server that is still starting
        if time.monotonic() > deadline:
            raise click.ClickException("the data dir is locked but no server answers: is one starting?")
        time.sleep(0.2)
    token = (data_dir / CONTROL_TOKEN).read_text().strip()
    for url in urls:  # a ward process killed outright leaves its file behind: try the next
        request = urllib.request.Request(
            url + "/control",
            data=json.dumps({"command": command, "args": args}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)["result"]
        except urllib.error.HTTPError as exc:
            try:
                message = json.load(exc)["message"]
            except ValueError:
                message = f"the server refused the command (HTTP {exc.code})"
            raise click.ClickException(message) from None
        except urllib.error.URLError as exc:
            failure = f"could not reach the running server at {url}: {exc.reason}"
    raise click.ClickException(failure)


def read_password() -> str:
    """A new password: asked for twice on a terminal, else one line of stdin."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    return password
