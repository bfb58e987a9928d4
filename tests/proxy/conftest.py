"""Debian's real nginx, run as a plain process on loopback with the shipped site file, in front of a
real `wardpulse serve`.

The site file is included as shipped, with only what a trust changes swapped in: the certificate
paths, the listen addresses and ports, and the upstream port. Like the browser tests, these skip
with a clear reason when nginx is missing, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import LiveServer, unavailable

NGINX = Path(os.environ.get("WARDPULSE_NGINX", "/usr/sbin/nginx"))
SHIPPED_SITE = Path(__file__).resolve().parents[2] / "deploy" / "nginx-wardpulse.conf"
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and localhost (openssl, as a trust's admin would make one)."""
    cert, key = folder / "wardpulse.crt", folder / "wardpulse.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def site_for_test(shipped: str, swaps: dict[str, str]) -> str:
    """The shipped site with each trust-specific line swapped; every line must be there exactly once."""
    for line, replacement in swaps.items():
        assert shipped.count(line) == 1, f"{SHIPPED_SITE.name} should contain {line!r} exactly once"
        shipped = shipped.replace(line, replacement)
    return shipped


@dataclass
class Nginx:
    """nginx with its own prefix, pid file, logs and temp dirs under `prefix`."""

    prefix: Path
    conf: Path
    https_port: int
    http_port: int
    cert: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def check(self) -> subprocess.CompletedProcess:
        """`nginx -t` on this configuration."""
        return subprocess.run([str(NGINX), "-t", "-p", str(self.prefix), "-c", str(self.conf)],
                              capture_output=True, text=True, timeout=30)

    def start(self) -> Nginx:
        with open(self.prefix / "stderr.log", "ab") as log:
            self.proc = subprocess.Popen([str(NGINX), "-p", str(self.prefix), "-c", str(self.conf), "-g", "daemon off;"],
                                         stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"nginx exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"nginx never listened on {self.https_port}:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in (self.prefix / "stderr.log", self.prefix / "error.log") if p.exists())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # fast shutdown: the master stops its workers
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def write_nginx(prefix: Path, upstream_port: int) -> Nginx:
    """Write nginx.conf (its own pid, logs and temp dirs) that includes the shipped site, swapped for this test."""
    prefix.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed_certificate(prefix)
    https_port, http_port = free_port(), free_port()
    site = prefix / "wardpulse-site.conf"
    site.write_text(site_for_test(SHIPPED_SITE.read_text(), {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "ssl_certificate     /etc/ssl/certs/wardpulse.crt;": f"ssl_certificate     {cert};",
        "ssl_certificate_key /etc/ssl/private/wardpulse.key;": f"ssl_certificate_key {key};",
        "server 127.0.0.1:5000;": f"server 127.0.0.1:{upstream_port};",
    }))
    temp_paths = "\n".join(f"    {name}_temp_path {prefix / name};" for name in TEMP_PATHS)
    conf = prefix / "nginx.conf"
    conf.write_text(
        # As root, nginx would hand its workers to a user that cannot enter pytest's private tmp dir.
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'} info;\n"
        + "events { worker_connections 512; }\n"
        + f"http {{\n{temp_paths}\n    access_log off;\n    include {site};\n}}\n"
    )
    return Nginx(prefix, conf, https_port, http_port, cert)


@pytest.fixture(scope="module")
def nginx_binary() -> Path:
    if not NGINX.exists():
        unavailable(f"nginx not found at {NGINX} (apt-get install nginx)")
    return NGINX


@pytest.fixture(scope="module")
def ward_server(tmp_path_factory):
    """A real ward server told that one trusted proxy (nginx) sits in front of it, with ward 7B."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WARDPULSE_TRUSTED_PROXIES", "1")  # as the systemd unit sets it
        server = LiveServer(tmp_path_factory.mktemp("proxied") / "live").start()
    server.add_ward()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def nginx(nginx_binary, ward_server, tmp_path_factory):
    """The shipped site in real nginx, in front of `ward_server`; stopped after the module."""
    proxy = write_nginx(tmp_path_factory.mktemp("nginx"), ward_server.port)
    proxy.start()
    yield proxy
    proxy.stop()
