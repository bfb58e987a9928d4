"""Comment themes: which words find which theme, in English and in the languages a trust adds."""

import pytest

from server.ward.themes import DEFAULT_THEMES, ThemeFinder, ThemesError, parse_themes


@pytest.mark.parametrize("comment, themes", [
    ("Waited a long time for pain relief", ["Waiting", "Pain"]),
    ("The nurses were so kind", ["Staff attitude"]),
    ("Too noisy at night, could not sleep", ["Noise and sleep"]),
    ("Toilets were dirty", ["Cleanliness"]),
    ("Nobody explained my discharge", ["Communication", "Discharge"]),
    ("Lovely", []),
    ("", []),
    (None, []),
    ("UNKIND", []),          # a term matches at the start of a word, not inside one ("kind" in "unkind")
    ("AWAITING results", []),  # nor "wait" inside "awaiting"
    ("WAITING for hours", ["Waiting"]),  # case does not matter
])
def test_default_themes(comment, themes):
    assert ThemeFinder().themes(comment) == themes


def test_a_trust_adds_words_in_other_languages():
    finder = ThemeFinder(parse_themes({**DEFAULT_THEMES, "Food": {"en": ["meal"], "pl": ["jedzenie"], "zh-Hans": ["饭菜"]}}))
    assert finder.themes("Jedzenie było zimne") == ["Food"]
    assert finder.themes("饭菜很冷") == ["Food"]  # no spaces between Chinese words: matched anywhere
    assert finder.themes("Dobra opieka") == []


@pytest.mark.parametrize("bad, message", [
    ([], "must be an object"),
    ({}, "must be an object"),
    ({"Food": ["meal"]}, "one list per language"),
    ({"Food": {"en": "meal"}}, "one list per language"),
    ({"Food": {"en": [""]}}, "one list per language"),
    ({" ": {"en": ["meal"]}}, "needs a name"),
])
def test_a_theme_list_that_cannot_be_used_says_what_to_fix(bad, message):
    with pytest.raises(ThemesError, match=message):
        parse_themes(bad)
