from __future__ import annotations

import pytest

from node.auth import (
    ROLE_PERMISSIONS,
    Permission,
    PrincipalResolver,
    Role,
    Scope,
    SessionService,
    TokenService,
    UserService,
)
from node.errors import AuthError


@pytest.fixture
def resolver(
    tokens: TokenService, users: UserService, sessions: SessionService
) -> PrincipalResolver:
    return PrincipalResolver(tokens, users, sessions)


def test_bare_scoped_tokens(resolver: PrincipalResolver, tokens: TokenService) -> None:
    admin = resolver.from_token(tokens.issue("ops", [Scope.ADMIN]).token)
    read = resolver.from_token(tokens.issue("viewer", [Scope.READ]).token)
    ingest = resolver.from_token(tokens.issue("pacs", [Scope.INGEST]).token)
    assert admin.permissions == frozenset(Permission) and admin.username == "token:ops"
    assert read.permissions == {Permission.VIEW_IMAGES} and read.role is None
    assert ingest.permissions == {Permission.INGEST} and ingest.via == "token"


def test_token_for_a_user_acts_as_the_user(
    resolver: PrincipalResolver, tokens: TokenService, users: UserService
) -> None:
    bob = users.create("bob", "correct horse battery", Role.REVIEWER)
    principal = resolver.from_token(tokens.issue("bob-script", [], user_id=bob.id).token)
    assert (principal.username, principal.user_id, principal.role) == ("bob", bob.id, Role.REVIEWER)
    assert principal.permissions == ROLE_PERMISSIONS[Role.REVIEWER]
    narrowed = resolver.from_token(tokens.issue("bob-read", [Scope.READ], user_id=bob.id).token)
    assert narrowed.permissions == {Permission.VIEW_IMAGES}


def test_a_user_token_never_exceeds_the_users_role(
    resolver: PrincipalResolver, tokens: TokenService, users: UserService
) -> None:
    ann = users.create("ann", "correct horse battery", Role.ANNOTATOR)
    principal = resolver.from_token(tokens.issue("x", [Scope.ADMIN], user_id=ann.id).token)
    assert principal.permissions == ROLE_PERMISSIONS[Role.ANNOTATOR]
    assert not principal.can(Permission.ADMINISTER)


def test_disabled_users_tokens_stop_working(
    resolver: PrincipalResolver, tokens: TokenService, users: UserService
) -> None:
    ann = users.create("ann", "correct horse battery", Role.ANNOTATOR)
    token = tokens.issue("x", [], user_id=ann.id).token
    users.disable("ann", actor="admin")
    with pytest.raises(AuthError, match="disabled"):
        resolver.from_token(token)


def test_session_principal(
    resolver: PrincipalResolver, sessions: SessionService, users: UserService
) -> None:
    ann = users.create("ann", "correct horse battery", Role.ANNOTATOR)
    new = sessions.create(ann.id)
    resolved = resolver.from_session(new.session_id)
    assert resolved.principal.via == "session" and resolved.principal.role is Role.ANNOTATOR
    assert resolved.session.csrf_token == new.info.csrf_token


def test_tokens_need_a_scope_or_a_user(tokens: TokenService) -> None:
    with pytest.raises(ValueError, match="scope"):
        tokens.issue("nothing", [])
