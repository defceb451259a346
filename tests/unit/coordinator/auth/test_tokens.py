from datetime import UTC, datetime, timedelta

import pytest

from coordinator.auth import ROLE_PERMISSIONS, Permission, Role
from coordinator.errors import AuthError, NotFoundError, PermissionDeniedError
from coordinator.runtime import CoordinatorRuntime


def test_roles_grant_what_they_say() -> None:
    assert ROLE_PERMISSIONS[Role.COORDINATOR_ADMIN] == frozenset(Permission)
    assert Permission.PUBLISH_GUIDELINES in ROLE_PERMISSIONS[Role.GUIDELINE_EDITOR]
    assert Permission.MANAGE_SITES not in ROLE_PERMISSIONS[Role.GUIDELINE_EDITOR]
    assert ROLE_PERMISSIONS[Role.VIEWER] == frozenset({Permission.VIEW})


def test_a_token_acts_as_its_user(coordinator: CoordinatorRuntime) -> None:
    issued = coordinator.tokens.issue("ed", role=Role.GUIDELINE_EDITOR)
    assert issued.token.startswith("hca_")
    principal = coordinator.tokens.resolve(issued.token)
    assert (principal.username, principal.role) == ("ed", Role.GUIDELINE_EDITOR)
    assert principal.require(Permission.PUBLISH_GUIDELINES) is principal
    with pytest.raises(PermissionDeniedError, match="manage_sites") as denied:
        principal.require(Permission.MANAGE_SITES)
    assert denied.value.permission == "manage_sites"
    second = coordinator.tokens.issue("ed")  # the existing user keeps their role
    assert coordinator.tokens.resolve(second.token).role is Role.GUIDELINE_EDITOR


def test_user_roles_are_not_changed_by_a_token(coordinator: CoordinatorRuntime) -> None:
    coordinator.tokens.issue("ed", role=Role.GUIDELINE_EDITOR)
    with pytest.raises(AuthError, match="already has the role"):
        coordinator.tokens.issue("ed", role=Role.COORDINATOR_ADMIN)
    with pytest.raises(NotFoundError, match="--role"):
        coordinator.tokens.issue("nobody")


def test_unknown_revoked_and_expired_tokens(coordinator: CoordinatorRuntime) -> None:
    with pytest.raises(AuthError, match="unknown"):
        coordinator.tokens.resolve("hca_nothing")
    issued = coordinator.tokens.issue("v", role=Role.VIEWER)
    coordinator.tokens.revoke(issued.token_id)
    with pytest.raises(AuthError, match="revoked"):
        coordinator.tokens.resolve(issued.token)
    old = coordinator.tokens.issue("v", expires_at=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(AuthError, match="expired"):
        coordinator.tokens.resolve(old.token)
    with pytest.raises(NotFoundError):
        coordinator.tokens.revoke("missing")
