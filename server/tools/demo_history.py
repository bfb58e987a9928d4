"""Sixty days of plausible history for `wardpulse demo`: three wards, comments that fit their answers,
alerts followed up and resolved (some with a "You said, we did" sentence), and one ward drifting worse.

Every rating and every step on an alert goes through the ward service (`WardService.receive_rating` and
`act_on_alert`, the code `serve` runs) with its clock moved through the sixty days, as the trend study
does: the chart, today's counts, the baselines, the checkpoints and the monthly return are the real ones.
It is written on /dev/shm (fsync is cheap there) and copied into the data dir: seconds, not a minute.
"""

from __future__ import annotations

import heapq
import random
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from server.ward.picture import WARD_TIMEZONE
from server.ward.service import WardService
from shared.protocol import iso_utc

SCRATCH = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
DAYS = 60
DRIFT_DAYS = 4  # the drifting ward's last days, when its patients are unhappier
OPEN_HOURS = (6, 23)  # local hours when patients tap: early drug round to lights out
OWN_PHONE_SHARE = 0.06  # ratings from the bedside poster's link, on patients' own phones
FOLLOW_UP_SHARE = {"poor": 0.12, "very_poor": 0.2}  # "I'd like someone to talk to me"; otherwise 1 %
COMMENT_SHARE = 0.35
OTHER_LANGUAGE_SHARE = 0.05  # of comments: written in another language the kiosk offers


@dataclass(frozen=True)
class DemoWard:
    code: str
    name: str
    per_day: float  # mean ratings a day (10 to 60)
    negative: float  # usual share poor or very poor
    drift: float = 1.0  # the negative share is this many times higher in the last DRIFT_DAYS
    specialty: str = ""


WARDS = (
    DemoWard("7A", "Ward 7A (Acute Medicine)", 45, 0.05, specialty="300 - GENERAL MEDICINE"),
    DemoWard("7B", "Ward 7B (Surgery)", 25, 0.07, specialty="100 - GENERAL SURGERY"),
    DemoWard("9C", "Ward 9C (Care of Older People)", 14, 0.06, drift=6.0, specialty="430 - GERIATRIC MEDICINE"),
)
TRUST = {"org_code": "RXX", "name": "Demo Hospitals NHS Foundation Trust"}
SITE = {"site_code": "RXX01", "site_name": "Demo General Hospital"}

# (comment, "You said, we did" a sister may publish when she resolves an alert about it)
COMMENTS = {
    "very_good": [("The nurses were kind and explained everything.", None), ("Spotless ward and lovely staff.", None),
                  ("Thank you to the night team, they made me feel safe.", None), ("Everyone introduced themselves by name.", None)],
    "good": [("Good care, food could be warmer.", None), ("Staff were busy but always polite.", None),
             ("Clean and well organised.", None)],
    "neither": [("It was fine, the discharge took most of the day.", None), ("Okay, the TV did not work.", None)],
    "poor": [("Waited a long time for pain relief.", "You said pain relief took too long; we now check pain at every round and keep a nurse on medicines."),
             ("It was very noisy at night.", "You said the ward was noisy at night; we now dim the lights and close bay doors at 10 pm."),
             ("The food was cold by the time it reached me.", "You said food arrived cold; meals now go to the far bays first.")],
    "very_poor": [("Nobody answered the call bell for ages.", "You said call bells went unanswered; each bay now has a named nurse every shift."),
                  ("Nobody told me when I was going home.", "You said discharge plans were unclear; you now get a written plan the day before.")],
    "dont_know": [("First day here, too early to say.", None)],
}
# A few comments as patients write them in another language the kiosk offers: (language tag, comment).
OTHER_LANGUAGES = {
    "very_good": [("pl", "Pielęgniarki były bardzo miłe i cierpliwe."), ("pt", "A equipa foi muito atenciosa.")],
    "good": [("es", "Buena atención, la comida podría estar más caliente."), ("ro", "Personal amabil, salon curat.")],
    "poor": [("es", "Esperé mucho tiempo para el analgésico."), ("pl", "W nocy było bardzo głośno.")],
    "very_poor": [("pt", "Ninguém respondeu à campainha.")],
}
FOLLOW_UP_PLACES = ("Bay 1 bed 2", "Bay 2 bed 4", "Bay 3 bed 1", "Side room 4", "Bay 4 bed 6")
URGENT_COMMENT = ("poor", "I felt unsafe when I tried to walk to the toilet alone.")  # one a month or so raises an alert
WHAT_WAS_DONE = {"follow_up": "Spoke with the patient and their family, and agreed a plan.",
                 "comment": "Sister spoke with the patient; the concern is in the ward's huddle notes.",
                 "trend": "Looked through the week's comments with the team at the safety huddle."}


def _score(rng: random.Random, negative: float) -> str:
    """An answer with the ward's negative share; the rest mostly very good, as the national FFT mix is."""
    if rng.random() < negative:
        return "very_poor" if rng.random() < 0.4 else "poor"
    return rng.choices(("very_good", "good", "neither", "dont_know"), weights=(70, 22, 5, 3))[0]


def _comment(rng: random.Random, score: str) -> tuple[dict, str | None]:
    """Rating fields for a comment that fits the answer (or none), and the sentence that may answer it."""
    if rng.random() > COMMENT_SHARE:
        return {}, None
    if score in OTHER_LANGUAGES and rng.random() < OTHER_LANGUAGE_SHARE:
        lang, text = rng.choice(OTHER_LANGUAGES[score])
        return {"comment": text, "lang": lang}, None
    text, public_note = rng.choice(COMMENTS[score])
    return {"comment": text}, public_note


