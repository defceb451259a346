"""Coordinator administrators: roles, permissions, bearer tokens and dashboard sessions.

Roles are ``coordinator-admin`` (everything), ``guideline-editor`` (publish
guidelines, read) and ``viewer`` (read). A token acts as one admin user with
that user's role; a dashboard session acts as the token it was opened with.
"""

from coordinator.auth.roles import ROLE_PERMISSIONS, AdminPrincipal, Permission, Role
from coordinator.auth.sessions import AdminSession, AdminSessionService, NewAdminSession
from coordinator.auth.tokens import AdminTokenService, IssuedAdminToken

__all__ = [
    "ROLE_PERMISSIONS",
    "AdminPrincipal",
    "AdminSession",
    "AdminSessionService",
    "AdminTokenService",
    "IssuedAdminToken",
    "NewAdminSession",
    "Permission",
    "Role",
]
