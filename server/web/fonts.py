"""Fonts for the scripts a ward tablet may lack, served by the ward server itself (wards have no internet).

Urdu is written in Nastaliq, which few tablets carry; Gurmukhi, Gujarati and Bengali are missing from
many. The fonts come from the @fontsource Noto packages pinned in package-lock.json, only each
script's own subset in the two weights the kiosk uses. The kiosk's service worker keeps them all,
since a patient may pick any language with the server down.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, send_from_directory, url_for

# (@fontsource package, the subset that holds its script)
KIOSK_FONTS = (
    ("noto-nastaliq-urdu", "arabic"),
    ("noto-sans-arabic", "arabic"),
    ("noto-sans-bengali", "bengali"),
    ("noto-sans-gujarati", "gujarati"),
    ("noto-sans-gurmukhi", "gurmukhi"),
)
WEIGHTS = (400, 700)  # hints, and questions and answers

bp = Blueprint("fonts", __name__, url_prefix="/fonts")


def stylesheets() -> list[str]:
    """The @font-face stylesheets, as paths inside the @fontsource folder."""
    return [f"{package}/{subset}-{weight}.css" for package, subset in KIOSK_FONTS for weight in WEIGHTS]


def font_files() -> list[str]:
    """The font files those stylesheets point to."""
    return [f"{package}/files/{package}-{subset}-{weight}-normal.woff2" for package, subset in KIOSK_FONTS for weight in WEIGHTS]


@bp.get("/kiosk.json")
def kiosk_fonts():
    """Every font file the kiosk may need, for its service worker to keep."""
    return jsonify({"files": [url_for("fonts.font", filename=name) for name in stylesheets() + font_files()]})


@bp.get("/<path:filename>")
def font(filename):
    """One of the kiosk's stylesheets or font files; nothing else in the packages is served."""
    if filename not in stylesheets() and filename not in font_files():
        abort(404)
    return send_from_directory(current_app.config["FONT_DIR"], filename, max_age=86400)
