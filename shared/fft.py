"""The NHS Friends and Family Test answer scale (NHS England guidance, April 2020)."""

from __future__ import annotations

from dataclasses import dataclass

QUESTION = "Overall, how was your experience of our service?"
FOLLOW_UP_QUESTION = "What was good? What could we do better?"
# How the kiosk words the question: NHS England's own, easy read, or for children (same six answers).
WORDINGS: tuple[str, ...] = ("standard", "easy", "children")


def effective_wording(ward_wording: object, kiosk_wording: object) -> str:
    """A tablet's own wording if it has one, else its ward's, else standard (anything unknown is ignored)."""
    for wording in (kiosk_wording, ward_wording):
        if wording in WORDINGS:
            return wording
    return WORDINGS[0]


@dataclass(frozen=True)
class Answer:
    code: str
    label: str
    positive: bool = False
    negative: bool = False


# Order is the order on the tablet and in every report.
ANSWERS: tuple[Answer, ...] = (
    Answer("very_good", "Very good", positive=True),
    Answer("good", "Good", positive=True),
    Answer("neither", "Neither good nor poor"),
    Answer("poor", "Poor", negative=True),
    Answer("very_poor", "Very poor", negative=True),
    Answer("dont_know", "Don't know"),
)

SCORES: tuple[str, ...] = tuple(a.code for a in ANSWERS)
BY_CODE: dict[str, Answer] = {a.code: a for a in ANSWERS}
POSITIVE: frozenset[str] = frozenset(a.code for a in ANSWERS if a.positive)
NEGATIVE: frozenset[str] = frozenset(a.code for a in ANSWERS if a.negative)


def is_negative(score: str) -> bool:
    """True for poor and very poor: the answers the trend detector counts."""
    return score in NEGATIVE


# How a response was collected, as NHS England's monthly return counts them (its Collection mode sheet).
COLLECTION_MODES: tuple[str, ...] = ("Mode SMS", "Electronic Discharge", "Electronic Home", "Paper Discharge", "Paper Home",
                                     "Telephone", "Online", "Other")
