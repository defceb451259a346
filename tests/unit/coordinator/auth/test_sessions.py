"""Dashboard sessions: opened with a token, act as it, end with it, time out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from coordinator.auth import AdminSessionService, Role
from coordinator.errors import AuthError
from coordinator.runtime import CoordinatorRuntime
from coordinator.store import AdminUserRow


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _service(coordinator: CoordinatorRuntime, clock: Clock) -> AdminSessionService:
    return AdminSessionService(
        coordinator.engine,
        coordinator.tokens,
        idle_timeout=timedelta(minutes=30),
        absolute_timeout=timedelta(hours=2),
        clock=clock,
    )


def test_a_session_acts_as_its_token_and_keeps_only_a_digest(
    coordinator: CoordinatorRuntime,
) -> None:
    issued = coordinator.tokens.issue("eve", role=Role.GUIDELINE_EDITOR)
    opened = coordinator.sessions.open(issued.token)
    session = coordinator.sessions.resolve(opened.session_id)
    assert session.principal.username == "eve"
    assert session.principal.role is Role.GUIDELINE_EDITOR
    assert session.csrf_token == opened.session.csrf_token
    assert session.csrf_matches(opened.session.csrf_token)
    assert not session.csrf_matches(None) and not session.csrf_matches("x")
    with coordinator.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT id_sha256 FROM admin_sessions").scalars().all()
    assert stored and opened.session_id not in stored


def test_a_bad_token_opens_nothing(coordinator: CoordinatorRuntime) -> None:
    with pytest.raises(AuthError, match="unknown admin token"):
        coordinator.sessions.open("hca_not_a_token_at_all")
    assert coordinator.sessions.count() == 0


def test_signing_out_ends_the_session(coordinator: CoordinatorRuntime) -> None:
    opened = coordinator.sessions.open(coordinator.tokens.issue("v", role=Role.VIEWER).token)
    assert coordinator.sessions.end(opened.session_id)
    with pytest.raises(AuthError, match="ended or is unknown"):
        coordinator.sessions.resolve(opened.session_id)
    assert not coordinator.sessions.end(opened.session_id)


def test_idle_and_absolute_timeouts(coordinator: CoordinatorRuntime) -> None:
    clock = Clock()
    service = _service(coordinator, clock)
    token = coordinator.tokens.issue("v", role=Role.VIEWER).token
    idle = service.open(token)
    clock.now += timedelta(minutes=31)
    with pytest.raises(AuthError, match="expired"):
        service.resolve(idle.session_id)
    busy = service.open(token)
    for _ in range(5):  # a request every 25 minutes keeps it alive, up to the absolute limit
        clock.now += timedelta(minutes=25)
        if clock.now >= busy.session.expires_at:
            break
        service.resolve(busy.session_id)
    clock.now = busy.session.expires_at
    with pytest.raises(AuthError, match="expired"):
        service.resolve(busy.session_id)


def test_revoking_the_token_or_disabling_the_user_ends_the_session(
    coordinator: CoordinatorRuntime,
) -> None:
    issued = coordinator.tokens.issue("ann", role=Role.COORDINATOR_ADMIN)
    opened = coordinator.sessions.open(issued.token)
    coordinator.tokens.revoke(issued.token_id)
    with pytest.raises(AuthError, match=r"session ended: admin token 'ann' was revoked"):
        coordinator.sessions.resolve(opened.session_id)
    with pytest.raises(AuthError, match="ended or is unknown"):
        coordinator.sessions.resolve(opened.session_id)

    other = coordinator.tokens.issue("ben", role=Role.VIEWER)
    second = coordinator.sessions.open(other.token)
    with Session(coordinator.engine) as session, session.begin():
        session.execute(
            update(AdminUserRow).where(AdminUserRow.username == "ben").values(disabled=True)
        )
    with pytest.raises(AuthError, match="disabled"):
        coordinator.sessions.resolve(second.session_id)


def test_timeouts_must_be_positive(coordinator: CoordinatorRuntime) -> None:
    with pytest.raises(ValueError, match="positive"):
        AdminSessionService(coordinator.engine, coordinator.tokens, idle_timeout=timedelta(0))
