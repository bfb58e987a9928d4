"""What a comment is about: themes found by word and phrase matching, in any language a trust gives words for. Pure.

Matching words is crude next to reading, and that is the point: a sister can see why a comment got
its theme, and a trust can add the words its patients use (in English or any catalogue language)
without a model to retrain. A term matches at the start of a word, so "wait" finds "waited" and
"waiting"; a term in a script written without spaces (Chinese) matches anywhere.
"""

from __future__ import annotations

import re
import unicodedata

# The trust's starting list; a trust replaces or extends it (see `parse_themes`).
DEFAULT_THEMES: dict[str, dict[str, list[str]]] = {
    "Staff attitude": {"en": ["rude", "kind", "caring", "friendly", "attitude", "polite", "helpful", "compassion",
                              "respect", "dismissive", "lovely staff", "nurses were"]},
    "Communication": {"en": ["explain", "told", "inform", "listen", "communicat", "update", "nobody said",
                             "didn't know what", "kept in the dark"]},
    "Waiting": {"en": ["wait", "delay", "queue", "slow", "took ages", "long time", "buzzer"]},
    "Pain": {"en": ["pain", "painkiller", "hurt", "sore", "ache"]},
    "Food": {"en": ["food", "meal", "drink", "breakfast", "lunch", "dinner", "menu", "hungry", "thirsty", "cold tea"]},
    "Noise and sleep": {"en": ["noise", "noisy", "loud", "sleep", "night", "quiet", "snor"]},
    "Cleanliness": {"en": ["clean", "dirty", "toilet", "bathroom", "hygien", "smell", "dust"]},
    "Discharge": {"en": ["discharge", "going home", "sent home", "transport home", "to take out"]},
}


class ThemesError(ValueError):
    """A trust's theme list that cannot be used, with what to fix."""


def _spaceless(term: str) -> bool:
    """Chinese and Japanese are written without spaces between words, so there is no word start to find."""
    return any(unicodedata.name(ch, "").startswith(("CJK UNIFIED", "HIRAGANA", "KATAKANA")) for ch in term)


def _pattern(term: str) -> str:
    term = re.escape(term.casefold())
    return term if _spaceless(term) else rf"(?<!\w){term}"


class ThemeFinder:
    """Finds the themes of a comment, in every language the theme list has words for."""

    def __init__(self, themes: dict[str, dict[str, list[str]]] = DEFAULT_THEMES):
        self.names = list(themes)
        self._patterns = {
            name: re.compile("|".join(_pattern(term) for terms in by_lang.values() for term in terms))
            for name, by_lang in themes.items() if any(by_lang.values())
        }

    def themes(self, comment: str | None) -> list[str]:
        """The themes a comment mentions, in the list's order; none for no comment."""
        if not comment:
            return []
        text = unicodedata.normalize("NFKC", comment).casefold()
        return [name for name, pattern in self._patterns.items() if pattern.search(text)]


def parse_themes(data: object) -> dict[str, dict[str, list[str]]]:
    """A trust's theme list ({theme: {language: [word or phrase, ...]}}), checked; raises ThemesError."""
    if not isinstance(data, dict) or not data:
        raise ThemesError("the theme list must be an object of themes, e.g. {\"Food\": {\"en\": [\"meal\"]}}")
    themes = {}
    for name, by_lang in data.items():
        if not isinstance(name, str) or not name.strip():
            raise ThemesError("every theme needs a name")
        if not isinstance(by_lang, dict) or not all(
                isinstance(lang, str) and isinstance(terms, list) and all(isinstance(t, str) and t.strip() for t in terms)
                for lang, terms in by_lang.items()):
            raise ThemesError(f"theme {name!r}: give words as {{\"en\": [\"word\", \"a phrase\"]}}, one list per language")
        themes[name.strip()] = {lang: [t.strip() for t in terms] for lang, terms in by_lang.items()}
    return themes
