"""Read aloud: the kiosk's questions and answers as sound, for patients who cannot read the screen.

The kiosk first uses a voice on the tablet itself (speechSynthesis, only a local one). Where the tablet
has none for the language, it plays clips the ward server serves: synthesised with eSpeak NG from the
catalogues and committed under kiosk/static/audio/<tag>/<clip>.opus (`make audio` makes them again), or
a trust's own recording of the same clip in <data dir>/recordings/<tag>/<clip>.<ext>, which always wins.
The kiosk's service worker keeps every clip, so it still speaks with the server stopped. A language
eSpeak NG has no voice for (Somali) has no clips: the kiosk says so on its Listen button.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, send_from_directory, url_for

import kiosk
from server.web.extensions import catalogues
from server.web.languages import Catalogues

SHIPPED_AUDIO = kiosk.STATIC / "audio"
RECORDINGS = "recordings"  # inside the data dir
FORMATS = {".opus": "audio/ogg", ".ogg": "audio/ogg", ".mp3": "audio/mpeg", ".wav": "audio/wav", ".m4a": "audio/mp4"}
# The kiosk's language tag -> the eSpeak NG voice for it. Somali has none.
VOICES = {
    "en-GB": "en-gb", "pl": "pl", "ro": "ro", "pa": "pa", "ur": "ur", "pt": "pt", "es": "es", "ar": "ar",
    "bn": "bn", "gu": "gu", "lt": "lt", "zh-Hans": "cmn",
}
ANSWER_CODES = ("very_good", "good", "neither", "poor", "very_poor", "dont_know")


def clips(words: dict) -> dict[str, str]:
    """{clip name: words to speak} for one language: each screen's question, and the answers in each wording."""
    said = {f"question-{wording}": text for wording, text in words["question"].items()}
    for wording, answers in words["answers"].items():
        said.update({f"answer-{wording}-{code}": answers[code] for code in ANSWER_CODES})
    for key in ("more", "comment", "follow_up", "where", "thanks"):
        said[key] = words[key]
    return said


def _clip_file(folder: Path, tag: str, clip: str) -> Path | None:
    for suffix in FORMATS:
        path = folder / tag / f"{clip}{suffix}"
        if path.is_file():
            return path
    return None


def clip_names(data_dir: Path, tag: str) -> list[str]:
    """The clips the ward server has for a language, recorded or synthesised."""
    names = set()
    for folder in (SHIPPED_AUDIO, data_dir / RECORDINGS):
        if (folder / tag).is_dir():
            names |= {p.stem for p in (folder / tag).iterdir() if p.suffix in FORMATS}
    return sorted(names)


bp = Blueprint("speech", __name__, url_prefix="/kiosk/audio")


@bp.get("/kiosk.json")
def audio_list():
    """Every clip, for the kiosk's service worker to keep, and which languages have any."""
    data_dir = Path(current_app.config["DATA_DIR"])
    offered = catalogues()
    by_language = {lang.tag: clip_names(data_dir, lang.tag) for lang in offered.languages}
    files = [url_for("speech.clip", tag=tag, clip=name) for tag, names in by_language.items() for name in names]
    return jsonify({"files": files})


@bp.get("/<tag>/<clip>")
def clip(tag, clip):
    """One clip: the trust's recording if there is one, else the synthesised one."""
    if not catalogues().by_tag(tag):
        abort(404)
    for folder in (Path(current_app.config["DATA_DIR"]) / RECORDINGS, SHIPPED_AUDIO):
        found = _clip_file(folder, tag, clip)
        if found:
            return send_from_directory(found.parent, found.name, mimetype=FORMATS[found.suffix], max_age=3600)
    abort(404)


def languages_with_audio(data_dir: Path, catalogues: Catalogues) -> list[str]:
    """The tags the kiosk can play clips for (the rest need the tablet's own voice, or have none)."""
    return [lang.tag for lang in catalogues.languages if clip_names(data_dir, lang.tag)]
