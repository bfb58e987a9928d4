"""`make demo`'s sixty days of history: made through the ward service, worth opening, and quick."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone

import pytest

from server.store.journal import read_ratings
from server.tools.demo_history import COMMENTS, DAYS, OTHER_LANGUAGES, WARDS, make_history
from server.ward.service import WardService
from shared.fft import NEGATIVE, POSITIVE

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo")
    started = time.monotonic()
    made = make_history(data_dir, NOW, sister="sister")
    took = time.monotonic() - started
    service = WardService(data_dir, clock=lambda: NOW)
    yield data_dir, service, made, took
    service.close()


def test_it_is_quick(demo):
    *_, took = demo
    assert took < 30  # seconds, on this shared machine; about 10 when it is quiet


def test_three_wards_with_sixty_days_of_10_to_60_ratings_a_day(demo):
    data_dir, service, made, _ = demo
    assert [w["code"] for w in service.registry.wards()] == [w.code for w in WARDS]
    for ward in WARDS:
        days = service.daily_negative(ward.code, days=DAYS)
        assert len(days) >= DAYS - 1  # today's may not have begun
        assert all(10 <= count <= 60 for _, _, count in days[:-1])
    assert len(made["tablets"]) == 2 * len(WARDS)


def test_comments_fit_their_answers_and_a_few_are_in_other_languages(demo):
    data_dir, *_ = demo
    fitting = {score: {text for text, _ in comments} | {text for _, text in OTHER_LANGUAGES.get(score, [])}
               for score, comments in COMMENTS.items()}
    ratings = list(read_ratings(data_dir))
    commented = [r for r in ratings if r.get("comment")]
    for rating in commented:
        if "unsafe" not in rating["comment"]:
            assert rating["comment"] in fitting[rating["score"]], rating
    languages = Counter(r.get("lang") for r in commented)
    assert set(languages) - {None} and sum(n for lang, n in languages.items() if lang) < len(commented) / 10
    assert Counter(r["channel"] for r in ratings)["own_device"] > 0


def test_alerts_were_followed_up_with_sentences_and_the_drifting_ward_has_its_trend_open(demo):
    _, service, made, _ = demo
    assert made["raised"]["follow_up"] > 20
    drifting = [w.code for w in WARDS if w.drift > 1]
    for ward in WARDS:
        open_kinds = [a["kind"] for a in service.active_alerts(ward.code)]
        assert ("trend" in open_kinds) == (ward.code in drifting)
        resolved = [a for a in service.alerts.alerts(ward.code) if a["status"] == "resolved"]
        assert resolved and all(a["resolved_by"] == "sister" for a in resolved)
        assert any(a["public_note"] for a in resolved)
    overview = service.overview(drifting[0])
    assert overview["trend"]["alert_open"] and overview["month"]["total"] > 100


def test_the_wards_are_mostly_positive_with_the_drifting_ward_worse_lately(demo):
    data_dir, *_ = demo
    ratings = list(read_ratings(data_dir))
    for ward in WARDS:
        scores = Counter(r["score"] for r in ratings if r["ward"] == ward.code)
        assert sum(scores[s] for s in POSITIVE) / sum(scores.values()) > 0.75
    recent = Counter(r["score"] for r in ratings if r["ward"] == "9C" and r["tapped_at"] >= "2026-11-17")
    assert sum(recent[s] for s in NEGATIVE) / sum(recent.values()) > 0.2
