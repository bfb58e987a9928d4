"""The kiosk's languages: which there are, their names in their own script, direction and review status.

Catalogues ship as gettext `.po` files in server/web/translations/<code>/LC_MESSAGES/messages.po. A trust
changes any string, or adds a language, by placing `<code>.po` in <data dir>/translations/: its strings
win over the shipped ones. Every catalogue is compiled with Babel's API when the server starts (there is
no separate build step, so a trust's file works after a restart), into one folder Flask-Babel reads.
A catalogue that does not compile (a broken file, a translation whose placeholders differ from the
English) is left out with a clear message: the shipped words, or English, are kept.

Each `.po` header says who stands behind it: `X-Review-Status: draft` until the trust's interpreting
service has checked it, then `approved` (with `X-Approved-By:`). Pure: Babel only, no Flask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po

ENGLISH = "en_GB"
DOMAIN = "messages"
SHIPPED = Path(__file__).parent / "translations"
TRUST_FOLDER = "translations"  # inside the data dir
DRAFT, APPROVED, SOURCE = "draft", "approved", "source"
_STATUS = re.compile(r'^"X-Review-Status:\s*([A-Za-z]+)', re.MULTILINE)
_APPROVER = re.compile(r'^"X-Approved-By:\s*([^"\\]*)', re.MULTILINE)
# Babel's reader quietly cuts an unterminated string ("Tak -> Ta): every string line is checked first.
_STRING_LINE = re.compile(r'(#~\s*)?(msgctxt|msgid|msgid_plural|msgstr(\[\d+\])?)?\s*"(?:[^"\\]|\\.)*"\s*')


@dataclass(frozen=True)
class Language:
    """One language the kiosk offers. Its names and direction come from Babel's locale data, read
    when first asked for: loading it for every language costs a fifth of a second, which a server
    restarting after a crash should not wait for."""

    code: str  # Babel's identifier, also the catalogue folder: zh_Hans
    status: str  # DRAFT, APPROVED, or SOURCE for English
    approved_by: str = ""
    trust_override: bool = False

    @property
    def tag(self) -> str:
        """The BCP 47 tag for <html lang> and ratings: zh-Hans."""
        return tag_of(self.code)

    @cached_property
    def _locale(self) -> Locale:
        return Locale.parse(self.code)

    @cached_property
    def name(self) -> str:
        """In its own script: 中文 (简体)."""
        return _own_name(self._locale) or self.code

    @cached_property
    def english_name(self) -> str:
        return self._locale.get_display_name("en") or self.code

    @cached_property
    def rtl(self) -> bool:
        return self._locale.character_order == "right-to-left"

    def public(self) -> dict:
        """What the kiosk page needs to offer and switch to this language."""
        return {"tag": self.tag, "name": self.name, "rtl": self.rtl}


@dataclass(frozen=True)
class Catalogues:
    """The outcome of compiling: the languages on offer and each catalogue that was left out, and why."""

    languages: tuple[Language, ...]
    problems: tuple[str, ...]

    def by_tag(self, tag: object) -> Language | None:
        """The language for a tag as a kiosk or a form sends it, or None."""
        return next((lang for lang in self.languages if lang.tag == tag), None)


def tag_of(code: str) -> str:
    """Babel's zh_Hans as the web's zh-Hans."""
    return code.replace("_", "-")


def describe(code: str, status: str, approved_by: str = "", trust_override: bool = False) -> Language:
    """A language Babel knows (ValueError if it does not)."""
    Locale.parse(code)  # the identifier only: the locale data itself is read when a name is first needed
    return Language(code=code, status=status, approved_by=approved_by, trust_override=trust_override)


def _own_name(locale: Locale) -> str:
    """"Polski", "ਪੰਜਾਬੀ", "中文 (简体)", "English": the script only where it tells two catalogues apart."""
    name = locale.get_display_name(locale) if locale.script else locale.get_language_name(locale)
    return name[:1].upper() + name[1:] if name else ""


def read_catalogue(path: Path) -> tuple[Catalog, str, str]:
    """Parse one .po file and check it; (catalogue, review status, approver). Raises ValueError saying what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot be read as UTF-8 text ({exc})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and not _STRING_LINE.fullmatch(stripped):
            raise ValueError(f"is not a valid .po file (line {number}: a string must be in double quotes, with \\\" inside)")
    try:
        catalogue = read_po(text.splitlines(keepends=True), abort_invalid=True)
    except (PoFileError, ValueError) as exc:
        raise ValueError(f"is not a valid .po file ({exc})") from None
    for message, errors in catalogue.check():
        if errors:
            where = f"line {message.lineno}" if message.lineno else "a message"
            raise ValueError(f"{where} ({message.id!r}): {errors[0]}")
    status = _STATUS.search(text)
    approver = _APPROVER.search(text)
    return catalogue, (status.group(1).lower() if status else DRAFT), (approver.group(1).strip() if approver else "")


def _code_from(name: str) -> str:
    """A trust's file name (zh-Hans.po, pa_IN.po) as Babel's identifier, or ValueError."""
    try:
        return str(Locale.parse(name.replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError(f"{name!r} is not a language code Babel knows (e.g. pl, pa, zh_Hans)") from None


def compile_catalogues(out: Path, trust_dir: Path | None = None, shipped: Path = SHIPPED) -> Catalogues:
    """Compile the shipped and the trust's catalogues into `out` (one .mo per language); English always first."""
    found: dict[str, tuple[Catalog, Language]] = {}
    problems: list[str] = []
    for po in sorted(shipped.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        code = po.parent.parent.name
        catalogue, status, approver = read_catalogue(po)  # a broken shipped file is our bug: fail loudly
        found[code] = (catalogue, describe(code, status, approver))
    for po in sorted(trust_dir.glob("*.po")) if trust_dir and trust_dir.is_dir() else ():
        try:
            code = _code_from(po.stem)
            catalogue, status, approver = read_catalogue(po)
        except ValueError as problem:
            kept = "the shipped words are kept" if po.stem.replace("-", "_") in found else "English is kept"
            problems.append(f"catalogue {po} was not used: {problem}; {kept}")
            continue
        if code in found:  # the trust's words win, string by string
            base = found[code][0]
            for message in catalogue:
                if message.id and message.string:
                    base.delete(message.id, message.context)  # setting over a message would keep its old words
                    base[message.id] = message
            catalogue = base
        found[code] = (catalogue, describe(code, status, approver, trust_override=True))
    for code, (catalogue, _lang) in found.items():
        target = out / code / "LC_MESSAGES"
        target.mkdir(parents=True, exist_ok=True)
        with open(target / f"{DOMAIN}.mo", "wb") as mo:
            write_mo(mo, catalogue)
    # Sorted by code, not by name: names would load every locale's data at start.
    languages = [describe(ENGLISH, SOURCE)] + sorted((lang for _c, lang in found.values()), key=lambda lang: lang.code)
    return Catalogues(tuple(languages), tuple(problems))
