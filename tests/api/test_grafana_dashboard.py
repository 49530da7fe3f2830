"""The Grafana dashboard in docs/ queries only metrics that ``/metrics`` exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.api.conftest import Api

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana" / "smsdesk-dashboard.json"


async def test_every_metric_the_dashboard_uses_is_exposed(api: Api) -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    used = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for p in panels
        for t in p["targets"]
        for name in re.findall(r"\bsmsdesk_\w+", t["expr"])
    }
    await api.text("Hello")  # so that labelled counters have a sample
    text = (await api.client.get("/metrics")).text
    exposed = {m for m in re.findall(r"^# TYPE (\w+) ", text, re.M)}
    exposed |= {m + "_total" for m in exposed}
    assert used and used <= exposed, used - exposed
