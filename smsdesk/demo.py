"""Demo data for ``smsdesk demo``: three agents, two supervisors and an admin, all with password ``password``."""

from __future__ import annotations

from smsdesk.actions.users import do_create_user
from smsdesk.domain.users import Role
from smsdesk.runtime import Runtime

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "seed_demo_data"]

DEMO_PASSWORD = "password"
DEMO_USERS: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("agent1", "Alice (agent1)", frozenset({Role.AGENT})),
    ("agent2", "Bob (agent2)", frozenset({Role.AGENT})),
    ("agent3", "Carol (agent3)", frozenset({Role.AGENT})),
    ("supervisor1", "Sam (supervisor1)", frozenset({Role.SUPERVISOR})),
    ("supervisor2", "Sue (supervisor2)", frozenset({Role.SUPERVISOR})),
    ("admin", "Admin", frozenset({Role.ADMIN, Role.SUPERVISOR})),
)


async def seed_demo_data(rt: Runtime) -> list[str]:
    """Create the demo users that do not exist yet; return the names created. Safe to run on every start."""
    created = []
    for name, nickname, roles in DEMO_USERS:
        if await rt.store.get_user_by_name(name) is None:
            await do_create_user(rt, name, DEMO_PASSWORD, roles, nickname=nickname, first_name=name)
            created.append(name)
    return created
