"""server/web/sessions.py: the signing serializer is built once per secret key; socket events skip the cookie."""

from __future__ import annotations

import pytest
from flask import session
from itsdangerous import BadSignature

from server.web.sessions import SOCKET_SESSION


def test_the_signing_serializer_is_built_once_while_the_key_stays(app):
    sessions = app.session_interface
    first = sessions.get_signing_serializer(app)
    assert first is not None
    assert sessions.get_signing_serializer(app) is first


def test_a_new_secret_key_gets_a_new_serializer_that_refuses_old_cookies(app):
    sessions = app.session_interface
    cookie = sessions.get_signing_serializer(app).dumps({"user": "sister"})
    app.secret_key = "a different key"
    renewed = sessions.get_signing_serializer(app)
    assert renewed.loads(renewed.dumps({"user": "sister"})) == {"user": "sister"}
    with pytest.raises(BadSignature):
        renewed.loads(cookie)


def test_a_session_cookie_still_round_trips_through_requests(app):
    @app.route("/test-remember")
    def remember():
        session["seen"] = session.get("seen", 0) + 1
        return str(session["seen"])

    client = app.test_client()
    assert [client.get("/test-remember").text for _ in range(3)] == ["1", "2", "3"]


def test_a_connected_sockets_events_do_not_read_the_cookie(app):
    sessions = app.session_interface
    cookie = f"{sessions.get_cookie_name(app)}={sessions.get_signing_serializer(app).dumps({'user': 'sister'})}"
    with app.test_request_context(headers={"Cookie": cookie}):  # a page, or a socket connecting
        assert session["user"] == "sister"
    # Later events of a connected socket: Flask-SocketIO puts the socket's own copy in place of this one.
    with app.test_request_context(headers={"Cookie": cookie}, environ_base={SOCKET_SESSION: {"user": "sister"}}):
        assert "user" not in session
