"""`wardpulse demo`: three demo wards with sixty days of history, alive from the first minute."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import click

from kiosk.client import KioskClient
from server.clock import now_utc
from server.store.atomic import DataDirLock
from server.store.registry import Registry
from server.tools.demo_history import COMMENTS, WARDS, live_answer, make_history
from server.tools.harness import WardProcess
from server.web.auth import hash_password

# Logins printed for the demo: (username, password, role, wards); the sister's ward gets the browser tablet.
ADMIN = ("admin", "demo-admin", "admin", ["7A"])
MATRON = ("matron", "demo-matron", "matron", [w.code for w in WARDS])
SISTER = ("sister", "demo-sister", "sister", ["7A"])
LOGINS = (ADMIN, MATRON, SISTER)


def prepare(data_dir: Path) -> dict:
    """Create the demo wards with their history and tablets, the logins, and a tablet for the browser (first run only)."""
    state_file = data_dir / "demo.json"
    if state_file.exists():
        return json.loads(state_file.read_text())
    lock = DataDirLock(data_dir)
    if not lock.try_acquire():
        raise click.ClickException(f"a server is already running on {data_dir}: stop it or use another --data-dir")
    try:
        if (data_dir / "wardpulse.json").exists():
            raise click.ClickException(f"{data_dir} already holds a ward server's data: give the demo an empty --data-dir")
        started = time.monotonic()
        history = make_history(data_dir, now_utc(), sister=SISTER[0])
        registry = Registry(data_dir)
        for username, password, role, wards in LOGINS:
            registry.add_staff(username, wards, role, hash_password(password))
        home = SISTER[3][0]
        tablet = registry.add_kiosk(home, "Day room tablet")
        display = registry.add_display(home, "Nurses' station")
    finally:
        lock.release()
    click.echo(f"Made 60 days of history for {len(WARDS)} wards in {time.monotonic() - started:.0f} s "
               f"(alerts raised: {', '.join(f'{n} {kind}' for kind, n in sorted(history['raised'].items()))}).")
    # The tablets that made the history go on tapping, so no ward shows tablets offline that never will be online.
    state = {"ward": home, "tablet": tablet["token"], "display": display["token"], "simulated": history["tablets"]}
    state_file.write_text(json.dumps(state))
    return state


def run_demo(data_dir: Path, host: str, port: int, kiosk_count: int, every: float) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    state = prepare(data_dir)
    server = WardProcess(data_dir, host=host, port=port)
    server.log_path = None  # the server's own messages go to the terminal
    kiosks: list[tuple[KioskClient, object]] = []
    try:
        server.start(timeout=30)
        url, home = server.url, state.get("ward", "DEMO")  # a demo made by an older WardPulse had one ward, DEMO
        logins = "\n".join(f"    {role:<7} {username} / {password}   ({'every ward' if role == 'admin' else ', '.join(wards)})"
                           for username, password, role, wards in LOGINS)
        click.echo(
            f"\nWardPulse demo is running on {url} (data in {data_dir}).\n\n"
            f"  Sign in:              {url}/login\n{logins}\n\n"
            f"  Overview (matron):    {url}/overview\n"
            f"  Ward screen:          {url}/ward/{home}\n"
            f"  Kiosk (tablet) page:  {url}/kiosk/#enroll={state['tablet']}\n"
            f"  Wall display link:    {url}/ward/{home}?display={state['display']}\n\n"
            f"{min(kiosk_count, len(state['simulated']))} simulated tablets tap every ~{every:g} s. Press Ctrl-C to stop.\n"
        )
        by_code = {w.code: w for w in WARDS}
        simulated = [k if isinstance(k, dict) else {"ward": home, "token": k} for k in state["simulated"]][:kiosk_count]
        kiosks = [(KioskClient(url, k["token"], data_dir / f"sim-outbox-{i}.sqlite").start(), by_code.get(k["ward"], WARDS[0]))
                  for i, k in enumerate(simulated)]
        rng = random.Random()
        while server.proc.poll() is None:
            time.sleep(rng.expovariate(len(kiosks) / every) if kiosks else 1)
            if kiosks:
                kiosk, ward = rng.choice(kiosks)
                score = live_answer(rng, ward)
                comment = rng.choice(COMMENTS[score])[0] if rng.random() < 0.3 else None
                kiosk.tap(score, comment=comment)
    except KeyboardInterrupt:
        click.echo("\nStopping the demo.")
    finally:
        for kiosk, _ in kiosks:
            kiosk.stop()
        server.stop(timeout=10)
