"""`wardpulse bench --processes 1,2 --quick` end to end: Redis, ward processes and nginx really started,
every row measured, and nothing left running afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psutil
import pytest

from server.tools.bench.shard_plan import QUICK
from server.tools.nginx import NGINX
from server.tools.redis_server import REDIS_SERVER

from support import unavailable

pytestmark = pytest.mark.timeout(600)  # about two minutes on an idle two-core box; four with neighbours


def test_quick_processes_bench_measures_every_row_and_leaves_nothing_running(tmp_path):
    for binary in (REDIS_SERVER, NGINX):
        if not binary.exists():
            unavailable(f"{binary} not found (apt-get install redis-server nginx)")
    out, scratch = tmp_path / "bench.json", tmp_path / "scratch"
    scratch.mkdir()
    before = set(psutil.Process().children(recursive=True))  # this run's own (its Chromium, in a whole-suite run)
    run = subprocess.run([sys.executable, "-m", "server", "bench", "--processes", "1,2", "--quick", "--json", str(out)],
                         capture_output=True, text=True, timeout=580, env=dict(os.environ, TMPDIR=str(scratch)))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "durable ratings/s" in run.stdout and "tap->screen p99 ms" in run.stdout
    rows = json.loads(out.read_text())["rows"]
    assert [(r["processes"], r["route"]) for r in rows] == [(1, "direct"), (1, "nginx"), (2, "direct"), (2, "nginx")]
    for row in rows:
        assert row["sockets"] == QUICK.hold_sockets, row
        assert row["rate"] > 0 and row["server_us"] > 0 and row["screen_samples"] > 0, row
        assert row["errors"] == 0, row
    assert set(psutil.Process().children(recursive=True)) - before == set(), "a process the bench started is still running"
    assert not [p.info for p in psutil.process_iter(["pid", "cmdline"]) if str(scratch) in " ".join(p.info["cmdline"] or [])], \
        "a Redis, nginx or ward process of the bench is still running"
