"""Test helpers: a real `wardpulse serve` process and real Socket.IO clients."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import socketio

from kiosk.tls import WEBSOCKET_OPTIONS
from server.clock import TEST_CLOCK_ENV
from server.store.registry import Registry
from server.tools.harness import WardProcess
from shared.protocol import KIOSK_NAMESPACE, STAFF_NAMESPACE, parse_utc

STAFF_PASSWORD = "correct-horse-battery"
CHROMIUM = Path(os.environ.get("WARDPULSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def unavailable(reason: str):
    """Skip for want of a real component (Chromium, nginx), except in CI, where a skip would hide a broken set-up."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; in CI these tests must run, not skip", pytrace=False)
    pytest.skip(reason)


class LiveServer(WardProcess):
    """A real `wardpulse serve` subprocess (the tools' WardProcess: same port across restarts and kill -9),
    with the admin commands tests need."""

    def __init__(self, data_dir: Path, async_mode: str = "eventlet"):
        super().__init__(data_dir, async_mode, log_path=data_dir.parent / f"server-{data_dir.name}.log")

    def start(self, clock: str | None = None) -> LiveServer:
        """Start (again); `clock` (an ISO UTC time) starts the server's clock there instead of now."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ, **{TEST_CLOCK_ENV: clock}) if clock else None
        super().start()
        return self

    def restart(self) -> LiveServer:
        self.stop()
        return self.start()

    def known_ward(self, ward: str = "7B", p0: float = 0.08, per_day: float = 30) -> LiveServer:
        """Give the ward a usual rate and volume, as a sister would on its settings page (the server restarts).

        A ward with no history is judged cautiously while its own rate is unknown; tests of the alert
        mechanics want the plain detector (h = 4.04 at 8 % and 30 a day).
        """
        self.stop()
        Registry(self.data_dir).update_ward_settings(ward, None, per_day, p0)
        return self.start()

    def cli(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Run `wardpulse --data-dir <this server's dir> ...` as a separate process, as an admin would."""
        result = subprocess.run(
            [sys.executable, "-m", "server", "--data-dir", str(self.data_dir), *args],
            input=input, capture_output=True, text=True, timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"wardpulse {' '.join(args)} failed: {result.stderr}")
        return result

    def cli_json(self, *args: str, input: str | None = None) -> dict:
        return json.loads(self.cli(*args, "--json", input=input).stdout)

    # conveniences
    def add_ward(self, code: str = "7B", name: str = "Ward 7B") -> str:
        self.cli("ward", "add", code, "--name", name)
        return code

    def add_kiosk(self, ward: str = "7B", label: str | None = None) -> dict:
        return self.cli_json("kiosk", "add", "--ward", ward, *(["--label", label] if label else []))

    def add_display(self, ward: str = "7B") -> dict:
        return self.cli_json("display", "add", "--ward", ward)

    def add_staff(self, username: str = "sister", ward: str | tuple[str, ...] = "7B", role: str = "sister") -> tuple[str, str]:
        """A staff account on a ward, or covering several (a tuple of codes, home ward first)."""
        wards = (ward,) if isinstance(ward, str) else ward
        self.cli("staff", "add", username, *(arg for code in wards for arg in ("--ward", code)), "--role", role, input=STAFF_PASSWORD + "\n")
        return username, STAFF_PASSWORD

    def export(self, ward: str = "7B") -> list[dict]:
        return super().export(ward)


SHARD_WARDS = ("7A", "7B", "7C")  # the live tests' ward processes A, B, C (tests/live/conftest.py)


class WardShard(LiveServer):
    """`wardpulse serve --wards CODE[,CODE] --message-queue redis://...` as a child process: a ward process."""

    def __init__(self, data_dir: Path, ward: str, queue: str):
        super().__init__(data_dir)
        self.ward, self.queue = ward, queue
        self.log_path = data_dir.parent / f"server-{ward.replace(',', '-')}.log"
        self.serve_options = ("--message-queue", queue, "--wards", ward)

    def health(self) -> dict:
        with urllib.request.urlopen(self.url + "/healthz", timeout=5) as answer:
            return json.load(answer)

    def hears_others(self) -> bool:
        return self.health()["message_queue"]["ok"]


def ack_body(ack: dict) -> dict:
    """A rating's ack without the server's clock reading it carries (checked to be a UTC time)."""
    assert isinstance(ack, dict) and parse_utc(ack.get("server_time")), ack
    return {k: v for k, v in ack.items() if k != "server_time"}


