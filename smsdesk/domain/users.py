"""Users and roles (spec §9.7)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Principal", "Role", "User"]


class Role(enum.Enum):
    AGENT = "ROLE_AGENT"  # handles SMS sessions
    SUPERVISOR = "ROLE_SUPERVISOR"  # monitors, coaches, barges in; controls agents' channels
    ADMIN = "ROLE_ADMIN"  # manages users; reads the audit log

    @classmethod
    def parse(cls, text: str) -> Role:
        """Accept ``agent``, ``ROLE_AGENT`` and any case."""
        t = text.strip().upper()
        if not t.startswith("ROLE_"):
            t = "ROLE_" + t
        return cls(t)


@dataclass(frozen=True, slots=True)
class User:
    id: str
    user_name: str
    password_hash: str
    roles: frozenset[Role]
    first_name: str = ""
    last_name: str = ""
    nickname: str = ""
    capacity: int = 0  # 0 = use the configured default
    enabled: bool = True
    created_ms: int = 0
    email_address: str = ""  # the User resource's emailAddress (spec §9.7)

    @property
    def display_name(self) -> str:
        return self.nickname or self.user_name

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_supervisor(self) -> bool:
        return Role.SUPERVISOR in self.roles or Role.ADMIN in self.roles


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: what authentication yields, for REST and for CometD alike."""

    user_id: str
    user_name: str
    roles: frozenset[Role]
    http_session_id: str | None = None

    @property
    def is_supervisor(self) -> bool:
        return Role.SUPERVISOR in self.roles or Role.ADMIN in self.roles

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles
