"""Authentication of API callers: bearer tokens with scopes."""

from node.auth.tokens import IssuedToken, Scope, TokenInfo, TokenService

__all__ = ["IssuedToken", "Scope", "TokenInfo", "TokenService"]
