"""Debian's real nginx as a plain process on loopback, with a site file from deploy/ made ready for it.

The proxy tests and the benchmark run the shipped site files, changed only where a trust changes them
(the lines marked `# TRUST:`): certificate paths, listen ports, upstream ports and, for the sharded
site, which process owns which ward. nginx gets its own prefix, pid file, logs and temp dirs.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from server.tools.harness import terminate

NGINX = Path(os.environ.get("WARDPULSE_NGINX", "/usr/sbin/nginx"))
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ONE_PROCESS_SITE = DEPLOY / "nginx-wardpulse.conf"
SHARDED_SITE = DEPLOY / "nginx-wardpulse-sharded.conf"
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")

# In the sharded site: a ward's line in the `$wardpulse_shard` map, a shard's upstream block, and a
# shard's line in `wardpulse_any`.
_WARD_LINE = re.compile(r"^ +\S+ +wardpulse_shard_\w+; +# TRUST: ward code.*\n", re.MULTILINE)
_SHARD_UPSTREAM = re.compile(r"^upstream wardpulse_shard_\w+ \{\n.*?^\}\n\n", re.MULTILINE | re.DOTALL)
_ANY_LINE = re.compile(r"^ +server 127\.0\.0\.1:\d+; +# TRUST: every shard.*\n", re.MULTILINE)


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


def swap_lines(shipped: str, swaps: dict[str, str], name: str = "the site file") -> str:
    """The shipped site with each trust-specific line swapped; every line must be there exactly once."""
    for line, replacement in swaps.items():
        if shipped.count(line) != 1:
            raise ValueError(f"{name} should contain {line!r} exactly once")
        shipped = shipped.replace(line, replacement)
    return shipped


def _replace_all(pattern: re.Pattern, text: str, replacement: str, what: str) -> str:
    """Every match of `pattern` removed and `replacement` put where the first one was."""
    found = pattern.search(text)
    if found is None:
        raise ValueError(f"the sharded site has no {what}")
    return text[:found.start()] + replacement + pattern.sub("", text[found.start():])


def sharded_site(shipped: str, shards: dict[str, tuple[int, tuple[str, ...]]]) -> str:
    """The sharded site with its example shards replaced by `shards` (name -> (port, wards)), as a trust writes them."""
    wards = "".join(f"    {ward:<7} wardpulse_shard_{name};  # TRUST: ward code\n"
                    for name, (_port, owned) in shards.items() for ward in owned)
    upstreams = "".join(f"upstream wardpulse_shard_{name} {{\n    server 127.0.0.1:{port};  # TRUST: shard {name}\n"
                        f"    keepalive 16;\n}}\n\n" for name, (port, _owned) in shards.items())
    anyone = "".join(f"    server 127.0.0.1:{port};  # TRUST: every shard\n" for port, _owned in shards.values())
    site = _replace_all(_WARD_LINE, shipped, wards, "ward lines in its map")
    site = _replace_all(_SHARD_UPSTREAM, site, upstreams, "shard upstreams")
    return _replace_all(_ANY_LINE, site, anyone, "servers in wardpulse_any")


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
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx never listened on {self.https_port}:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in (self.prefix / "stderr.log", self.prefix / "error.log") if p.exists())

    def stop(self) -> None:
        terminate(self.proc)  # fast shutdown: the master stops its workers

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def write_nginx(prefix: Path, site_text: str, workers: int = 1) -> Nginx:
    """nginx.conf (its own pid, logs and temp dirs) including `site_text`, a site from deploy/ with its
    trust lines still as shipped apart from upstreams: here its certificate and listen ports are swapped in."""
    prefix.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed_certificate(prefix)
    https_port, http_port = free_port(), free_port()
    site = prefix / "wardpulse-site.conf"
    site.write_text(swap_lines(site_text, {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "ssl_certificate     /etc/ssl/certs/wardpulse.crt;": f"ssl_certificate     {cert};",
        "ssl_certificate_key /etc/ssl/private/wardpulse.key;": f"ssl_certificate_key {key};",
    }))
    temp_paths = "\n".join(f"    {name}_temp_path {prefix / name};" for name in TEMP_PATHS)
    conf = prefix / "nginx.conf"
    conf.write_text(
        # As root, nginx would hand its workers to a user that cannot enter a private tmp dir.
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes {workers};\npid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'} info;\n"
        + "events { worker_connections 8192; }\n"
        + f"http {{\n{temp_paths}\n    access_log off;\n    include {site};\n}}\n"
    )
    return Nginx(prefix, conf, https_port, http_port, cert)