def kiosk_socket(url: str, token: str, **client_options) -> socketio.Client:
    """A bare python-socketio client connected to /kiosk, for protocol-level tests.
    `client_options` go to socketio.Client (e.g. an `http_session` that trusts a test certificate)."""
    websocket = {**WEBSOCKET_OPTIONS, **client_options.pop("websocket_extra_options", {})}
    client = socketio.Client(reconnection=False, websocket_extra_options=websocket, **client_options)
    client.connect(url, namespaces=[KIOSK_NAMESPACE], auth={"token": token}, transports=["websocket"], wait_timeout=5)
    return client


class Screen:
    """A python-socketio client on /staff that records what the ward screen would receive."""

    def __init__(self, url: str, auth: dict, cookie: str | None = None, **client_options):
        self.snapshots: list[dict] = []
        self.ratings: list[dict] = []
        self.alerts: list[dict] = []
        self.refusal = None
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1, websocket_extra_options=WEBSOCKET_OPTIONS,
                                   **client_options)
        self.sio.on("snapshot", self.snapshots.append, namespace=STAFF_NAMESPACE)
        self.sio.on("rating", self.ratings.append, namespace=STAFF_NAMESPACE)
        self.sio.on("alert", self.alerts.append, namespace=STAFF_NAMESPACE)
        self.sio.on("connect_error", self._refused, namespace=STAFF_NAMESPACE)
        self.url, self.auth = url, auth
        self.headers = {"Cookie": cookie} if cookie else {}

    def _refused(self, data=None):
        self.refusal = data

    def connect(self) -> Screen:
        self.sio.connect(self.url, namespaces=[STAFF_NAMESPACE], auth=self.auth, headers=self.headers, transports=["websocket"], wait_timeout=5)
        wait_until(lambda: self.snapshots, what="a snapshot")
        return self

    def close(self) -> None:
        self.sio.disconnect()


class WifiDrop:
    """A TCP relay in front of the ward server that can cut every connection and refuse new ones, as Wi-Fi does."""

    def __init__(self, port: int):
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.up = True
        self._links: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="wifi-relay", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                near, _ = self.listener.accept()
            except OSError:
                return  # closed
            if not self.up:
                near.close()  # no signal: the connection goes nowhere
                continue
            try:
                far = socket.create_connection(("127.0.0.1", self.target), timeout=2)
            except OSError:
                near.close()
                continue
            far.settimeout(None)
            with self._lock:
                self._links += [near, far]
            for source, sink in ((near, far), (far, near)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._close(source, sink)

    def _close(self, *sockets: socket.socket) -> None:
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self) -> None:
        """Every connection through the relay drops, and new ones fail until heal()."""
        self.up = False
        with self._lock:
            links, self._links = self._links, []
        self._close(*links)

    def heal(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


def wait_until(predicate, timeout: float = 5.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def csrf_token_in(form: str) -> str:
    """The CSRF token of a page's form."""
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form) or re.search(r'name="csrf_token" value="([^"]+)"', form)
    return token.group(1)


def try_sign_in(http, url: str, username: str, password: str = STAFF_PASSWORD, headers: dict | None = None):
    """Post the real login form (CSRF token and all) with a `requests` session; the response, unfollowed."""
    form = http.get(url + "/login", headers=headers).text
    data = {"csrf_token": csrf_token_in(form), "username": username, "password": password}
    return http.post(url + "/login", data=data, headers=headers, allow_redirects=False)


def staff_cookie(url: str, username: str, password: str = STAFF_PASSWORD) -> str:
    """Sign in through the real login form and return the session cookie header."""
    import requests

    with requests.Session() as http:
        response = try_sign_in(http, url, username, password)
        assert response.status_code == 302, response.text
        return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def device_at(address: str):
    """A `requests` session whose connections leave from `address` (127.0.0.2, 127.0.0.3, ...), as a
    separate device on the network would: Linux lets any 127.x.y.z be a loopback source."""
    import requests
    from requests.adapters import HTTPAdapter

    class FromAddress(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, source_address=(address, 0), **kwargs)

    http = requests.Session()
    http.mount("http://", FromAddress())
    http.mount("https://", FromAddress())
    return http


def at_once(calls: list) -> list:
    """Run each call on its own thread, released together; return their results in order."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i, call):
        barrier.wait(timeout=10)
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not any(t.is_alive() for t in threads), "a client never got its answer"
    return results
