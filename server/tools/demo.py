"""`wardpulse demo`: a demo ward that is alive from the first minute."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click

from kiosk.client import KioskClient
from server.web.auth import hash_password
from server.store.storage import DataDirLock, Registry

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


def wait_for_health(url: str, server: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise click.ClickException("the ward server stopped during start-up (see its messages above)")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise click.ClickException("the ward server did not answer /healthz in time")


def run_demo(data_dir: Path, host: str, port: int, kiosk_count: int, every: float) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    state = prepare(data_dir, kiosk_count)
    server = subprocess.Popen(
        [sys.executable, "-m", "server", "--data-dir", str(data_dir), "serve", "--host", host, "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = server.stdout.readline()
    url = line.split("listening on ")[1].split()[0] if "listening on " in line else f"http://{host}:{port}"
    kiosks: list[KioskClient] = []
    try:
        wait_for_health(url, server)
        click.echo(
            f"\nWardPulse demo is running ({line.strip()}).\n\n"
            f"  Kiosk (tablet) page:  {url}/kiosk/#enroll={state['tablet']}\n"
            f"  Ward screen:          {url}/ward/{WARD}  (sign in as {STAFF_USER} / {STAFF_PASSWORD})\n"
            f"  Wall display link:    {url}/ward/{WARD}?display={state['display']}\n\n"
            f"{len(state['simulated'])} simulated tablets tap every ~{every:g} s. Press Ctrl-C to stop.\n"
        )
        kiosks = [KioskClient(url, token, data_dir / f"sim-outbox-{i}.sqlite").start() for i, token in enumerate(state["simulated"])]
        rng = random.Random()
        while server.poll() is None:
            time.sleep(rng.expovariate(len(kiosks) / every) if kiosks else 1)
            if kiosks:
                score = rng.choices(list(MIX), weights=list(MIX.values()))[0]
                rng.choice(kiosks).tap(score, comment=rng.choice(COMMENTS))
    except KeyboardInterrupt:
        click.echo("\nStopping the demo.")
    finally:
        for k in kiosks:
            k.stop()
        server.terminate()
        server.wait(timeout=10)
