"""`ghl-bridge demo` as a user runs it: start it, paste the printed curl commands, Ctrl-C.

Then check the database it left behind holds no plaintext token.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.support.stack import free_port

from ghl_bridge.oauth.tokens import seal_context
from ghl_bridge.vault import KeyRing, Vault

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def _read_banner(proc: subprocess.Popen[str], timeout: float = 60) -> list[str]:
    """Lines up to and including the second curl command."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                raise AssertionError(f"demo exited early: {proc.returncode}\n{''.join(lines)}")
            continue
        lines.append(line)
        if sum(1 for entry in lines if entry.startswith("curl ")) == 2:
            return lines
    raise AssertionError("the demo printed no curl commands in time:\n" + "".join(lines))


def _curl(command: str) -> dict[str, object]:
    out = subprocess.run(
        command, shell=True, capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_demo_flow_as_printed(tmp_path: Path) -> None:
    port, sim_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHL_BRIDGE_")}
    exe = Path(sys.executable).with_name("ghl-bridge")
    proc = subprocess.Popen(
        [str(exe), "demo", "--port", str(port), "--sim-port", str(sim_port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = _read_banner(proc)
        create_cmd, events_cmd = [line.strip() for line in banner if line.startswith("curl ")]
        created = _curl(create_cmd)
        contact_id = created["output"]["contact"]["id"]  # type: ignore[index]
        deadline = time.monotonic() + 20
        while True:
            events = _curl(events_cmd)["events"]
            if any(e["type"] == "ContactCreate" and e["status"] == "processed" for e in events):  # type: ignore[union-attr]
                break
            assert time.monotonic() < deadline, events
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "stopped cleanly" in output
    assert contact_id
    _assert_no_plaintext_tokens(tmp_path / ".ghl-bridge")


def _assert_no_plaintext_tokens(data_dir: Path) -> None:
    vault = Vault(KeyRing.parse((data_dir / "encryption-keys").read_text().strip()))
    db = data_dir / "ghl-bridge.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT resource_id, access_token_sealed, refresh_token_sealed FROM connections"
        ).fetchall()
    assert rows, "the demo stored no connection"
    raw = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("ghl-bridge.db"))
    for resource_id, access, refresh in rows:
        for which, sealed in (("access", access), ("refresh", refresh)):
            token = vault.unseal(sealed, context=seal_context(resource_id, which))
            assert token.encode() not in raw
