"""Test helpers: a real `wardpulse serve` process and real Socket.IO clients."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import socketio

from shared.protocol import KIOSK_NAMESPACE, STAFF_NAMESPACE

STAFF_PASSWORD = "correct-horse-battery"


class LiveServer:
    """A real `wardpulse serve` subprocess on a free port that keeps its port across restarts."""

    def __init__(self, data_dir: Path, async_mode: str = "eventlet"):
        self.data_dir = data_dir
        self.async_mode = async_mode
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir.parent / f"server-{data_dir.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LiveServer":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server", "--data-dir", str(self.data_dir), "serve",
                 "--port", str(self.port), "--async-mode", self.async_mode],
                stdout=subprocess.PIPE, stderr=log, text=True,
            )
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self._fail("did not start")
        self.port = int(line.split("listening on ")[1].split()[0].rsplit(":", 1)[1])
        self.wait_for_health()
        return self

    def wait_for_health(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail("died")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self._fail("never answered /healthz")

    def _fail(self, what: str):
        pytest.fail(f"wardpulse serve {what}; its stderr:\n{self.log_path.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reap()

    def kill(self) -> None:
        """SIGKILL: no clean-up, exactly like a power cut of the process."""
        self.proc.kill()
        self.proc.wait()
        self._reap()

    def _reap(self) -> None:
        if self.proc and self.proc.stdout and not self.proc.stdout.closed:
            self.proc.stdout.close()

    def restart(self) -> "LiveServer":
        self.stop()
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

    def add_staff(self, username: str = "sister", ward: str = "7B", role: str = "sister") -> tuple[str, str]:
        self.cli("staff", "add", username, "--ward", ward, "--role", role, input=STAFF_PASSWORD + "\n")
        return username, STAFF_PASSWORD

    def export(self, ward: str = "7B") -> list[dict]:
        out = self.cli("export", "--ward", ward, "--format", "jsonl").stdout
        return [json.loads(line) for line in out.splitlines() if line]


def kiosk_socket(url: str, token: str) -> socketio.Client:
    """A bare python-socketio client connected to /kiosk, for protocol-level tests."""
    client = socketio.Client(reconnection=False)
    client.connect(url, namespaces=[KIOSK_NAMESPACE], auth={"token": token}, transports=["websocket"], wait_timeout=5)
    return client


class Screen:
    """A python-socketio client on /staff that records what the ward screen would receive."""

    def __init__(self, url: str, auth: dict, cookie: str | None = None):
        self.snapshots: list[dict] = []
        self.ratings: list[dict] = []
        self.alerts: list[dict] = []
        self.refusal = None
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1)
        self.sio.on("snapshot", self.snapshots.append, namespace=STAFF_NAMESPACE)
        self.sio.on("rating", self.ratings.append, namespace=STAFF_NAMESPACE)
        self.sio.on("alert", self.alerts.append, namespace=STAFF_NAMESPACE)
        self.sio.on("connect_error", self._refused, namespace=STAFF_NAMESPACE)
        self.url, self.auth = url, auth
        self.headers = {"Cookie": cookie} if cookie else {}

    def _refused(self, data=None):
        self.refusal = data

    def connect(self) -> "Screen":
        self.sio.connect(self.url, namespaces=[STAFF_NAMESPACE], auth=self.auth, headers=self.headers, transports=["websocket"], wait_timeout=5)
        wait_until(lambda: self.snapshots, what="a snapshot")
        return self

    def close(self) -> None:
        self.sio.disconnect()


def wait_until(predicate, timeout: float = 5.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def staff_cookie(url: str, username: str, password: str = STAFF_PASSWORD) -> str:
    """Sign in through the real login form (CSRF token and all) and return the session cookie header."""
    import re

    import requests

    with requests.Session() as http:
        form = http.get(url + "/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form) or re.search(
            r'name="csrf_token" value="([^"]+)"', form
        )
        response = http.post(url + "/login", data={"csrf_token": token.group(1), "username": username, "password": password}, allow_redirects=False)
        assert response.status_code == 302, response.text
        return "; ".join(f"{c.name}={c.value}" for c in http.cookies)
