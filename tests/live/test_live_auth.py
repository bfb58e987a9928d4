"""Sign-in limits and proxy headers against a real `wardpulse serve`, from separate loopback addresses
(127.0.0.2, 127.0.0.3, ...) as separate devices, with and without a trusted proxy in front."""

from __future__ import annotations

import time

import pytest
import requests
import socketio

from shared.protocol import KIOSK_NAMESPACE, STAFF_NAMESPACE

from support import LiveServer, device_at, staff_cookie, try_sign_in, wait_until

WRONG = "not-the-password"
PUBLIC = "wardpulse.example.nhs.uk:8443"  # a trust's nginx on a non-default port


def _server(tmp_path, monkeypatch, trusted_proxies: str | None) -> LiveServer:
    if trusted_proxies is None:
        monkeypatch.delenv("WARDPULSE_TRUSTED_PROXIES", raising=False)
    else:
        monkeypatch.setenv("WARDPULSE_TRUSTED_PROXIES", trusted_proxies)  # as the systemd unit sets it
    server = LiveServer(tmp_path / "live").start()
    server.add_ward()
    for username in ("sister", "nurse"):
        server.add_staff(username)
    return server


@pytest.fixture
def direct(tmp_path, monkeypatch):
    """Devices talk to the server itself: WARDPULSE_TRUSTED_PROXIES unset."""
    server = _server(tmp_path, monkeypatch, None)
    yield server
    server.stop()


@pytest.fixture
def proxied(tmp_path, monkeypatch):
    """One proxy in front (WARDPULSE_TRUSTED_PROXIES=1): every request reaches the server from 127.0.0.1."""
    server = _server(tmp_path, monkeypatch, "1")
    yield server
    server.stop()


def test_direct_a_spraying_device_is_refused_whatever_it_forwards_and_the_ward_still_signs_in(direct):
    attacker = device_at("127.0.0.2")
    for i in range(5):
        forged = {"X-Forwarded-For": f"10.9.9.{i}", "X-Real-IP": f"10.9.9.{i}"}
        assert try_sign_in(attacker, direct.url, f"user{i}", WRONG, headers=forged).status_code == 401
    refused = try_sign_in(attacker, direct.url, "sister", WRONG, headers={"X-Forwarded-For": "127.0.0.3"})
    assert refused.status_code == 429 and "Too many failed sign-ins from this device" in refused.text
    assert try_sign_in(device_at("127.0.0.3"), direct.url, "sister").status_code == 302


def test_direct_a_hammered_username_waits_seconds_not_minutes(direct):
    for i in range(5):  # five devices, one guess each: no address reaches its own limit
        assert try_sign_in(device_at(f"127.0.0.{10 + i}"), direct.url, "nurse", WRONG).status_code == 401
    nurse = device_at("127.0.0.3")
    slowed = try_sign_in(nurse, direct.url, "nurse")
    assert slowed.status_code == 429 and "Wait 2 seconds and try again" in slowed.text
    time.sleep(2.1)
    assert try_sign_in(nurse, direct.url, "nurse").status_code == 302
    assert try_sign_in(device_at("127.0.0.4"), direct.url, "sister").status_code == 302  # never slowed


def test_behind_a_proxy_each_device_counts_by_the_address_the_proxy_saw(proxied):
    nginx = device_at("127.0.0.1")  # what the proxy forwards: the client's own header, then the peer it saw
    for i in range(5):
        forged = {"X-Forwarded-For": f"10.9.9.{i}, 198.51.100.66"}
        assert try_sign_in(nginx, proxied.url, f"user{i}", WRONG, headers=forged).status_code == 401
    extra_hops = {"X-Forwarded-For": "127.0.0.1, 10.1.1.1, 198.51.100.66"}
    assert try_sign_in(device_at("127.0.0.1"), proxied.url, "sister", headers=extra_hops).status_code == 429
    ward_phone = {"X-Forwarded-For": "10.1.1.1"}
    assert try_sign_in(device_at("127.0.0.1"), proxied.url, "sister", headers=ward_phone).status_code == 302


def kiosk_through_proxy(server: LiveServer, token: str, origin: str, host: str | None, forwarded: dict) -> socketio.Client:
    """A kiosk's websocket as the proxy passes it on: the browser's Origin, and Host as the proxy sets it."""
    kiosk = socketio.Client(reconnection=False, websocket_extra_options={"origin": origin, "host": host})
    kiosk.connect(server.url, namespaces=[KIOSK_NAMESPACE], auth={"token": token}, headers=forwarded, transports=["websocket"], wait_timeout=5)
    return kiosk


@pytest.mark.parametrize(
    "host, forwarded",
    [
        # nginx with `proxy_set_header Host $http_host`: the port stays in Host itself.
        (PUBLIC, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.1.1.1"}),
        # a proxy that sends its own Host and tells the browser's in X-Forwarded-Host
        (None, {"X-Forwarded-Proto": "https", "X-Forwarded-Host": PUBLIC, "X-Forwarded-For": "10.1.1.1"}),
    ],
    ids=["host", "forwarded-host"],
)
def test_behind_a_proxy_on_a_non_default_port_websockets_are_accepted_and_strangers_are_not(proxied, host, forwarded):
    token = proxied.add_kiosk()["token"]
    kiosk = kiosk_through_proxy(proxied, token, f"https://{PUBLIC}", host, forwarded)
    assert kiosk.connected
    kiosk.disconnect()
    with pytest.raises(socketio.exceptions.ConnectionError):
        kiosk_through_proxy(proxied, token, "https://evil.example", host, forwarded)
    with pytest.raises(socketio.exceptions.ConnectionError):  # the port is part of the origin
        kiosk_through_proxy(proxied, token, "https://wardpulse.example.nhs.uk", host, forwarded)


def test_the_running_servers_cli_ends_sessions_at_once(direct):
    def opens_ward(cookie: str) -> bool:
        return requests.get(direct.url + "/ward/7B", headers={"Cookie": cookie}, allow_redirects=False).status_code == 200

    cookie = staff_cookie(direct.url, "sister")
    assert opens_ward(cookie)
    direct.cli("staff", "passwd", "sister", input="a-brand-new-password\n")
    assert not opens_ward(cookie)
    cookie = staff_cookie(direct.url, "sister", "a-brand-new-password")
    assert opens_ward(cookie)
    screen = socketio.Client(reconnection=False)
    screen.connect(direct.url, namespaces=[STAFF_NAMESPACE], auth={"ward": "7B"}, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=5)
    assert direct.cli_json("staff", "sign-out", "sister")["session_generation"] == 2
    assert not opens_ward(cookie)
    wait_until(lambda: not screen.connected, what="the open ward screen to be closed")
