"""Typed FastAPI dependencies: the node's runtime and the caller's token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from node.auth import Scope, TokenInfo
from node.errors import AuthError
from node.runtime import NodeRuntime

__all__ = [
    "AdminToken",
    "IngestToken",
    "ReadToken",
    "Runtime",
    "get_runtime",
    "token_with",
]

_bearer = HTTPBearer(auto_error=False)


def get_runtime(request: Request) -> NodeRuntime:
    """The runtime the app was created with."""
    runtime: NodeRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[NodeRuntime, Depends(get_runtime)]


def token_with(scope: Scope):  # type: ignore[no-untyped-def]
    """Build a dependency that verifies the bearer token and requires ``scope``."""

    def verify(
        runtime: Runtime,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> TokenInfo:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise AuthError("missing bearer token: send 'Authorization: Bearer <API token>'")
        info = runtime.tokens.verify(credentials.credentials)
        info.require(scope)
        return info

    return verify


ReadToken = Annotated[TokenInfo, Depends(token_with(Scope.READ))]
IngestToken = Annotated[TokenInfo, Depends(token_with(Scope.INGEST))]
AdminToken = Annotated[TokenInfo, Depends(token_with(Scope.ADMIN))]
