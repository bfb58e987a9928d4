"""`make audio`: speak the kiosk's read-aloud clips with eSpeak NG from the shipped catalogues.

The ward server serves them (server/web/speech.py); they are committed, so a fresh clone speaks without
eSpeak NG installed. Run again after changing a catalogue.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from server.web.app import create_app
from server.web.extensions import catalogues, ward_service
from server.web.kiosk_words import all_words
from server.web.speech import SHIPPED_AUDIO, VOICES, clips


def synthesise(words_by_tag: dict[str, dict], out: Path) -> int:
    """Speak every clip of every language eSpeak NG has a voice for into `out` as Opus; how many were made."""
    for tool in ("espeak-ng", "opusenc"):
        if not shutil.which(tool):
            raise SystemExit(f"`make audio` needs {tool}: apt-get install espeak-ng opus-tools")
    made = 0
    with tempfile.TemporaryDirectory() as scratch:
        wav = Path(scratch) / "clip.wav"
        for tag, words in sorted(words_by_tag.items()):
            voice = VOICES.get(tag)
            if not voice:
                continue
            folder = out / tag
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            for name, text in clips(words).items():
                subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "-w", str(wav), text], check=True)
                # A fixed serial number: the same words give the same file, so a regeneration changes only what changed.
                subprocess.run(
                    ["opusenc", "--quiet", "--bitrate", "16", "--serial", "1", str(wav), str(folder / f"{name}.opus")],
                    check=True,
                )
                made += 1
    return made


def main() -> None:
    """`python -m server.tools.audio`: regenerate kiosk/static/audio from the shipped catalogues."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", type=Path, default=SHIPPED_AUDIO, help="where the clips go")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app({"DATA_DIR": data_dir, "TESTING": True})
        with app.test_request_context():
            words = all_words(catalogues(app))
        ward_service(app).close()
    print(f"{synthesise(words, args.out)} clips written to {args.out}")


if __name__ == "__main__":
    main()
