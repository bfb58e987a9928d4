"""Public links built from route names, so a renamed route can never leave a printed link behind."""

from __future__ import annotations

from flask import current_app, request
from werkzeug.routing import Map


def link(url_map: Map, base: str, endpoint: str, fragment: str = "", **values) -> str:
    """`base` (the address phones and tablets use) plus the path of `endpoint`; other values become the query."""
    path = url_map.bind("localhost").build(endpoint, {k: v for k, v in values.items() if v is not None})
    return base.rstrip("/") + path + (f"#{fragment}" if fragment else "")


def public_link(endpoint: str, fragment: str = "", **values) -> str:
    """A link for a QR code or a printed page: on the configured PUBLIC_URL, else the address of this request."""
    base = current_app.config["PUBLIC_URL"] or request.host_url
    return link(current_app.url_map, base, endpoint, fragment, **values)
