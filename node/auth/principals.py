"""Turning credentials into a :class:`~node.auth.roles.Principal`.

* A bearer token with bare scopes: ``admin`` grants every permission, ``read``
  grants ``view_images``, ``ingest`` grants ``ingest``.
* A bearer token issued for a user acts as that user with the user's role;
  scopes on such a token narrow it (a ``read`` token for a reviewer may only
  view images). A disabled user's tokens stop working.
* A session cookie: the signed-in user with the user's role.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.auth.roles import ROLE_PERMISSIONS, Permission, Principal
from node.auth.sessions import SessionInfo, SessionService
from node.auth.tokens import Scope, TokenService
from node.auth.users import UserService

__all__ = ["SCOPE_PERMISSIONS", "PrincipalResolver", "SessionPrincipal"]

SCOPE_PERMISSIONS: dict[Scope, frozenset[Permission]] = {
    Scope.ADMIN: frozenset(Permission),
    Scope.READ: frozenset({Permission.VIEW_IMAGES}),
    Scope.INGEST: frozenset({Permission.INGEST}),
}


@dataclass(frozen=True)
class SessionPrincipal:
    """A session's principal and the session itself (for its CSRF token)."""

    principal: Principal
    session: SessionInfo


class PrincipalResolver:
    """Resolve bearer tokens and session ids to principals."""

    def __init__(self, tokens: TokenService, users: UserService, sessions: SessionService) -> None:
        self.tokens = tokens
        self.users = users
        self.sessions = sessions

    def from_token(self, token: str) -> Principal:
        """The principal a bearer token acts as; :class:`AuthError` if it is not valid."""
        info = self.tokens.verify(token)
        scoped = frozenset().union(*(SCOPE_PERMISSIONS[s] for s in info.scopes))
        if info.user_id is None:
            return Principal(f"token:{info.name}", None, None, scoped, "token")
        user = self.users.assert_active(info.user_id)
        permissions = ROLE_PERMISSIONS[user.role]
        if info.scopes:
            permissions = permissions & scoped
        return Principal(user.username, user.id, user.role, permissions, "token")

    def from_session(self, session_id: str) -> SessionPrincipal:
        """The signed-in user a session cookie names; :class:`AuthError` if it has ended."""
        session = self.sessions.resolve(session_id)
        user = self.users.assert_active(session.user_id)
        principal = Principal(
            user.username, user.id, user.role, ROLE_PERMISSIONS[user.role], "session"
        )
        return SessionPrincipal(principal, session)
