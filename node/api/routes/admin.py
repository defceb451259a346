"""Admin API: tokens and the quarantine of images that may carry burned-in text."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from node.api.deps import Administrator, Runtime
from node.audit import AuditAction
from node.auth import Scope
from node.store import InstanceRecord

router = APIRouter(prefix="/api/v1", tags=["admin"])


class TokenCreate(BaseModel):
    """Request to issue a token."""

    name: str = Field(min_length=1, max_length=128)
    scopes: list[Scope] = Field(default_factory=list)
    expires_at: datetime | None = None
    user: str | None = Field(
        default=None, description="Issue the token for this user: it acts with the user's role."
    )

    @model_validator(mode="after")
    def _scoped_or_for_a_user(self) -> TokenCreate:
        if not self.scopes and self.user is None:
            raise ValueError("give at least one scope, or a user the token acts for")
        return self


class TokenPublic(BaseModel):
    """A token as listed (never with its secret)."""

    token_id: str
    name: str
    scopes: list[Scope]
    user_id: int | None = None


class TokenIssued(TokenPublic):
    """A freshly issued token: the only response that carries the secret."""

    token: str


class QuarantinedInstance(BaseModel):
    """An instance held back from annotation until an admin releases it."""

    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    sop_class_uid: str
    reason: str | None
    received_at: datetime
    released_at: datetime | None
    released_by: str | None


@router.post("/tokens", status_code=201)
def issue_token(body: TokenCreate, runtime: Runtime, admin: Administrator) -> TokenIssued:
    """Issue an API token, optionally acting for a user."""
    user_id = runtime.users.get(body.user).id if body.user is not None else None
    issued = runtime.tokens.issue(
        body.name, body.scopes, expires_at=body.expires_at, user_id=user_id
    )
    runtime.audit.record(
        actor=admin.username,
        action=AuditAction.CREATED,
        target_type="token",
        target_id=issued.info.token_id,
        detail={"name": issued.info.name, "scopes": sorted(issued.info.scopes), "user": body.user},
    )
    return TokenIssued(
        token_id=issued.info.token_id,
        name=issued.info.name,
        scopes=sorted(issued.info.scopes),
        user_id=user_id,
        token=issued.token,
    )


@router.get("/tokens")
def list_tokens(runtime: Runtime, _admin: Administrator) -> list[TokenPublic]:
    """List active tokens."""
    return [
        TokenPublic(token_id=t.token_id, name=t.name, scopes=sorted(t.scopes), user_id=t.user_id)
        for t in runtime.tokens.list()
    ]


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, runtime: Runtime, admin: Administrator) -> None:
    """Revoke a token."""
    runtime.tokens.revoke(token_id)
    runtime.audit.record(
        actor=admin.username, action=AuditAction.REVOKED, target_type="token", target_id=token_id
    )


@router.get("/quarantine")
def list_quarantine(runtime: Runtime, _admin: Administrator) -> list[QuarantinedInstance]:
    """Instances waiting for release."""
    return [_public(r) for r in runtime.store.quarantined_instances()]


@router.post("/quarantine/{sop_instance_uid}/release")
def release(sop_instance_uid: str, runtime: Runtime, admin: Administrator) -> QuarantinedInstance:
    """Release an instance for annotation after checking it carries no burned-in identity."""
    record = runtime.store.release(sop_instance_uid, released_by=admin.username)
    runtime.audit.record(
        actor=admin.username,
        action=AuditAction.RELEASED,
        target_type="instance",
        target_id=sop_instance_uid,
    )
    return _public(record)


def _public(record: InstanceRecord) -> QuarantinedInstance:
    return QuarantinedInstance(
        sop_instance_uid=record.sop_instance_uid,
        series_instance_uid=record.series_instance_uid,
        study_instance_uid=record.study_instance_uid,
        sop_class_uid=record.sop_class_uid,
        reason=record.quarantine_reason,
        received_at=record.received_at,
        released_at=record.released_at,
        released_by=record.released_by,
    )
