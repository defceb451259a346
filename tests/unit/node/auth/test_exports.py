from __future__ import annotations

import node.audit
import node.auth


def test_auth_public_api() -> None:
    assert node.auth.__all__ == sorted(node.auth.__all__, key=lambda n: (not n.isupper(), n))
    assert {"Permission", "Principal", "Role", "User", "UserService", "SessionService"} <= set(
        node.auth.__all__
    )
    for name in node.auth.__all__:
        assert getattr(node.auth, name) is not None


def test_audit_public_api() -> None:
    assert set(node.audit.__all__) == {
        "GENESIS_HASH",
        "AuditAction",
        "AuditEntry",
        "AuditLog",
        "AuditVerification",
        "audit_key",
        "verify_audit_log",
    }
