"""Debian's redis-server as a plain child process on loopback, for the tests and the benchmark.

Configured as the README tells a trust to run it for WardPulse: loopback only, its own port, no
persistence (`--save "" --appendonly no`: Redis only carries live events between ward processes; every
rating is already on disk in the data dir before it is acked).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from server.tools.harness import terminate
from server.tools.nginx import free_port

REDIS_SERVER = Path(os.environ.get("WARDPULSE_REDIS_SERVER", "/usr/bin/redis-server"))


class RedisServer:
    """redis-server on 127.0.0.1 and a free port, its log in `folder`; `url` is what `serve --message-queue` takes."""

    def __init__(self, folder: Path, port: int | None = None, debug: bool = False):
        self.folder = folder
        self.port = port or free_port()
        self.debug = debug  # allow DEBUG SLEEP from loopback: the tests' Redis that goes silent
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> RedisServer:
        """Start it and wait until it answers PING."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(
                [str(REDIS_SERVER), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
                 "--dir", str(self.folder), "--daemonize", "no"] + (["--enable-debug-command", "local"] if self.debug else []),
                stdout=log, stderr=log,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}:\n{self.log()}")
            if self.ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server never answered on {self.port}:\n{self.log()}")

    def ping(self) -> bool:
        """True if Redis answers PING (its wire protocol by hand: the tools need no client library for this)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def log(self) -> str:
        path = self.folder / "redis.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        terminate(self.proc)  # Redis exits at once: it has nothing to save

    def kill(self) -> None:
        """kill -9: Redis lost mid-run."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
