"""The benchmark's queues variant (``--queues K``): its settings parse, its skills serve every queue, and a tiny
run through a real server places every session with a skilled agent."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from smsdesk.bench.cli import main
from smsdesk.bench.queues import QueuePlan
from smsdesk.config import load_settings
from smsdesk.domain.routing import qualified


def test_the_plan_is_valid_settings_and_every_queue_has_agents() -> None:
    plan = QueuePlan(5)
    s = load_settings(environ=plan.environment())
    assert sorted(s.queues) == ["q0", "q1", "q2", "q3", "q4"]
    assert [s.queue_for(n) for n in plan.numbers] == ["q0", "q1", "q2", "q3", "q4"]
    serving = Counter(
        name for i in range(100) for name, q in s.queues.items() if qualified(plan.skills_of(i), q.skills)
    )
    assert serving == {f"q{j}": 40 for j in range(5)}  # 2/K of the agents each
    assert {plan.number_for(f"+1202555{i:04d}") for i in range(200)} == set(plan.numbers)
    assert plan.number_for("+12025550001") == plan.number_for("+12025550001")


def test_cli_run_with_queues(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    args = ["run", "-n", "5", "-m", "1", "--rate", "5", "--duration", "1", "--queues", "5"]
    assert main([*args, "--json", str(out)]) == 0
    (step,) = json.loads(out.read_text())["result"]["steps"]
    assert (step["sent"], step["invited"], step["replied"], step["errors"]) == (5, 5, 5, {}), step
