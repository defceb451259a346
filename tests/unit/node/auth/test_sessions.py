from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from node.auth import Role, SessionService, UserService
from node.errors import AuthError
from tests.unit.node.auth.conftest import Clock


@pytest.fixture
def user_id(users: UserService) -> int:
    return users.create("alice", "correct horse battery", Role.ANNOTATOR).id


def test_only_a_hash_of_the_session_id_is_stored(
    sessions: SessionService, user_id: int, engine: Engine
) -> None:
    new = sessions.create(user_id)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT id_sha256, csrf_token FROM user_sessions")).one()
    assert new.session_id not in stored.id_sha256 and len(stored.id_sha256) == 64
    assert stored.csrf_token == new.info.csrf_token
    assert sessions.resolve(new.session_id).user_id == user_id


def test_csrf_token_is_per_session_and_compared_exactly(
    sessions: SessionService, user_id: int
) -> None:
    first, second = sessions.create(user_id), sessions.create(user_id)
    assert first.info.csrf_token != second.info.csrf_token
    assert first.info.csrf_matches(first.info.csrf_token)
    assert not first.info.csrf_matches(second.info.csrf_token)
    assert not first.info.csrf_matches(None)


def test_idle_expiry(sessions: SessionService, user_id: int, clock: Clock) -> None:
    new = sessions.create(user_id)
    clock.advance(minutes=29)
    sessions.resolve(new.session_id)  # activity keeps it alive
    clock.advance(minutes=29)
    sessions.resolve(new.session_id)
    clock.advance(minutes=30)
    with pytest.raises(AuthError, match="expired"):
        sessions.resolve(new.session_id)
    with pytest.raises(AuthError, match="sign in again"):
        sessions.resolve(new.session_id)  # and it is gone


def test_absolute_expiry_despite_activity(
    sessions: SessionService, user_id: int, clock: Clock
) -> None:
    new = sessions.create(user_id)
    for _ in range(16):
        clock.advance(minutes=29)
        sessions.resolve(new.session_id)
    clock.advance(minutes=30)  # 8 h 14 min after sign-in, though active
    with pytest.raises(AuthError, match="expired"):
        sessions.resolve(new.session_id)


def test_end_and_end_all(sessions: SessionService, user_id: int) -> None:
    first, second = sessions.create(user_id), sessions.create(user_id)
    assert sessions.end(first.session_id) and not sessions.end(first.session_id)
    with pytest.raises(AuthError):
        sessions.resolve(first.session_id)
    assert sessions.end_all(user_id) == 1
    with pytest.raises(AuthError):
        sessions.resolve(second.session_id)


def test_unknown_session(sessions: SessionService) -> None:
    with pytest.raises(AuthError, match="sign in again"):
        sessions.resolve("made-up")
