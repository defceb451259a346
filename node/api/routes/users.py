"""User management for admins: ``GET/POST /api/users``, ``PATCH /api/users/{username}``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from node.api.deps import Runtime, UserManager
from node.auth import Role

router = APIRouter(prefix="/api/users", tags=["users"])


class UserCreate(BaseModel):
    """A new local user."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    role: Role
    display_name: str = Field(default="", max_length=128)


class UserChange(BaseModel):
    """Changes to a user; fields left out stay as they are."""

    role: Role | None = None
    display_name: str | None = Field(default=None, max_length=128)
    password: str | None = Field(default=None, min_length=1, max_length=1024)
    disabled: bool | None = None


@router.get("")
def list_users(runtime: Runtime, _admin: UserManager) -> list[dict[str, Any]]:
    """Every user (never a password hash)."""
    return [u.to_json() for u in runtime.users.list()]


@router.post("", status_code=201)
def create_user(body: UserCreate, runtime: Runtime, admin: UserManager) -> dict[str, Any]:
    """Create a user who signs in with a password."""
    user = runtime.users.create(
        body.username, body.password, body.role, body.display_name, actor=admin.username
    )
    return user.to_json()


@router.patch("/{username}")
def change_user(
    username: str, body: UserChange, runtime: Runtime, admin: UserManager
) -> dict[str, Any]:
    """Change a user's role, display name, password or disabled state."""
    user = runtime.users.update(
        username,
        role=body.role,
        display_name=body.display_name,
        password=body.password,
        disabled=body.disabled,
        actor=admin.username,
    )
    return user.to_json()
