"""Roles, the permissions each grants, and the principal a request acts as.

Every API route requires exactly one :class:`Permission`. A caller is a
:class:`Principal`: a signed-in user (session cookie) or an API token, which
either acts for a user (and holds that user's role) or carries bare scopes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["ROLE_PERMISSIONS", "Permission", "Principal", "Role"]


class Role(enum.StrEnum):
    """A local user's role on the node."""

    ANNOTATOR = "annotator"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class Permission(enum.StrEnum):
    """One thing a route lets its caller do."""

    VIEW_IMAGES = "view_images"
    INGEST = "ingest"
    ANNOTATE = "annotate"
    REVIEW = "review"
    ADJUDICATE = "adjudicate"
    VIEW_QUALITY = "view_quality"
    EXPORT = "export"
    MANAGE_PROJECTS = "manage_projects"
    MANAGE_USERS = "manage_users"
    ADMINISTER = "administer"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ANNOTATOR: frozenset({Permission.VIEW_IMAGES, Permission.ANNOTATE}),
    Role.REVIEWER: frozenset(
        {
            Permission.VIEW_IMAGES,
            Permission.ANNOTATE,
            Permission.REVIEW,
            Permission.ADJUDICATE,
            Permission.VIEW_QUALITY,
            Permission.EXPORT,
        }
    ),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True)
class Principal:
    """Who a request acts as, and what it may do.

    Attributes
    ----------
    username
        The user's name, or ``token:<name>`` for a token that acts for no user.
    user_id
        The user's id, or ``None`` for such a token.
    role
        The user's role, or ``None`` for a token with bare scopes.
    permissions
        What the request may do.
    via
        ``"session"`` (browser cookie) or ``"token"`` (bearer token).
    """

    username: str
    user_id: int | None
    role: Role | None
    permissions: frozenset[Permission]
    via: str

    def can(self, permission: Permission) -> bool:
        """Whether the principal holds ``permission``."""
        return permission in self.permissions
