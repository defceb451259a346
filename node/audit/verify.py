"""Walking the audit chain to check that every entry still says what was written.

:func:`verify_audit_log` recomputes each entry's hash from its fields, checks
it links to the previous entry, that sequence numbers have no gaps, that each
entry's MAC matches under the node's key, and finally that the sealed head
names the last entry, so that a changed, removed, inserted or truncated entry
is reported, with the first one that is wrong.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Engine, Row, Table, func, select

from node.audit.chain import entry_hash
from node.audit.log import AuditEntry, AuditLog
from node.store.auth_tables import AuditHeadRow, AuditLogRow
from shared.crypto.hash_chain import ChainHead, ChainVerification, walk_chain
from shared.database import missing_triggers

__all__ = ["AuditVerification", "verify_audit_log"]

_head = cast(Table, AuditHeadRow.__table__)
_log = cast(Table, AuditLogRow.__table__)

_TRIGGERS = (
    "audit_log_no_update",
    "audit_log_no_delete",
    "audit_head_no_delete",
    "audit_head_forward_only",
)


AuditVerification = ChainVerification
"""The outcome of walking the audit chain (see :class:`~shared.crypto.ChainVerification`)."""


def verify_audit_log(log: AuditLog, *, anchor: tuple[int, str] | None = None) -> AuditVerification:
    """Walk the chain of ``log`` up to its sealed head and report the first entry that is wrong.

    Safe while the node runs: entries appended after the head was read are
    left for the next check (they commit together with the head that names
    them, so the head never names an entry that is not there yet).

    Parameters
    ----------
    log
        The audit log to check.
    anchor
        ``(seq, entry_hash)`` of a head recorded earlier, somewhere the node
        cannot write: the log must still hold that entry with that hash, which
        catches a rollback to an old copy or a rewrite by someone with the key.
    """
    warnings = _missing_triggers(log.engine)
    head = _read_head(log.engine)
    if head is None:
        return AuditVerification(0, 1, "the audit head row is missing", 0, "", warnings)
    head_seq, head_hash = int(head.seq), str(head.entry_hash)

    def bad(seq: int, problem: str, count: int) -> AuditVerification:
        return AuditVerification(count, seq, problem, head_seq, head_hash, warnings)

    def anchored(entry: AuditEntry) -> str | None:
        if anchor is not None and entry.seq == anchor[0]:
            return _check_anchor(entry, anchor[1])
        return None

    count, broken = walk_chain(
        log.entries(up_to=head_seq),
        ChainHead(head_seq, head_hash, str(head.mac)),
        log.key,
        recompute=_recompute,
        check=anchored,
    )
    if broken is not None:
        return bad(broken.seq, broken.problem, count)
    if anchor is not None and head_seq < anchor[0]:
        return bad(
            head_seq + 1,
            f"the log ends at entry {head_seq} but held entry {anchor[0]} when the anchor was "
            "recorded: it was rolled back or truncated",
            count,
        )
    beyond = _entries_beyond_head(log.engine)
    if beyond is not None:
        return bad(
            beyond,
            f"entry {beyond} lies beyond the sealed head: it was added outside the audit log",
            count,
        )
    return AuditVerification(count, None, None, head_seq, head_hash, warnings)


def _read_head(engine: Engine) -> Row[Any] | None:
    with engine.connect() as connection:
        return connection.execute(select(_head).where(_head.c.id == 1)).one_or_none()


def _entries_beyond_head(engine: Engine) -> int | None:
    """The first entry the head has never named, if any (read before the head, so no race)."""
    with engine.connect() as connection:
        newest = connection.execute(select(func.max(_log.c.seq))).scalar_one_or_none()
    head = _read_head(engine)
    if newest is None or head is None or int(newest) <= int(head.seq):
        return None
    return int(head.seq) + 1


def _check_anchor(entry: AuditEntry, expected_hash: str) -> str | None:
    if entry.entry_hash == expected_hash:
        return None
    return f"entry {entry.seq} differs from the head recorded earlier (anchor): history rewritten"


def _recompute(entry: AuditEntry) -> str:
    return entry_hash(
        seq=entry.seq,
        time=entry.recorded_at,
        actor=entry.actor,
        action=entry.action,
        target_type=entry.target_type,
        target_id=entry.target_id,
        detail=entry.detail,
        prev_hash=entry.prev_hash,
    )


def _missing_triggers(engine: Engine) -> tuple[str, ...]:
    return tuple(
        f"the append-only trigger {name} is missing; rows can be changed unnoticed by SQL "
        "until the next verify"
        for name in missing_triggers(engine, _TRIGGERS)
    )
