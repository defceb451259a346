"""The node's audit trail: an append-only, hash-chained log of who did what.

Domain code writes an entry in the same transaction as the action it records
(:meth:`AuditLog.append`); ``harmonia-node audit verify`` walks the chain
(:func:`verify_audit_log`) and names the first entry that was tampered with.
"""

from node.audit.actions import AuditAction
from node.audit.chain import GENESIS_HASH, audit_key
from node.audit.log import AuditEntry, AuditLog
from node.audit.verify import AuditVerification, verify_audit_log

__all__ = [
    "GENESIS_HASH",
    "AuditAction",
    "AuditEntry",
    "AuditLog",
    "AuditVerification",
    "audit_key",
    "verify_audit_log",
]
