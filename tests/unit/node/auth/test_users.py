from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from node.audit import AuditLog, verify_audit_log
from node.auth import PasswordHasher, Role, SessionService, UserService
from node.errors import (
    AccountDisabledError,
    AccountLockedError,
    AuthError,
    InvalidUserError,
    NotFoundError,
    UserExistsError,
    WeakPasswordError,
)
from tests.unit.node.auth.conftest import Clock

PASSWORD = "correct horse battery"


def test_create_get_list_and_change(users: UserService) -> None:
    alice = users.create("alice", PASSWORD, Role.ANNOTATOR, "Alice A.")
    users.create("bob", PASSWORD, "reviewer")
    assert users.get("alice") == alice
    assert [u.username for u in users.list()] == ["alice", "bob"]
    assert users.set_role("alice", Role.REVIEWER, actor="admin").role is Role.REVIEWER
    changed = users.update("alice", display_name="Dr Alice", role="admin", actor="admin")
    assert (changed.display_name, changed.role) == ("Dr Alice", Role.ADMIN)
    assert alice.to_json()["role"] == "annotator" and "password_hash" not in alice.to_json()


def test_create_refuses_duplicates_weak_passwords_and_bad_names(users: UserService) -> None:
    users.create("alice", PASSWORD, Role.ANNOTATOR)
    with pytest.raises(UserExistsError, match="already exists"):
        users.create("alice", PASSWORD, Role.ADMIN)
    with pytest.raises(WeakPasswordError, match="at least 12 characters"):
        users.create("carol", "short", Role.ANNOTATOR)
    with pytest.raises(InvalidUserError, match="unknown role"):
        users.create("carol", PASSWORD, "root")
    with pytest.raises(InvalidUserError, match="letters, digits"):
        users.create("car ol", PASSWORD, Role.ANNOTATOR)
    with pytest.raises(InvalidUserError, match="letters, digits"):
        users.create("token:ops", PASSWORD, Role.ANNOTATOR)  # cannot pose as a token
    with pytest.raises(InvalidUserError, match="names the node itself"):
        users.create("System", PASSWORD, Role.ADMIN)
    with pytest.raises(NotFoundError, match="user list"):
        users.get("nobody")


def test_authenticate_right_and_wrong(users: UserService) -> None:
    created = users.create("alice", PASSWORD, Role.ANNOTATOR)
    assert users.authenticate("alice", PASSWORD) == created
    with pytest.raises(AuthError, match="wrong username or password"):
        users.authenticate("alice", "not the password")
    with pytest.raises(AuthError, match="wrong username or password"):
        users.authenticate("nobody", PASSWORD)


def test_lockout_after_failures_in_window_then_retry_after_window(
    users: UserService, clock: Clock
) -> None:
    users.create("alice", PASSWORD, Role.ANNOTATOR)
    for _ in range(2):
        with pytest.raises(AuthError, match="wrong"):
            users.authenticate("alice", "bad password!")
        clock.advance(minutes=1)
    with pytest.raises(AccountLockedError) as third:
        users.authenticate("alice", "bad password!")
    first_failure = clock.now - timedelta(minutes=2)
    assert third.value.retry_at == first_failure + timedelta(minutes=10)
    assert "try again after" in str(third.value)
    # Even the right password is refused while locked, and is not checked.
    with pytest.raises(AccountLockedError):
        users.authenticate("alice", PASSWORD)
    clock.advance(minutes=8, seconds=1)  # the oldest failure has left the window
    assert users.authenticate("alice", PASSWORD).username == "alice"
    assert users.failure_count("alice") == 0


def test_unknown_usernames_lock_out_the_same_way(users: UserService) -> None:
    for _ in range(2):
        with pytest.raises(AuthError):
            users.authenticate("ghost", PASSWORD)
    with pytest.raises(AccountLockedError):
        users.authenticate("ghost", PASSWORD)


