"""Shared fixtures: the Flask app, its test clients, and a real `wardpulse serve` process."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from server.cli import cli
from server.tools.nginx import NGINX
from server.tools.redis_server import REDIS_SERVER, RedisServer
from server.web.app import create_app
from server.web.app import socketio as server_socketio
from server.web.auth import hash_password
from server.web.extensions import ward_service

from support import CHROMIUM, CHROMIUM_ARGS, STAFF_PASSWORD, LiveServer, unavailable


@pytest.fixture
def app(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "TESTING": True, "WTF_CSRF_ENABLED": False})
    yield app
    ward_service(app).close()


@pytest.fixture
def registry(app):
    return ward_service(app).registry


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def socket_client(app):
    """Flask-SocketIO's in-process test client factory (skips the real transport)."""

    def make(namespace, auth=None, flask_client=None):
        return server_socketio.test_client(app, namespace=namespace, auth=auth, flask_test_client=flask_client)

    return make


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def cli_data_dir(tmp_path):
    """Run the CLI in-process on a fresh data dir: `run("ward", "add", ...)`."""
    data_dir = tmp_path / "cli"
    runner = CliRunner()

    def run(*args, input=None):
        return runner.invoke(cli, ["--data-dir", str(data_dir), *args], input=input, catch_exceptions=False)

    run.data_dir = data_dir
    return run


def _started(tmp_path, async_mode):
    server = LiveServer(tmp_path / "live", async_mode).start()
    server.add_ward()
    return server


@pytest.fixture
def live_server(tmp_path):
    """A real ward server (eventlet, as in production) with ward 7B."""
    server = _started(tmp_path, "eventlet")
    yield server
    server.stop()


@pytest.fixture(params=["eventlet", "threading"])
def any_live_server(request, tmp_path):
    """The same tests in both async modes."""
    server = _started(tmp_path, request.param)
    yield server
    server.stop()


@pytest.fixture
def redis_server(tmp_path):
    """Debian's real redis-server on loopback, its own config and port, no persistence; stopped after the test."""
    if not REDIS_SERVER.exists():
        unavailable(f"redis-server not found at {REDIS_SERVER} (apt-get install redis-server)")
    server = RedisServer(tmp_path / "redis", debug=True).start()
    yield server
    server.stop()


@pytest.fixture
def staff_hash():
    return hash_password(STAFF_PASSWORD)


# Browser tests (tests/browser, and tests/proxy through nginx) skip with a clear reason when Chromium
# or Playwright is missing, except in CI (CI=true), where a skipped browser test would hide a broken set-up.
@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def trusting_browser(browser):
    """Chromium that accepts the test's self-signed certificate everywhere, service workers included
    (a context's ignore_https_errors does not reach them), as a ward tablet trusts its trust's own CA."""
    chromium = browser.browser_type.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, "--ignore-certificate-errors"])
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def nginx_binary() -> Path:
    if not NGINX.exists():
        unavailable(f"nginx not found at {NGINX} (apt-get install nginx)")
    return NGINX
