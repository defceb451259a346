"""Who may call the node: users, roles, sessions, API tokens and the principal they resolve to.

Users sign in with a password (Argon2id) and get a server-side session; API
clients send bearer tokens, with bare scopes or issued for a user. Either
resolves to a :class:`Principal` whose permissions every route checks.
"""

from node.auth.lockout import LockoutPolicy, LoginThrottle
from node.auth.passwords import PasswordHasher
from node.auth.principals import SCOPE_PERMISSIONS, PrincipalResolver, SessionPrincipal
from node.auth.roles import ROLE_PERMISSIONS, Permission, Principal, Role
from node.auth.sessions import NewSession, SessionInfo, SessionService
from node.auth.tokens import IssuedToken, Scope, TokenInfo, TokenService
from node.auth.users import User, UserService

__all__ = [
    "ROLE_PERMISSIONS",
    "SCOPE_PERMISSIONS",
    "IssuedToken",
    "LockoutPolicy",
    "LoginThrottle",
    "NewSession",
    "PasswordHasher",
    "Permission",
    "Principal",
    "PrincipalResolver",
    "Role",
    "Scope",
    "SessionInfo",
    "SessionPrincipal",
    "SessionService",
    "TokenInfo",
    "TokenService",
    "User",
    "UserService",
]
