"""server/web/languages.py: which languages the kiosk offers, and a trust's catalogues taken or left out."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.support import Translations

from server.web.languages import APPROVED, DRAFT, ENGLISH, SHIPPED, compile_catalogues, read_catalogue, tag_of

HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n{extra}\n'
REQUIRED = {"pl", "ro", "pa", "ur", "pt", "es", "ar", "bn", "gu", "lt", "zh-Hans", "so"}


def po(extra: str = "", **strings: str) -> str:
    body = "".join(f'msgid "{mid}"\nmsgstr "{text}"\n\n' for mid, text in strings.items())
    return HEADER.format(extra=extra) + "\n" + body


def translate(out: Path, code: str, message: str) -> str:
    return Translations.load(str(out), [code]).gettext(message)


def test_ships_english_and_the_twelve_languages_each_a_draft_named_in_its_own_script(tmp_path):
    catalogues = compile_catalogues(tmp_path)
    assert catalogues.languages[0].code == ENGLISH
    assert {lang.tag for lang in catalogues.languages[1:]} == REQUIRED
    assert not catalogues.problems
    names = {lang.tag: lang.name for lang in catalogues.languages}
    assert (names["pl"], names["pa"], names["ur"], names["en-GB"]) == ("Polski", "ਪੰਜਾਬੀ", "اردو", "English")
    assert {lang.tag for lang in catalogues.languages if lang.rtl} == {"ar", "ur"}
    assert {lang.status for lang in catalogues.languages[1:]} == {DRAFT}  # none is approved until the trust says so
    assert translate(tmp_path, "ur", "Yes") == "ہاں"


@pytest.mark.parametrize(
    "code, tag",
    [("zh_Hans", "zh-Hans"), ("pa", "pa"), ("en_GB", "en-GB")],
)
def test_tags_are_the_webs_spelling(code, tag):
    assert tag_of(code) == tag


@pytest.mark.parametrize(
    "text, status, approver",
    [
        (po(""), DRAFT, ""),
        (po('"X-Review-Status: draft\\n"'), DRAFT, ""),
        (po('"X-Review-Status: approved\\n"\n"X-Approved-By: Interpreting Service, 2026-12-01\\n"'), APPROVED, "Interpreting Service, 2026-12-01"),
    ],
    ids=["no-header-is-a-draft", "draft", "approved"],
)
def test_review_status_comes_from_the_header(tmp_path, text, status, approver):
    path = tmp_path / "x.po"
    path.write_text(text, encoding="utf-8")
    assert read_catalogue(path)[1:] == (status, approver)


def test_trust_catalogue_wins_string_by_string_and_may_add_a_language(tmp_path):
    trust = tmp_path / "translations"
    trust.mkdir()
    (trust / "pl.po").write_text(po('"X-Review-Status: approved\\n"', Yes="Tak, proszę"), encoding="utf-8")
    (trust / "ckb.po").write_text(po(Yes="بەڵێ"), encoding="utf-8")  # Kurdish Sorani, which we do not ship
    out = tmp_path / "out"
    catalogues = compile_catalogues(out, trust)
    assert not catalogues.problems
    assert translate(out, "pl", "Yes") == "Tak, proszę"
    assert translate(out, "pl", "No") == "Nie"  # the shipped words for what the trust left alone
    polish, sorani = catalogues.by_tag("pl"), catalogues.by_tag("ckb")
    assert (polish.status, polish.trust_override) == (APPROVED, True)
    assert sorani is not None and sorani.rtl and translate(out, "ckb", "Yes") == "بەڵێ"


@pytest.mark.parametrize(
    "name, text, reason, kept",
    [
        ("pl.po", 'msgid "Yes"\nmsgstr "Tak', "not a valid .po file", "the shipped words are kept"),
        ("pl.po", po(**{"%(n)s waiting": "%(m)s czeka"}), "unknown named placeholder", "the shipped words are kept"),
        ("xx-nowhere.po", po(Yes="Ja"), "not a language code", "English is kept"),
        ("so.po", b"\xff\xfe not utf-8", "cannot be read as UTF-8", "the shipped words are kept"),
    ],
    ids=["broken-syntax", "placeholder-differs", "unknown-language", "not-utf8"],
)
def test_a_catalogue_that_does_not_compile_is_reported_and_left_out(tmp_path, name, text, reason, kept):
    trust = tmp_path / "translations"
    trust.mkdir()
    path = trust / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    catalogues = compile_catalogues(out, trust)
    [problem] = catalogues.problems
    assert str(path) in problem and reason in problem and kept in problem
    assert translate(out, "pl", "Yes") == "Tak"  # nothing else changed


def test_every_shipped_catalogue_translates_every_kiosk_word():
    """A draft that leaves a kiosk word untranslated would show English to a patient mid-way."""
    english, _status, _by = read_catalogue(SHIPPED / "pl" / "LC_MESSAGES" / "messages.po")
    for po_file in SHIPPED.glob("*/LC_MESSAGES/messages.po"):
        catalogue = read_catalogue(po_file)[0]
        missing = [m.id for m in english if m.id and not (catalogue.get(m.id) and catalogue.get(m.id).string)]
        assert not missing, f"{po_file.parent.parent.name}: {missing}"
