"""Coordinator roles and what each may do."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from coordinator.errors import PermissionDeniedError

__all__ = ["ROLE_PERMISSIONS", "AdminPrincipal", "Permission", "Role"]


class Role(enum.StrEnum):
    """An admin user's role."""

    COORDINATOR_ADMIN = "coordinator-admin"
    GUIDELINE_EDITOR = "guideline-editor"
    VIEWER = "viewer"


class Permission(enum.StrEnum):
    """One thing an admin may do."""

    VIEW = "view"
    PUBLISH_GUIDELINES = "publish_guidelines"
    MANAGE_SITES = "manage_sites"
    MANAGE_TOKENS = "manage_tokens"
    RUN_TRAINING = "run_training"


ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.COORDINATOR_ADMIN: frozenset(Permission),
    Role.GUIDELINE_EDITOR: frozenset({Permission.VIEW, Permission.PUBLISH_GUIDELINES}),
    Role.VIEWER: frozenset({Permission.VIEW}),
}


@dataclass(frozen=True)
class AdminPrincipal:
    """Who an admin request acts as."""

    username: str
    role: Role
    token_id: str | None = None

    def can(self, permission: Permission) -> bool:
        """Whether the role grants ``permission``."""
        return permission in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission) -> AdminPrincipal:
        """Return self, or raise :class:`PermissionDeniedError` naming the permission."""
        if not self.can(permission):
            raise PermissionDeniedError(
                f"{self.username} ({self.role}) may not do this: it needs the "
                f"{permission.value!r} permission; ask a coordinator-admin",
                permission=permission.value,
            )
        return self
