"""Access helpers: one condition per line, so every security rule is in one readable place."""

from __future__ import annotations

from smsdesk.config import Settings
from smsdesk.domain.errors import NoPermission, NotFound
from smsdesk.domain.users import Principal, User
from smsdesk.store.sql import SqlStore

__all__ = ["access_user_by_id", "require_admin", "require_feature", "require_supervisor"]


def require_feature(settings: Settings, feature: str) -> None:
    """A disabled feature behaves as absent (spec §9.8): the resource is not found."""
    if not settings.feature_enabled(feature):
        raise NotFound(f"Not found: the feature '{feature}' is not enabled on this server")


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise NoPermission("This operation requires the admin role (ROLE_ADMIN)")


def require_supervisor(principal: Principal) -> None:
    if not principal.is_supervisor:
        raise NoPermission("This operation requires the supervisor role (ROLE_SUPERVISOR)")


async def access_user_by_id(store: SqlStore, user_id: str) -> User:
    user = await store.get_user(user_id)
    if user is None:
        raise NotFound(f"User '{user_id}' not found")
    return user
