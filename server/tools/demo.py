"""`wardpulse demo`: a demo ward that is alive from the first minute."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import click

from kiosk.client import KioskClient
from server.store.atomic import DataDirLock
from server.store.registry import Registry
from server.tools.harness import WardProcess
from server.web.auth import hash_password

WARD = "DEMO"
STAFF_USER, STAFF_PASSWORD = "sister", "demo-sister"
# Roughly the national FFT mix for inpatients: mostly good, a little poor.
MIX = {"very_good": 62, "good": 22, "neither": 5, "poor": 4, "very_poor": 3, "dont_know": 4}
COMMENTS = [
    "The nurses were kind and explained everything.",
    "Food was cold at lunch.",
    "Very clean ward, thank you.",
    "It was noisy at night.",
    "Waited a long time for pain relief.",
    None, None, None,
]


def prepare(data_dir: Path, kiosk_count: int) -> dict:
    """Create the demo ward, staff login, a tablet for the browser and the simulated tablets (first run only)."""
    state_file = data_dir / "demo.json"
    if state_file.exists():
        return json.loads(state_file.read_text())
    lock = DataDirLock(data_dir)
    if not lock.try_acquire():
        raise click.ClickException(f"a server is already running on {data_dir}: stop it or use another --data-dir")
    try:
        registry = Registry(data_dir)
        registry.add_ward(WARD, "Demo Ward (7B)")
        registry.add_staff(STAFF_USER, WARD, "sister", hash_password(STAFF_PASSWORD))
        tablet = registry.add_kiosk(WARD, "Day room tablet")
        display = registry.add_display(WARD, "Nurses' station")
        simulated = [registry.add_kiosk(WARD, f"Simulated tablet {i + 1}") for i in range(kiosk_count)]
    finally:
        lock.release()
    state = {"tablet": tablet["token"], "display": display["token"], "simulated": [k["token"] for k in simulated]}
    state_file.write_text(json.dumps(state))
    return state


def run_demo(data_dir: Path, host: str, port: int, kiosk_count: int, every: float) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    state = prepare(data_dir, kiosk_count)
    server = WardProcess(data_dir, host=host, port=port)
    server.log_path = None  # the server's own messages go to the terminal
    kiosks: list[KioskClient] = []
    try:
        server.start(timeout=30)
        url = server.url
        click.echo(
            f"\nWardPulse demo is running on {url} (data in {data_dir}).\n\n"
            f"  Kiosk (tablet) page:  {url}/kiosk/#enroll={state['tablet']}\n"
            f"  Ward screen:          {url}/ward/{WARD}  (sign in as {STAFF_USER} / {STAFF_PASSWORD})\n"
            f"  Wall display link:    {url}/ward/{WARD}?display={state['display']}\n\n"
            f"{len(state['simulated'])} simulated tablets tap every ~{every:g} s. Press Ctrl-C to stop.\n"
        )
        kiosks = [KioskClient(url, token, data_dir / f"sim-outbox-{i}.sqlite").start() for i, token in enumerate(state["simulated"])]
        rng = random.Random()
        while server.proc.poll() is None:
            time.sleep(rng.expovariate(len(kiosks) / every) if kiosks else 1)
            if kiosks:
                score = rng.choices(list(MIX), weights=list(MIX.values()))[0]
                rng.choice(kiosks).tap(score, comment=rng.choice(COMMENTS))
    except KeyboardInterrupt:
        click.echo("\nStopping the demo.")
    finally:
        for k in kiosks:
            k.stop()
        server.stop(timeout=10)
