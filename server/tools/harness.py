"""Servers as child processes, one harness for the demo, the soak, the benchmark and the live tests.

A server child says `... listening on http://HOST:PORT ...` on its first stdout line (as
`wardpulse serve` and the benchmark's bare stack do) and writes everything else to a log.
"""

from __future__ import annotations

import http.client
import json
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from server.store.files import SERVER_LOG

LISTENING = re.compile(r"listening on (http://\S+)")


class ServerFailed(RuntimeError):
    """A server child would not start, died, or a command against its data dir failed; says why."""


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    """The next stdout line of a child, or '' if it ends or says nothing for `timeout` seconds."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


def log_tail(path: Path | None, chars: int = 3000) -> str:
    """The end of a log, to show why a child failed."""
    return path.read_text(errors="replace")[-chars:] if path and path.exists() else ""


def terminate(proc: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM a child (nginx and Redis stop at once on it), SIGKILL if it has not gone within `timeout`."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class ServerProcess:
    """A server child process: started, waited for until it listens, stopped as Ctrl-C would or killed."""

    def __init__(self, argv: list[str], log_path: Path | None):
        self.argv = argv
        self.log_path = log_path  # None: the child's messages go to this process's stderr
        self.url = ""
        self.proc: subprocess.Popen | None = None
        self.env: dict[str, str] | None = None  # the process's environment, if not this one's

    def spawn(self) -> None:
        """Start the process without waiting for it."""
        log = open(self.log_path, "a") if self.log_path else None  # noqa: SIM115  (the child keeps it)
        try:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=log, text=True, env=self.env)
        finally:
            if log:
                log.close()

    def wait_listening(self, timeout: float) -> str:
        """Wait for the listening line; its URL, or ServerFailed with the end of the log."""
        line = read_line(self.proc, timeout)
        found = LISTENING.search(line)
        if not found:
            self.fail(f"did not start (it said {line.strip()!r})")
        self.url = found.group(1)
        return line

    def fail(self, what: str):
        self.kill()
        raise ServerFailed(f"{' '.join(self.argv[1:])} {what}; the end of its log {self.log_path}:\n{log_tail(self.log_path)}")

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, like a power cut of the process."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        self._reap()

    def stop(self, timeout: float = 15) -> int:
        """Ctrl-C, as an operator stops it; return its exit code (SIGKILL's if it would not stop)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        return self.proc.returncode if self.proc else 0

    def _reap(self) -> None:
        if self.proc:
            self.proc.wait()
            if not self.proc.stdout.closed:
                self.proc.stdout.close()


class WardProcess(ServerProcess):
    """`wardpulse serve` on a data dir as a child process that keeps its port across kill -9 and restart."""

    def __init__(self, data_dir: Path, async_mode: str = "eventlet", log_path: Path | None = None, host: str = "127.0.0.1", port: int = 0,
                 serve_options: tuple[str, ...] = ()):
        super().__init__([], log_path or data_dir / SERVER_LOG)
        self.data_dir = data_dir
        self.async_mode = async_mode
        self.host = host
        self.port = port
        self.serve_options = serve_options  # more `serve` options, e.g. ("--wards", "7A,7B", "--message-queue", URL)

    def spawn(self) -> None:
        """Start the process (on the same port as before, if any) without waiting for it."""
        self.argv = [sys.executable, "-m", "server", "--data-dir", str(self.data_dir), "serve",
                     "--host", self.host, "--port", str(self.port), "--async-mode", self.async_mode, *self.serve_options]
        super().spawn()

    def start(self, timeout: float = 30.0) -> float:
        """Start and wait until /healthz answers; return the seconds that took."""
        began = time.monotonic()
        self.spawn()
        self.wait_listening(timeout)
        self.port = int(self.url.rsplit(":", 1)[1])
        self.wait_healthy(began + timeout)
        return time.monotonic() - began

    def wait_healthy(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.fail(f"died during start-up (exit {self.proc.returncode})")
            if self.healthy():
                return
            time.sleep(0.05)
        self.fail("never answered /healthz")

    def healthy(self) -> bool:
        """Does /healthz answer 200 within a second?"""
        connection = http.client.HTTPConnection(urlsplit(self.url).hostname, self.port, timeout=1)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()  # urllib leaks the socket when the answer times out

    def export(self, ward: str) -> list[dict]:
        """Every stored rating of a ward, through `wardpulse export` as an admin would take it."""
        command = [sys.executable, "-m", "server", "--data-dir", str(self.data_dir), "export", "--ward", ward, "--format", "jsonl"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise ServerFailed(f"wardpulse export failed: {done.stderr.strip()}")
        return [json.loads(line) for line in done.stdout.splitlines() if line]
