"""Flask's signed-cookie sessions, with two costs of every Socket.IO event taken out.

Flask-SocketIO opens the cookie session for every Socket.IO event (a request context each), and Flask
builds a new itsdangerous serializer each time it opens one: about 40 µs of a kiosk's rating, whose
handler never reads the cookie. The serializer holds only the keys and settings, so one is kept and
signs and checks every cookie until the secret key (or its fallbacks) changes.

After a socket's connect event Flask-SocketIO keeps that connection's own copy of the session and puts
it in place of whatever was opened, so for its later events the cookie is not read at all (parsing
the cookie header and checking its signature: 20 µs of each rating, measured with py-spy).
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

# Where Flask-SocketIO keeps a connection's session in the socket's WSGI environ once it has connected.
SOCKET_SESSION = "saved_session"


class SigningOnce(SecureCookieSessionInterface):
    """The signed-cookie session interface, its serializer kept while the secret key stays the same."""

    def __init__(self) -> None:
        self._kept: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask's serializer for this app's keys, built again only when they change."""
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        kept = self._kept
        if kept is None or kept[0] != keys:
            kept = self._kept = (keys, super().get_signing_serializer(app))
        return kept[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The cookie's session; for a connected socket's events an empty stand-in, replaced by its own copy."""
        if SOCKET_SESSION in request.environ:
            return self.session_class()
        return super().open_session(app, request)
