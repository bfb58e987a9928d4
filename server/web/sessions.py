"""Flask's signed-cookie sessions with the signing serializer built once per secret key, not once per request.

Flask-SocketIO opens the cookie session for every Socket.IO event (a request context each), and Flask
builds a new itsdangerous serializer each time it opens one: about 40 µs of a kiosk's rating, whose
handler never reads the cookie. The serializer holds only the keys and settings, so one can sign and
check every cookie until the secret key (or its fallbacks) changes.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


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
