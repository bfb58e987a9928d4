"""Application factory: defaults, then environment, then the caller's config."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import weakref
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import Map

from server.store.atomic import load_secret
from server.ward.picture import WARD_TIMEZONE
from server.ward.service import WardService
from server.web import (
    auth,
    events,
    followup,
    fonts,
    headers,
    manage,
    overview,
    routes,
    shards,
    speech,
    trust_admin,
    you_said_pages,
)
from server.web.broadcast import tell_overviews, tell_own_screens_how_things_stand
from server.web.extensions import CATALOGUES, MESSAGE_QUEUE, WARD_SERVICE, babel, csrf, socketio, ward_service
from server.web.languages import TRUST_FOLDER, compile_catalogues
from server.web.links import link
from server.web.message_queue import WardQueue
from server.web.sessions import SigningOnce
from shared.protocol import MAX_PAYLOAD_BYTES

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def create_app(config: dict | None = None) -> Flask:
    """Build the ward server. `config` wins over WARDPULSE_* environment variables, which win over defaults."""
    app = Flask(__name__)
    app.config.from_mapping(
        DATA_DIR="var",
        TIMEZONE=WARD_TIMEZONE,  # WARDPULSE_TIMEZONE: the ward's days and months
        PUBLIC_URL=None,  # the address phones and tablets use, for QR codes and links
        TREND_DEFAULT_P0=0.08,  # negative rate assumed until a ward has ~900 ratings of its own
        TREND_DEFAULT_VOLUME=30.0,  # ratings a day assumed until a ward has a week of history
        ASYNC_MODE="threading",
        OFFLOAD=None,  # how to run blocking disk work off the event loop (set by the entry point)
        CONTROL_TOKEN=None,  # admin commands from the CLI of a running server (set by `serve`)
        WARDS=None,  # the wards this process owns (`serve --wards`); None: every ward
        MESSAGE_QUEUE=None,  # redis://HOST:PORT/DB shared by ward processes (`serve --message-queue`)
        TRUSTED_PROXIES=0,  # proxy hops in front (nginx: 1) whose X-Forwarded-* headers are believed
        VENDOR_DIR=str(PROJECT_ROOT / "node_modules" / "socket.io-client" / "dist"),
        FONT_DIR=str(PROJECT_ROOT / "node_modules" / "@fontsource"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),  # a shift
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        # Over HTTPS Flask-WTF also wants a same-site Referer, which our Referrer-Policy (no-referrer: links
        # carry tokens) never lets a browser send; the session-bound token and SameSite cookie remain.
        WTF_CSRF_SSL_STRICT=False,
        BABEL_DEFAULT_LOCALE="en_GB",
    )
    app.config.from_prefixed_env("WARDPULSE")
    if config:
        app.config.update(config)
    hops = proxy_hops(app.config["TRUSTED_PROXIES"])

    data_dir = Path(app.config["DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    app.secret_key = os.environ.get("WARDPULSE_SECRET_KEY") or load_secret(data_dir)
    app.session_interface = SigningOnce()
    app.extensions[WARD_SERVICE] = WardService(
        data_dir,
        app.config["TIMEZONE"],
        app.config["OFFLOAD"],
        # The alert's QR code link, on the address staff phones use (known once `serve` has bound its port).
        follow_up_link=lambda token: link(app.url_map, app.config["PUBLIC_URL"] or "", "followup.follow_up", token=token),
        default_p0=app.config["TREND_DEFAULT_P0"],
        default_volume=app.config["TREND_DEFAULT_VOLUME"],
        wards=app.config["WARDS"],
    )

    compile_languages(app, data_dir)
    babel.init_app(app)
    csrf.init_app(app)
    headers.init_app(app)

    @app.context_processor
    def page_language():
        return {"html_lang": str(get_locale() or "en_GB").replace("_", "-")}

    register_pages(app)
    csrf.exempt(routes.control)
    csrf.exempt(shards.answer)
    queue = WardQueue(app.config["MESSAGE_QUEUE"]) if app.config["MESSAGE_QUEUE"] else None

    socketio.init_app(
        app,
        async_mode=app.config["ASYNC_MODE"],
        max_http_buffer_size=MAX_PAYLOAD_BYTES,
        logger=False,
        engineio_logger=False,
        # Threading mode already gives each socket its own thread; a further thread per event only
        # costs (ingest +25 % without it, README "Performance"). Each socket's events stay in order.
        async_handlers=app.config["ASYNC_MODE"] != "threading",
        client_manager=queue,  # None: Socket.IO's own, for a server on its own (given each time: init_app remembers)
    )
    events.register(socketio)
    if queue is not None:
        join_other_processes(app, queue)
    if hops:
        # Each proxy appends the peer it saw, so only the last `hops` entries of X-Forwarded-* are
        # believed; anything further left is the client's own say. Wrapped outside the Socket.IO
        # middleware, so websocket origin checks see the scheme and host the browser used.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=0)
    return app


def register_pages(app: Flask) -> None:
    """Every page of WardPulse, one blueprint per area."""
    app.register_blueprint(routes.kiosk_pages)
    app.register_blueprint(routes.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(followup.bp)
    app.register_blueprint(manage.bp)
    app.register_blueprint(overview.bp)
    app.register_blueprint(you_said_pages.bp)
    app.register_blueprint(trust_admin.bp)
    app.register_blueprint(fonts.bp)
    app.register_blueprint(speech.bp)
    app.register_blueprint(shards.bp)
    app.add_url_rule("/vendor/<path:filename>", endpoint="vendor", view_func=routes.vendor)


def join_other_processes(app: Flask, queue: WardQueue) -> None:
    """Wire a ward process to the others: registry changes announced and heard, screens resynced when Redis returns."""
    app.extensions[MESSAGE_QUEUE] = queue
    watch = shards.RegistryWatch(app)

    def changed_here() -> None:
        watch.changed_here()
        queue.notify("registry")

    ward_service(app).registry.after_change(changed_here)
    queue.on_notice = lambda notice: notice.get("what") == "registry" and watch.changed_elsewhere()

    def back() -> None:  # Redis returns: catch up on what was missed meanwhile
        watch.changed_elsewhere()
        tell_own_screens_how_things_stand(ward_service(app))  # the banner clears first; snapshots ask the owners
        shards.resync_screens(app)

    queue.on_back = back
    queue.on_lost = lambda: tell_own_screens_how_things_stand(ward_service(app))
    queue.initialize()
    for ward in sorted(ward_service(app).owned):  # (re)started: overviews elsewhere showing "not answering" fill in
        tell_overviews(ward_service(app), ward)


def compile_languages(app: Flask, data_dir: Path) -> None:
    """Compile the shipped and the trust's catalogues for this app; say which trust catalogue was left out, and why."""
    compiled = tempfile.mkdtemp(prefix="wardpulse-catalogues-")
    weakref.finalize(app, shutil.rmtree, compiled, ignore_errors=True)  # removed with the app
    catalogues = compile_catalogues(Path(compiled), data_dir / TRUST_FOLDER)
    for problem in catalogues.problems:
        logging.getLogger("wardpulse").error("wardpulse: %s", problem)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = compiled
    app.extensions[CATALOGUES] = catalogues


def page_routes() -> Map:
    """The routes of every page without building a ward server: for links printed by the command line."""
    app = Flask(__name__)
    register_pages(app)
    return app.url_map


def proxy_hops(value: object) -> int:
    """TRUSTED_PROXIES checked: how many proxies in front may tell the client's address, scheme and host."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"WARDPULSE_TRUSTED_PROXIES must be a whole number of proxy hops, 0 or more (not {value!r})")
    return value
