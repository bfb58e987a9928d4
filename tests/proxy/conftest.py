"""Debian's real nginx, run as a plain process on loopback with the shipped site file, in front of a
real `wardpulse serve`.

The site file is included as shipped, with only what a trust changes swapped in: the certificate
paths, the listen addresses and ports, and the upstream port. Like the browser tests, these skip
with a clear reason when nginx is missing, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from server.tools.nginx import ONE_PROCESS_SITE, Nginx, swap_lines
from server.tools.nginx import write_nginx as write_site

from support import LiveServer


def write_nginx(prefix: Path, upstream_port: int) -> Nginx:
    """The shipped one-process site in nginx, its upstream port swapped for this test's server."""
    site = swap_lines(ONE_PROCESS_SITE.read_text(), {"server 127.0.0.1:5000;": f"server 127.0.0.1:{upstream_port};"},
                      ONE_PROCESS_SITE.name)
    return write_site(prefix, site)


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
