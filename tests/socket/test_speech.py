"""server/web/speech.py through Flask's test client: the read-aloud clips, a trust's recordings winning."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.web.extensions import catalogues
from server.web.speech import ANSWER_CODES, SHIPPED_AUDIO, VOICES, clips


def test_every_voiced_language_ships_every_clip(app):
    with app.test_request_context():
        from server.web.kiosk_words import all_words

        words = all_words(catalogues(app))
    for tag in VOICES:
        expected = set(clips(words[tag]))
        assert {p.stem for p in (SHIPPED_AUDIO / tag).glob("*.opus")} == expected, f"{tag}: run `make audio`"
    assert not (SHIPPED_AUDIO / "so").exists()  # eSpeak NG has no Somali voice: no clips pretending to be one
    assert {f"answer-standard-{code}" for code in ANSWER_CODES} <= expected


def test_trust_recording_wins_over_the_synthesised_clip(app, client):
    recordings = Path(app.config["DATA_DIR"]) / "recordings" / "ur"
    recordings.mkdir(parents=True)
    (recordings / "question-standard.wav").write_bytes(b"RIFF-a-recording")
    with client.get("/kiosk/audio/ur/question-standard") as recorded:
        assert (recorded.status_code, recorded.mimetype, recorded.data) == (200, "audio/wav", b"RIFF-a-recording")
    with client.get("/kiosk/audio/ur/thanks") as shipped:
        assert (shipped.status_code, shipped.mimetype) == (200, "audio/ogg")
        assert shipped.data == (SHIPPED_AUDIO / "ur" / "thanks.opus").read_bytes()


def test_recordings_give_a_voice_to_a_language_espeak_lacks(app, client):
    assert 'data-lang="so"' in client.get("/kiosk/").get_data(as_text=True)
    assert '"so"' not in str(client.get("/kiosk/audio/kiosk.json").json)
    somali = Path(app.config["DATA_DIR"]) / "recordings" / "so"
    somali.mkdir(parents=True)
    (somali / "question-standard.mp3").write_bytes(b"ID3")
    assert "/kiosk/audio/so/question-standard" in client.get("/kiosk/audio/kiosk.json").json["files"]
    page = client.get("/kiosk/").get_data(as_text=True)
    assert '{"audio": true, "name": "Soomaali"' in page


@pytest.mark.parametrize(
    "path",
    ["/kiosk/audio/xx/question-standard", "/kiosk/audio/ur/no-such-clip", "/kiosk/audio/ur/..%2F..%2Fsecret", "/fonts/noto-sans-arabic/README.md"],
)
def test_only_clips_and_fonts_are_served(client, path):
    assert client.get(path).status_code == 404
