"""server/ward/theme_list.py: a trust's themes.json overrides the default themes; a bad one never stops the server."""

from __future__ import annotations

import json

import pytest

from server.store.files import THEMES_FILE
from server.ward.theme_list import trust_themes
from server.ward.themes import DEFAULT_THEMES

TRUST = {"Call bells": {"en": ["call bell", "buzzer"], "pl": ["dzwonek"]}, "Parking": {"en": ["parking", "car park"]}}


def test_without_a_file_the_default_themes_are_used(tmp_path):
    finder, problem = trust_themes(tmp_path)
    assert (finder.names, problem) == (list(DEFAULT_THEMES), None)


@pytest.mark.parametrize("comment, themes", [
    ("Nobody answered the buzzer", ["Call bells"]),
    ("Nikt nie odpowiadał na dzwonek", ["Call bells"]),  # the trust's Polish words
    ("The car park was full and the call bell broken", ["Call bells", "Parking"]),
    ("The food was cold", []),  # the trust's list replaces the defaults
])
def test_the_trusts_file_replaces_the_defaults_in_every_language_it_gives(tmp_path, comment, themes):
    (tmp_path / THEMES_FILE).write_text(json.dumps(TRUST), encoding="utf-8")
    finder, problem = trust_themes(tmp_path)
    assert problem is None and finder.names == ["Call bells", "Parking"]
    assert finder.themes(comment) == themes


@pytest.mark.parametrize("text, says", [
    ("{not json", "cannot be read as JSON"),
    ('["Food"]', "must be an object of themes"),
    ('{"Food": ["meal"]}', "one list per language"),
    (b"\xff\xfe\x00", "cannot be read as JSON"),
])
def test_a_bad_file_is_reported_in_plain_words_and_the_defaults_are_used(tmp_path, text, says):
    path = tmp_path / THEMES_FILE
    path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
    finder, problem = trust_themes(tmp_path)
    assert finder.names == list(DEFAULT_THEMES)
    assert problem.startswith("The trust's themes file is not used") and says in problem
