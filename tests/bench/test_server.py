"""The server child with ``--workers``: the command and environment it gets, and a tiny run on two workers when
``smsdesk serve`` has the flag."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smsdesk.bench.cli import main
from smsdesk.bench.server import ServerProcess


def _serve_has_workers() -> bool:
    help_text = subprocess.run(
        [sys.executable, "-m", "smsdesk", "serve", "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    return "--workers" in help_text


def test_workers_reach_the_server_command_and_nothing_else_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = ServerProcess(tmp_path), ServerProcess(tmp_path, workers=2)
    assert "--workers" not in one.command()  # so the harness runs on a server without the flag
    cmd = two.command()
    assert cmd[cmd.index("--workers") + 1] == "2"
    monkeypatch.setenv("SMSDESK_WORKERS", "4")  # the child runs the count the results record, not this
    assert "SMSDESK_WORKERS" not in one.environment()
    assert one.environment()["SMSDESK_LOG_LEVEL"] == "warning"
    with pytest.raises(ValueError):
        ServerProcess(tmp_path, workers=0)


@pytest.mark.parametrize("command", ["run", "sweep", "scale", "fanout", "idle"])
def test_every_command_takes_workers(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--workers", "0"]) == 2
    assert "--workers must be >= 1" in capsys.readouterr().err


def test_a_tiny_run_on_two_workers(tmp_path: Path) -> None:
    if not _serve_has_workers():
        pytest.skip("`smsdesk serve --help` has no --workers: the server cannot run worker processes yet")
    out = tmp_path / "result.json"
    args = ["run", "-n", "3", "-m", "1", "--rate", "4", "--duration", "1", "--workers", "2"]
    assert main([*args, "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["workers"] == 2 and record["result"]["workers"] == 2
    (step,) = record["result"]["steps"]
    assert (step["sent"], step["invited"], step["replied"], step["errors"]) == (4, 4, 4, {}), step
    procs = step["server_processes"]
    supervisor = procs[0]
    workers = [p for p in procs if p["ppid"] == supervisor["pid"] and "resource_tracker" not in p["cmd"]]
    assert len(workers) == 2, procs
    # the tree's figures are the sums over its processes (CPU: up to the reaped children, none here)
    assert step["server_rss_mb"] == pytest.approx(sum(p["rss_mb"] for p in procs), abs=0.1 * len(procs))
    assert step["server_cpu_percent"] == pytest.approx(sum(p["cpu_percent"] for p in procs), abs=0.5)
    assert sum(p["cpu_percent"] for p in workers) > 0