def test_disabled_user_cannot_sign_in_and_loses_sessions(
    users: UserService, sessions: SessionService
) -> None:
    alice = users.create("alice", PASSWORD, Role.ANNOTATOR)
    new = sessions.create(alice.id)
    users.disable("alice", actor="admin")
    with pytest.raises(AuthError, match="ended"):
        sessions.resolve(new.session_id)
    with pytest.raises(AccountDisabledError, match="ask an admin"):
        users.authenticate("alice", PASSWORD)
    with pytest.raises(AuthError, match="disabled"):
        users.assert_active(alice.id)
    users.enable("alice", actor="admin")
    assert not users.authenticate("alice", PASSWORD).disabled


def test_new_password_ends_sessions_and_old_password(
    users: UserService, sessions: SessionService
) -> None:
    alice = users.create("alice", PASSWORD, Role.ANNOTATOR)
    new = sessions.create(alice.id)
    users.set_password("alice", "another long passphrase", actor="alice")
    with pytest.raises(AuthError):
        sessions.resolve(new.session_id)
    with pytest.raises(AuthError):
        users.authenticate("alice", PASSWORD)
    assert users.authenticate("alice", "another long passphrase").id == alice.id


def test_admin_cannot_lock_themselves_out(users: UserService) -> None:
    users.create("root", PASSWORD, Role.ADMIN)
    with pytest.raises(InvalidUserError, match="own admin role"):
        users.set_role("root", Role.ANNOTATOR, actor="root")
    with pytest.raises(InvalidUserError, match="disable your own"):
        users.disable("root", actor="root")


def test_changed_costs_rehash_at_sign_in(users: UserService) -> None:
    users.create("alice", PASSWORD, Role.ANNOTATOR)
    users.hasher = PasswordHasher(time_cost=2, memory_cost_kib=16, parallelism=1)
    users.authenticate("alice", PASSWORD)
    with users.engine.connect() as connection:
        encoded = connection.execute(text("SELECT password_hash FROM users")).scalar_one()
    assert "t=2" in encoded and users.authenticate("alice", PASSWORD).username == "alice"


def test_sign_ins_and_changes_are_audited(users: UserService, audit: AuditLog) -> None:
    users.create("alice", PASSWORD, Role.ANNOTATOR, actor="admin")
    users.authenticate("alice", PASSWORD)
    with pytest.raises(AuthError):
        users.authenticate("alice", "wrong password")
    users.set_role("alice", Role.REVIEWER, actor="admin")
    actions = [(e.actor, e.action, e.target_id) for e in audit.entries()]
    assert actions == [
        ("admin", "created", "alice"),
        ("alice", "logged_in", "alice"),
        ("alice", "login_failed", "alice"),
        ("admin", "changed", "alice"),
    ]
    assert verify_audit_log(audit).intact


def test_own_password_change_checks_the_current_one(
    users: UserService, sessions: SessionService, audit: AuditLog
) -> None:
    alice = users.create("alice", PASSWORD, Role.ANNOTATOR)
    new = sessions.create(alice.id)
    with pytest.raises(AuthError, match="wrong"):
        users.change_password("alice", "not my password", "another long passphrase")
    assert users.failure_count("alice") == 1
    with pytest.raises(WeakPasswordError):
        users.change_password("alice", PASSWORD, "short")
    users.change_password("alice", PASSWORD, "another long passphrase")
    with pytest.raises(AuthError):
        sessions.resolve(new.session_id)
    assert users.authenticate("alice", "another long passphrase").id == alice.id
    last_change = [e for e in audit.entries() if e.action == "changed"][-1]
    assert (last_change.actor, last_change.detail) == ("alice", {"password": "changed"})


def test_an_admin_password_reset_lifts_the_lockout(users: UserService) -> None:
    users.create("alice", PASSWORD, Role.ANNOTATOR)
    for _ in range(3):
        with pytest.raises(AuthError):
            users.authenticate("alice", "bad password!")
    with pytest.raises(AccountLockedError):
        users.authenticate("alice", PASSWORD)
    users.set_password("alice", "a fresh passphrase", actor="admin")
    assert users.authenticate("alice", "a fresh passphrase").username == "alice"
