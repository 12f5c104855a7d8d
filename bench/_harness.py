"""Shared benchmark plumbing: subprocess servers on loopback, latency stats, the results file.

Servers run in their own processes so the load generator does not share an interpreter with
what it measures (the machine has 2 cores; numbers are indicative, compare within one run).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


@contextmanager
def background(
    cmd: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd`` for the block (our environment minus GHL_BRIDGE_*, plus ``env``), then stop
    it with SIGINT (a kill after 15 s)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GHL_BRIDGE_")}
    full_env.update(env or {})
    # Logs go to a file: a pipe nobody reads fills up and then blocks the server mid-benchmark.
    log = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(list(cmd), env=full_env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        Path(log.name).unlink(missing_ok=True)


@contextmanager
def server(
    cmd: Sequence[str], port: int, *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`background`, once something listens on ``port``."""
    with background(cmd, env=env, cwd=cwd) as proc:
        wait_for_port(port)
        yield proc


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc: a server's cost per
    request is the difference over a run divided by its requests."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(latencies_s: Sequence[float]) -> dict[str, float]:
    ms = [v * 1000 for v in latencies_s]
    return {
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def write_results(name: str, metrics: Mapping[str, float], goals: Mapping[str, str]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    python = platform.python_version()
    payload = {
        "name": name,
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {python}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "metrics": dict(metrics),
        "goals": dict(goals),
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def print_table(title: str, rows: Sequence[tuple[str, object]]) -> None:
    print(f"\n{title}")
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")
