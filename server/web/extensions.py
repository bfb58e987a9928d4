"""The Flask extensions every part of the web layer shares, and the one way to reach the ward service."""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import Babel
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect

from server.ward.service import WardService
from server.web.languages import Catalogues

socketio = SocketIO()
csrf = CSRFProtect()
babel = Babel()

WARD_SERVICE = "wardpulse"  # the key of the app's WardService in app.extensions
CATALOGUES = "wardpulse_languages"  # the key of the app's compiled Catalogues
MESSAGE_QUEUE = "wardpulse_queue"  # the key of the app's WardQueue, when ward processes share Redis


def ward_service(app: Flask | None = None) -> WardService:
    """The ward service of `app`, or of the app handling this request or socket event."""
    return (app or current_app).extensions[WARD_SERVICE]


def catalogues(app: Flask | None = None) -> Catalogues:
    """The languages the kiosk offers, compiled at start (shipped and the trust's), of `app` or the current app."""
    return (app or current_app).extensions[CATALOGUES]


def message_queue(app: Flask | None = None):
    """The app's message queue between ward processes (a WardQueue), or None for a server on its own."""
    return (app or current_app).extensions.get(MESSAGE_QUEUE)
