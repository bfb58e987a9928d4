"""`wardpulse bench --profile`: py-spy records the ward server and the bare stack under server-bound ingest.

For each it writes a flame graph (SVG, open it in a browser) and lists where a rating's CPU goes:
py-spy's samples of threads holding the GIL (`--gil`: a thread waiting in epoll, fsync or a tpool
queue is not using the CPU), as shares of the server's measured CPU per rating. py-spy reads the
server's memory from outside (it needs ptrace: root, or kernel.yama.ptrace_scope 0), so the server
runs unchanged; `--nonblocking` keeps it from pausing the server at each sample.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from server.tools.bench.bound import INGEST_PROGRAM, BoundJob, kiosk_parts
from server.tools.bench.plan import BenchError
from server.tools.bench.report import format_number
from server.tools.bench.servers import Lab, progress

PROFILE_S = 6.0  # long enough for a few thousand samples of every step of a rating
SAMPLES_PER_S = 200
KIOSKS = 20
SHOWN = 14
_LINE_NUMBER = re.compile(r":\d+\)$")


def py_spy() -> str:
    """The py-spy program: beside this Python (the tools extra installs it there), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise BenchError("wardpulse bench --profile needs py-spy, from the tools extra: pip install -e '.[tools]'")
    return found


def top_costs(raw: str, us_per_rating: float, shown: int = SHOWN) -> dict[str, list[tuple[float, str]]]:
    """From py-spy's raw (collapsed) stacks: µs per rating spent in each function itself, and under it.

    A function is its name and file (line numbers dropped); one under every stack (the event loop) is left out of 'under'.
    """
    own: dict[str, int] = {}
    under: dict[str, int] = {}
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_LINE_NUMBER.sub(")", frame) for frame in stack.split(";")]
        own[frames[-1]] = own.get(frames[-1], 0) + samples
        for frame in set(frames):
            under[frame] = under.get(frame, 0) + samples
    if not total:
        return {"own": [], "under": []}
    per_sample = us_per_rating / total
    ranked = lambda counts: sorted(((n * per_sample, f) for f, n in counts.items()), reverse=True)[:shown]  # noqa: E731
    return {"own": ranked(own), "under": ranked({f: n for f, n in under.items() if n < 0.9 * total})}


def _recorder(pid: int, svg: Path, raw: Path):
    """A window filler for BoundJob.round: py-spy writes a flame graph and raw stacks of the same seconds."""

    def record(seconds: float) -> None:
        common = [py_spy(), "record", "--pid", str(pid), "--duration", f"{seconds:g}", "--rate", str(SAMPLES_PER_S), "--nonblocking", "--gil"]
        runs = [subprocess.Popen([*common, "--format", kind, "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                for kind, out in (("flamegraph", svg), ("raw", raw))]
        for run in runs:
            _, errors = run.communicate(timeout=seconds + 60)
            if run.returncode != 0:
                raise BenchError(f"py-spy could not record the server (it needs ptrace: run as root, or set"
                                 f" kernel.yama.ptrace_scope to 0):\n{errors[-2000:]}")

    return record


def profile(lab: Lab, mode: str, out_dir: Path) -> dict[str, dict]:
    """Record the bare stack and the ward server, each with 20 async kiosks; the flame graphs go in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    found = {}
    for name, server in (("bare", lab.bare(mode)), ("wardpulse", lab.server(mode, lab.registry_dir))):
        with server:
            job = BoundJob(name, server, lab.workers(server, kiosk_parts(lab, KIOSKS), INGEST_PROGRAM))
            try:
                for worker in job.workers:
                    worker.read()
                progress(f"{mode}: recording the {name} server with py-spy for {PROFILE_S:g} s")
                job.round(lab.plan.warmup_s, lab.plan.window_s)  # warm up: first ratings open files and fill caches
                svg, raw = out_dir / f"{name}-{mode}.svg", out_dir / f"{name}-{mode}.txt"
                job.round(lab.plan.warmup_s, PROFILE_S, during=_recorder(server.proc.pid, svg, raw))
            finally:
                for worker in job.workers:
                    worker.close()
        measured = job.rounds[-1]
        found[name] = dict(measured, flame_graph=str(svg), costs=top_costs(raw.read_text(), measured["server_us"] or 0))
    return found


def render_profile(mode: str, found: dict[str, dict]) -> str:
    """The top costs per rating of each server, and where its flame graph is."""
    lines = []
    for name, p in found.items():
        lines += ["", f"{name} server, {mode}: {format_number(p['server_us'])} us CPU per rating, {format_number(p['rate'])} ratings/s"
                  f" while recorded (server {p['server_cpu_pct']:.0f} % of a core); flame graph: {p['flame_graph']}"]
        for kind, title in (("own", "in the function itself"), ("under", "in the function and what it calls")):
            lines.append(f"  top costs, us per rating {title}:")
            lines += [f"    {us:7.1f}  {frame}" for us, frame in p["costs"][kind]]
    return "\n".join(lines)