def _tap_times(rng: random.Random, ward: DemoWard, day: datetime, tz: ZoneInfo, until: datetime) -> list[datetime]:
    """The moments of one local day when patients of the ward tap: Poisson, fewer at weekends."""
    mean = ward.per_day * (0.75 if day.weekday() >= 5 else 1.05)
    count = max(10, min(60, round(rng.gauss(mean, mean ** 0.5))))
    opens = datetime.combine(day.date(), time(OPEN_HOURS[0]), tz)
    seconds = (OPEN_HOURS[1] - OPEN_HOURS[0]) * 3600
    moments = sorted(opens + timedelta(seconds=rng.uniform(0, seconds)) for _ in range(count))
    return [m for m in moments if m < until]


def make_history(data_dir: Path, now: datetime, sister: str, seed: int = 7) -> dict:
    """Write sixty days of the demo wards into `data_dir` (new); returns the tablets that tapped and the alerts raised."""
    rng = random.Random(seed)
    tz = ZoneInfo(WARD_TIMEZONE)
    scratch = Path(tempfile.mkdtemp(prefix="wardpulse-demo-", dir=SCRATCH))
    start = datetime.combine((now.astimezone(tz) - timedelta(days=DAYS - 1)).date(), time(0), tz)
    clock = [start]
    service = WardService(scratch, clock=lambda: clock[0])
    drifting = {ward.code for ward in WARDS if ward.drift > 1}
    try:
        service.registry.set_trust(org_code=TRUST["org_code"], name=TRUST["name"])
        tablets, tokens = {}, []
        for ward in WARDS:
            service.registry.add_ward(ward.code, ward.name, specialties=[ward.specialty], **SITE)
            made = [service.registry.add_kiosk(ward.code, f"Bay {n} tablet") for n in (1, 2)]
            tablets[ward.code] = [service.kiosk_for_token(k["token"]) for k in made]
            tokens += [{"ward": k["ward"], "token": k["token"]} for k in made]
        service.registry_changed()
        # (moment, order, ward code, what): a rating to make, or an alert to take or resolve
        events: list[tuple[datetime, int, str, dict]] = []
        for offset in range(DAYS):
            day = start + timedelta(days=offset)
            for ward in WARDS:
                negative = ward.negative * (ward.drift if offset >= DAYS - DRIFT_DAYS else 1.0)
                for moment in _tap_times(rng, ward, day, tz, now):
                    events.append((moment, len(events), ward.code, {"rating": _score(rng, negative)}))
        heapq.heapify(events)
        order = len(events)
        raised_count: dict[str, int] = {}
        told: dict[str, set] = {}  # sentences each ward has published: a ward says each change once
        while events:
            moment, _, code, what = heapq.heappop(events)
            clock[0] = moment
            if "alert" in what:
                service.act_on_alert(code, what["alert"], sister, what["step"], what.get("action"), what.get("public_note"),
                                    role="sister")
                continue
            payload, public_note = patient_rating(rng, what["rating"], moment)
            if rng.random() < OWN_PHONE_SHARE:
                device = service.own_device(code, uuid.UUID(int=rng.getrandbits(128)).hex)
            else:
                device = rng.choice(tablets[code])
            ack, _, raised = service.receive_rating(device, payload, moment)
            if not ack.get("ok"):
                raise RuntimeError(f"the ward service refused a demo rating: {ack}")
            for alert in raised:
                raised_count[alert["kind"]] = raised_count.get(alert["kind"], 0) + 1
                taken = moment + timedelta(minutes=rng.uniform(3, 25))
                done = taken + timedelta(minutes=rng.uniform(20, 150))
                if done >= now or (alert["kind"] == "trend" and code in drifting and moment >= now - timedelta(days=DRIFT_DAYS)):
                    continue  # still open when the demo starts: the drifting ward's trend, and today's newest
                note = public_note if alert["kind"] != "trend" and public_note not in told.setdefault(code, set()) else None
                told[code].add(note)
                resolve = {"step": "resolve", "alert": alert["id"], "action": WHAT_WAS_DONE[alert["kind"]], "public_note": note}
                for at, step in ((taken, {"step": "acknowledge", "alert": alert["id"]}), (done, resolve)):
                    heapq.heappush(events, (at, order, code, step))
                    order += 1
    finally:
        service.close()
    try:
        shutil.copytree(scratch, data_dir, dirs_exist_ok=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    # Bay 1 of every ward first: a demo with fewer simulated tablets still has one on each ward.
    return {"raised": raised_count, "tablets": tokens[0::2] + tokens[1::2]}


def patient_rating(rng: random.Random, score: str, moment: datetime) -> tuple[dict, str | None]:
    """A rating as a patient gives it (sometimes a comment, now and then a request for someone), and the
    "You said, we did" sentence that may answer its comment."""
    fields, public_note = _comment(rng, score)
    if score == URGENT_COMMENT[0] and rng.random() < 0.03:
        fields, public_note = {"comment": URGENT_COMMENT[1]}, None
    payload = {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "score": score, "tapped_at": iso_utc(moment), **fields}
    if rng.random() < FOLLOW_UP_SHARE.get(score, 0.01):
        payload["follow_up"] = {"location": rng.choice(FOLLOW_UP_PLACES)}
    if public_note is None and "comment" not in fields and score in ("poor", "very_poor") and rng.random() < 0.5:
        public_note = rng.choice([note for _, note in COMMENTS[score] if note])  # what the sister heard at the bedside
    return payload, public_note


def live_answer(rng: random.Random, ward: DemoWard) -> str:
    """An answer a simulated tablet gives now: the drifting ward is still unhappier."""
    return _score(rng, ward.negative * ward.drift)
