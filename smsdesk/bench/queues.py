"""The queues variant of the contact-center benchmark (``--queues K``; docs/performance.md, docs/routing.md).

K queues ``q0 … q{K-1}``, each reached through its own business number and asking for its own skill
``s<j>`` at level 2, with priority j. Agent i holds two skills at level 3: ``s<i mod K>`` and
``s<(i+1) mod K>``, so each queue is served by 2/K of the agents. Each customer texts one of the numbers,
always the same one (a conversation stays in its queue)."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass

__all__ = ["QueuePlan"]


@dataclass(frozen=True)
class QueuePlan:
    queues: int

    def __post_init__(self) -> None:
        if self.queues < 1:
            raise ValueError(f"--queues must be >= 1, got {self.queues}")

    @property
    def numbers(self) -> list[str]:
        return [f"+1555100{j:04d}" for j in range(self.queues)]

    def environment(self) -> dict[str, str]:
        """The server's settings: ``SMSDESK_QUEUES`` and ``SMSDESK_NUMBER_QUEUES``."""
        queues = {f"q{j}": {"skills": {f"s{j}": 2}, "priority": j} for j in range(self.queues)}
        numbers = {n: f"q{j}" for j, n in enumerate(self.numbers)}
        return {"SMSDESK_QUEUES": json.dumps(queues), "SMSDESK_NUMBER_QUEUES": json.dumps(numbers)}

    def skills_of(self, agent_index: int) -> dict[str, int]:
        k = self.queues
        return {f"s{agent_index % k}": 3, f"s{(agent_index + 1) % k}": 3}

    def number_for(self, customer: str) -> str:
        return self.numbers[zlib.crc32(customer.encode()) % self.queues]
