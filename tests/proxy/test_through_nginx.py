"""The ward server behind Debian's real nginx and the shipped site file, as a trust runs it: TLS,
websockets on a non-default port, the control endpoint hidden, security headers, and sign-in limits
that tell devices apart by the address nginx saw. Each device talks from its own loopback address
(127.0.0.2, 127.0.0.3, ...), as separate machines on the ward network would."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone

import pytest
import requests
import socketio

from shared.protocol import KIOSK_NAMESPACE, RATING, iso_utc

from support import Screen, ack_body, device_at, kiosk_socket, try_sign_in, wait_until

pytestmark = pytest.mark.proxy

SIGN_IN_FAILURES_ALLOWED = 5  # per address, within 15 minutes
A_FEW_SECONDS = 10


def device(address: str, nginx) -> requests.Session:
    """An HTTP client on `address` that trusts only the test certificate."""
    http = device_at(address)
    http.verify = str(nginx.cert)
    http.trust_env = False  # REQUESTS_CA_BUNDLE or a proxy from the environment would override both
    return http


def sign_in_within_a_few_seconds(http: requests.Session, base: str, username: str, password: str) -> requests.Response:
    """Sign in as a person would: told to wait a moment (a slowed-down username), wait and try again."""
    began = time.monotonic()
    while True:
        answer = try_sign_in(http, base, username, password)
        wait = int(answer.headers.get("Retry-After", 0))
        if answer.status_code != 429 or time.monotonic() + wait - began > A_FEW_SECONDS:
            return answer
        time.sleep(wait)


def new_rating(**fields) -> dict:
    return {"id": str(uuid.uuid4()), "score": "poor", "tapped_at": iso_utc(datetime.now(timezone.utc)), **fields}


@pytest.fixture(scope="module")
def sister(ward_server):
    return ward_server.add_staff(username="sister", role="sister")


def test_shipped_site_passes_nginx_t(nginx):
    checked = nginx.check()
    assert checked.returncode == 0, checked.stderr
    assert "[emerg]" not in checked.stderr


def test_kiosk_rating_over_wss_is_acked_and_a_ward_screen_over_wss_receives_it(nginx, ward_server, sister):
    kiosk = ward_server.add_kiosk()
    nurses_station = device("127.0.0.3", nginx)
    assert try_sign_in(nurses_station, nginx.url, *sister).status_code == 302
    # Both on wss:// to a non-default port: their Origin carries the port, which the server must accept.
    screen = Screen(nginx.url, {}, http_session=nurses_station).connect()  # the session cookie goes along
    tablet = kiosk_socket(nginx.url, kiosk["token"], http_session=device("127.0.0.2", nginx))
    try:
        assert tablet.transport() == "websocket" and screen.sio.transport() == "websocket"
        rating = new_rating(comment="Through the proxy")
        ack = tablet.call(RATING, rating, namespace=KIOSK_NAMESPACE, timeout=10)
        assert ack_body(ack) == {"ok": True, "id": rating["id"], "duplicate": False}
        [seen] = wait_until(lambda: [r for r in screen.ratings if r["id"] == rating["id"]], what="the rating on the screen")
        assert seen["comment"] == "Through the proxy"
    finally:
        tablet.disconnect()
        screen.close()
    assert rating["id"] in {r["id"] for r in ward_server.export()}


def test_websocket_from_another_site_is_refused_even_with_forged_forwarded_headers(nginx, ward_server):
    kiosk = ward_server.add_kiosk()
    forged = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    with pytest.raises(socketio.exceptions.ConnectionError):
        kiosk_socket(nginx.url, kiosk["token"], http_session=device("127.0.0.4", nginx),
                     websocket_extra_options={"origin": "https://evil.example", "header": forged})


CONTROL_PATHS = ["/control", "/control/", "/control?x=1", "//control", "/%63ontrol", "/control/commands"]


def test_control_endpoint_answers_404_through_nginx(nginx, ward_server):
    bearer = {"Authorization": "Bearer " + (ward_server.data_dir / "control.token").read_text().strip()}
    # On loopback, with the data dir's token, the server does answer (it does not know this command).
    direct = requests.post(ward_server.url + "/control", json={"command": "none"}, headers=bearer, timeout=5)
    assert direct.status_code == 409, direct.text
    outside = device("127.0.0.5", nginx)
    for path in CONTROL_PATHS:
        for method in ("GET", "POST"):
            answer = outside.request(method, nginx.url + path, json={"command": "none"}, headers=bearer, timeout=5)
            assert answer.status_code == 404, (method, path, answer.status_code, answer.text[:200])
            assert "unknown admin command" not in answer.text


def test_security_headers_arrive_over_tls_with_hsts(nginx, ward_server):
    phone = device("127.0.0.6", nginx)
    for path in ("/login", "/kiosk/", "/w/7B", "/static/ward.css", "/no-such-page"):
        headers = phone.get(nginx.url + path, timeout=5).headers
        policy = headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, (path, policy)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, (path, policy)
        assert headers.get("X-Frame-Options") == "DENY", path
        assert headers.get("X-Content-Type-Options") == "nosniff", path
        assert headers.get("Referrer-Policy") == "no-referrer", path
        assert headers.get("Strict-Transport-Security", "").startswith("max-age="), path
    # Socket.IO's own answers (long-polling) are not pages: nothing may sniff, load or frame them.
    polling = phone.get(nginx.url + "/socket.io/?EIO=4&transport=polling", timeout=5)
    assert polling.status_code == 200 and polling.headers["X-Content-Type-Options"] == "nosniff"
    assert polling.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    # Plain HTTP on loopback (no TLS): no HSTS, the other headers as ever.
    direct = requests.get(ward_server.url + "/login", timeout=5).headers
    assert "Strict-Transport-Security" not in direct and direct["X-Frame-Options"] == "DENY"


def test_plain_http_is_sent_to_https(nginx):
    answer = device("127.0.0.6", nginx).get(f"http://127.0.0.1:{nginx.http_port}/kiosk/", allow_redirects=False, timeout=5)
    assert answer.status_code == 301 and answer.headers["Location"].startswith("https://"), answer.headers


def test_no_token_bearing_url_is_logged(nginx, ward_server):
    display = ward_server.add_display()
    wall = device("127.0.0.7", nginx)
    assert wall.get(nginx.url + "/ward/7B?display=" + display["token"], timeout=5).status_code == 200
    wall.get(nginx.url + "/f/a-follow-up-token-that-must-not-be-logged", timeout=5)
    for log in nginx.prefix.rglob("*.log"):
        text = log.read_text(errors="replace")
        assert display["token"] not in text and "must-not-be-logged" not in text, log


# ---------------------------------------------------------------------------------------- sign-in


def test_wrong_passwords_from_one_device_do_not_lock_the_sister_out_on_another(nginx, sister):
    username, password = sister
    outsider, ward_pc = device("127.0.0.2", nginx), device("127.0.0.3", nginx)
    for _ in range(SIGN_IN_FAILURES_ALLOWED):
        assert try_sign_in(outsider, nginx.url, username, "guess").status_code in (401, 429)

    began = time.monotonic()
    answer = sign_in_within_a_few_seconds(ward_pc, nginx.url, username, password)
    assert answer.status_code == 302, (answer.status_code, answer.text[-500:])
    assert time.monotonic() - began < A_FEW_SECONDS
    assert ward_pc.get(nginx.url + "/ward/7B", allow_redirects=False, timeout=5).status_code == 200


def test_an_address_that_keeps_failing_is_refused_across_usernames(nginx, sister):
    username, password = sister
    sprayer = device("127.0.0.8", nginx)
    for n in range(SIGN_IN_FAILURES_ALLOWED):
        assert try_sign_in(sprayer, nginx.url, f"nurse{n}", "Password1").status_code == 401
    # Even the right password is refused from there now, with a plain reason.
    refused = try_sign_in(sprayer, nginx.url, username, password)
    assert refused.status_code == 429
    assert "Too many failed sign-ins from this device" in refused.text
    # Another device signs in as ever.
    assert sign_in_within_a_few_seconds(device("127.0.0.9", nginx), nginx.url, username, password).status_code == 302


def test_forged_forwarded_for_does_not_reset_an_attackers_count(nginx, sister):
    username, password = sister
    attacker = device("127.0.0.10", nginx)
    for n in range(SIGN_IN_FAILURES_ALLOWED):
        forged = {"X-Forwarded-For": f"203.0.113.{n + 1}"}  # a new "address" on every try
        assert try_sign_in(attacker, nginx.url, f"porter{n}", "Password1", headers=forged).status_code == 401
    refused = try_sign_in(attacker, nginx.url, username, password, headers={"X-Forwarded-For": "198.51.100.99"})
    assert refused.status_code == 429


def test_the_limit_follows_the_device_not_the_proxy(nginx, ward_server, sister):
    """Without a trusted proxy every device would look like 127.0.0.1, nginx's own address."""
    username, password = sister
    for address in ("127.0.0.11", "127.0.0.12", "127.0.0.13"):
        phone = device(address, nginx)
        for n in range(SIGN_IN_FAILURES_ALLOWED - 1):
            assert try_sign_in(phone, nginx.url, f"agency{n}", "Password1").status_code == 401
    assert sign_in_within_a_few_seconds(device("127.0.0.14", nginx), nginx.url, username, password).status_code == 302

