"""Every word of the kiosk page in every language on offer, so a patient can switch language without a reload.

The tablet keeps one copy of its page for when the ward server is down, so the page carries the words of
all its languages (a few kilobytes each); the script swaps them in when a patient picks a language.
Each word still goes through the gettext catalogues. The wordings: "standard" is NHS England's wording;
"easy" (easy read) and "children" ask the same question in fewer, plainer words, with the same six answers.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from server.web.languages import Catalogues, Language
from shared.fft import ANSWERS, effective_wording

# Kept in English beside each language's own word, so anyone can find the way back (and staff can help).
ENGLISH_LANGUAGE = "Language"
ENGLISH_LISTEN = "Listen"


def _words() -> dict:
    """The page's words in the current locale."""
    language, listen = _("Language"), _("Listen")
    return {
        "title": _("Tell us about your experience"),
        "anonymous": _("Anonymous feedback"),
        "language": language if language == ENGLISH_LANGUAGE else f"{language} · {ENGLISH_LANGUAGE}",
        "choose_language": _("Choose your language"),
        "close": _("Close"),
        "text_size": _("Text size"),
        "listen": listen if listen == ENGLISH_LISTEN else f"{listen} · {ENGLISH_LISTEN}",
        "no_voice": _("No voice for this language"),
        "easy_read": _("Easy read"),
        "next_person": _("Next person…"),
        # The label of the band under the answers; the sentences themselves are staff's own words.
        "you_said": _("You said, we did"),
        "question": {
            "standard": _("Overall, how was your experience of our service?"),
            "easy": _("Was your care good?"),
            "children": _("How was your time on the ward?"),
        },
        "answers": {
            "standard": {a.code: _(a.label) for a in ANSWERS},
            "easy": _simple_answers(),
            "children": _simple_answers(),
        },
        "more": _("Do you want to tell us more?"),
        "comment": _("What was good? What could we do better?"),
        "comment_hint": _("You do not have to write anything. Please do not write names, phone numbers or NHS numbers."),
        "send": _("Send"),
        "skip": _("Skip"),
        "follow_up": _("Would you like a member of staff to come and talk to you?"),
        "yes": _("Yes"),
        "no": _("No"),
        "where": _("Where are you? (bay/bed)"),
        "where_hint": _("For example: Bay 3, bed 12. You can leave this empty."),
        "thanks": _("Thank you for your feedback"),
        "note_follow_up": _("We will ask a member of staff to come and talk to you."),
        "note_limited": _("You have already told us what you think recently, thank you. You can give feedback again later."),
        "note_limited_follow_up": _("To talk to someone now, please ask any member of staff on the ward or use your call bell."),
        "note_own": _("You can close this page now."),
        "again": _("Give more feedback"),
    }


def _simple_answers() -> dict:
    return {
        "very_good": _("Very good"),
        "good": _("Good"),
        "neither": _("OK"),
        "poor": _("Bad"),
        "very_poor": _("Very bad"),
        "dont_know": _("I don't know"),
    }


def words_for(language: Language) -> dict:
    """The kiosk's words in one language."""
    with force_locale(language.code):
        return _words()


def all_words(catalogues: Catalogues) -> dict[str, dict]:
    """{tag: words} for every language on offer."""
    return {lang.tag: words_for(lang) for lang in catalogues.languages}


def ward_start(record: dict | None, catalogues: Catalogues) -> dict:
    """How a kiosk greets each new patient: its ward's language (if still on offer), and its own wording
    (`own_wording`, a tablet in a children's corner) else the ward's."""
    record = record or {}
    language = catalogues.by_tag(record.get("kiosk_language")) or catalogues.languages[0]
    wording = effective_wording(record.get("kiosk_wording"), record.get("own_wording"))
    return {"lang": language.tag, "wording": wording}


def page_context(catalogues: Catalogues, start: dict, audio: list[str] = ()) -> dict:
    """What kiosk.html needs for its languages: the list, every language's words, and where to start.

    `audio`: the tags the ward server has read-aloud clips for."""
    words = all_words(catalogues)
    first = catalogues.by_tag(start["lang"]) or catalogues.languages[0]
    return {
        "languages": [dict(lang.public(), audio=lang.tag in audio) for lang in catalogues.languages],
        "all_words": words,
        "start": start,
        "words": words[first.tag],
        "first": first,
    }
