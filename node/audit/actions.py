"""What an audit entry says was done."""

from __future__ import annotations

import enum

__all__ = ["AuditAction"]


class AuditAction(enum.StrEnum):
    """The verb of an audit entry; the target says to what."""

    VIEWED = "viewed"
    CREATED = "created"
    CHANGED = "changed"
    DELETED = "deleted"
    REVIEWED = "reviewed"
    ADJUDICATED = "adjudicated"
    EXPORTED = "exported"
    IMPORTED = "imported"
    RELEASED = "released"
    REVOKED = "revoked"
    DISABLED = "disabled"
    LOGGED_IN = "logged_in"
    LOGGED_OUT = "logged_out"
    LOGIN_FAILED = "login_failed"
    LOCKED_OUT = "locked_out"
