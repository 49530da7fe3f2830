"""The harness end to end with tiny N and durations, so it cannot rot: real ``smsdesk serve`` children, real
CometD websocket and long-polling clients, the Faye peer. It asserts that the harness measures (samples, no
errors, JSON written), never how fast anything is: the machine is shared and timed assertions would be noise.
Two server starts in all (each costs seconds of imports), so the pieces share one server where they can."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from smsdesk.bench.cli import main
from smsdesk.bench.contact_center import ContactCenterLoad
from smsdesk.bench.fanout import BENCH_DIR, FayeServer, FayeTarget, SmsdeskTarget, run_fanout
from smsdesk.bench.idle import measure_idle_clients
from smsdesk.bench.server import Population, ServerProcess, seed_users


def test_cli_run_writes_a_complete_record(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    assert main(["run", "-n", "3", "-m", "1", "--rate", "4", "--duration", "1", "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["command"] == "run" and record["environment"]["cpus"] >= 1
    (step,) = record["result"]["steps"]
    assert step["sent"] == 4 and step["invited"] == 4 and step["replied"] == 4, step
    assert step["errors"] == {} and step["client_errors"] == 0
    for key in ("inbound_to_invited_ms", "reply_to_supervisor_ms", "reply_to_customer_ms"):
        assert step[key]["count"] == 4, (key, step[key])
        assert 0 <= step[key]["p50"] <= step[key]["max"]
    assert step["server_cpu_percent"] >= 0 and step["server_peak_rss_mb"] > 10
    assert step["server_cpu_ms_per_inbound"] > 0
    assert step["connections"] == "as needed, 512 kept idle" and step["connections_opened"] >= 0


def test_cli_run_over_shared_connections_beside_a_competing_process(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    args = ["run", "-n", "3", "-m", "1", "--rate", "4", "--duration", "1", "--shared-connections", "2"]
    assert main([*args, "--competing-cpu", "0.2", "--json", str(out)]) == 0
    (step,) = json.loads(out.read_text())["result"]["steps"]
    assert step["connections"] == "at most 2" and step["connections_opened"] == 0
    assert step["competing_cpu_share"] == 0.2 and step["competing_cpu_percent"] > 0, step
    assert (step["sent"], step["invited"], step["replied"], step["errors"]) == (4, 4, 4, {}), step


async def test_long_polling_fanout_and_idle_on_one_server(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path)
    pop = await seed_users(server.database_url, agents=7, supervisors=2)
    await server.start()
    try:
        load = ContactCenterLoad(
            server.host,
            server.port,
            Population(pop.agents[:2], pop.supervisors[:1], admin=pop.admin),
            transport="long-polling",
            server_pid=server.pid,
        )
        try:
            await load.setup()
            step = (await load.run_step(3, 1, drain_s=10)).to_json()
            load.texts_per_session = 3  # conversations: each follow-up takes a slot of the same rate
            talk = (await load.run_step(8, 1, drain_s=10)).to_json()
        finally:
            await load.close()
        assert (step["sent"], step["invited"], step["errors"]) == (3, 3, {}), step
        assert step["reply_to_supervisor_ms"]["count"] == 3 and step["reply_to_customer_ms"]["count"] == 3
        assert talk["sent"] == 8 and talk["errors"] == {} and talk["follow_ups"] > 0, talk
        assert talk["invited"] + talk["follow_ups"] == 8
        assert talk["follow_up_to_agent_ms"]["count"] == talk["follow_ups"]
        assert talk["sustained_inbound_per_s"] > talk["sustained_sessions_per_s"] > 0

        target = SmsdeskTarget(
            server.host,
            server.port,
            Population(pop.agents[2:3], pop.supervisors, admin=pop.admin),
            server.pid,
        )
        try:
            fan = await run_fanout(target, k=2, publishers=1, rate=10, duration_s=1)
        finally:
            await target.close()
        assert fan["paced"]["published"] >= 5 and fan["paced"]["errors"] == 0
        assert fan["paced"]["delivered"] == 2 * fan["paced"]["published"]
        assert fan["max"]["lost"] == 0 and fan["max"]["latency_ms"]["count"] > 0

        idle = await measure_idle_clients(
            server.host, server.port, server.pid, Population(pop.agents[3:], admin=pop.admin), settle_s=0.2
        )
        assert idle["clients"] == 3 and idle["client_errors"] == 0 and idle["rss_after_mb"] > 0
    finally:
        await server.stop()


@pytest.mark.interop
async def test_the_same_fanout_against_faye() -> None:
    if shutil.which("node") is None or not (BENCH_DIR / "node_modules" / "faye").is_dir():
        pytest.skip("node and `npm ci` in bench/ are needed for the Faye side-by-side")
    faye = FayeServer()
    await faye.start()
    target = FayeTarget(faye.port, faye.pid)
    try:
        fan = await run_fanout(target, k=2, publishers=1, rate=10, duration_s=1)
    finally:
        await target.close()
        await faye.stop()
    assert fan["paced"]["delivered"] == 2 * fan["paced"]["published"] > 0
    assert fan["max"]["lost"] == 0 and fan["paced"]["server_cpu_percent"] >= 0
    assert fan["paced"]["events_per_frame"] >= 1 and fan["paced"]["server_cpu_us_per_delivery"] > 0


@pytest.mark.parametrize(
    "args",
    [["run", "-n", "0"], ["run", "--duration", "0"], ["idle", "-k", "0"], ["fanout", "--publishers", "0"]],
)
def test_bad_flags_are_clear_errors(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert "smsdesk bench:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--rate", "-5"],
        ["run", "--rate", "x"],
        ["scale", "--agents", "1.5"],
        ["run", "--shared-connections", "-1"],
        ["run", "--competing-cpu", "0"],
        ["sweep", "--competing-cpu", "1.5"],
    ],
)
def test_bad_values_are_rejected_by_the_parser(args: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
