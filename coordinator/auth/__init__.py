"""Coordinator administrators: roles, permissions and bearer tokens.

Roles are ``coordinator-admin`` (everything), ``guideline-editor`` (publish
guidelines, read) and ``viewer`` (read). A token acts as one admin user with
that user's role.
"""

from coordinator.auth.roles import ROLE_PERMISSIONS, AdminPrincipal, Permission, Role
from coordinator.auth.tokens import AdminTokenService, IssuedAdminToken

__all__ = [
    "ROLE_PERMISSIONS",
    "AdminPrincipal",
    "AdminTokenService",
    "IssuedAdminToken",
    "Permission",
    "Role",
]
