"""Walking the audit chain to check that every entry still says what was written.

:func:`verify_audit_log` recomputes each entry's hash from its fields, checks
it links to the previous entry, that sequence numbers have no gaps, that each
entry's MAC matches under the node's key, and finally that the sealed head
names the last entry, so that a changed, removed, inserted or truncated entry
is reported, with the first one that is wrong.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Engine, Row, Table, func, select, text

from node.audit.chain import GENESIS_HASH, entry_hash, entry_mac, head_mac
from node.audit.log import AuditEntry, AuditLog
from node.store.auth_tables import AuditHeadRow, AuditLogRow

__all__ = ["AuditVerification", "verify_audit_log"]

_head = cast(Table, AuditHeadRow.__table__)
_log = cast(Table, AuditLogRow.__table__)

_TRIGGERS = (
    "audit_log_no_update",
    "audit_log_no_delete",
    "audit_head_no_delete",
    "audit_head_forward_only",
)


@dataclass(frozen=True)
class AuditVerification:
    """The outcome of walking the chain.

    Attributes
    ----------
    entries
        How many entries were read.
    first_bad_seq
        The sequence number of the first entry found wrong (or where one is
        missing); ``None`` when the chain is intact.
    problem
        What is wrong there, in words; ``None`` when intact.
    head_seq, head_hash
        The newest entry's sequence number and hash, as the head row states
        them. Recording these elsewhere lets a later check detect a rollback.
    warnings
        Things that do not break the chain but weaken it (missing triggers).
    """

    entries: int
    first_bad_seq: int | None
    problem: str | None
    head_seq: int
    head_hash: str
    warnings: tuple[str, ...] = ()

    @property
    def intact(self) -> bool:
        """Whether every check passed."""
        return self.problem is None


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

    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for entry in log.entries(up_to=head_seq):
        count += 1
        if entry.seq != expected_seq:
            return bad(
                expected_seq,
                f"entry {expected_seq} is missing (the next stored entry is {entry.seq})",
                count,
            )
        problem = _check_entry(log.key, entry, prev_hash)
        if problem is None and anchor is not None and entry.seq == anchor[0]:
            problem = _check_anchor(entry, anchor[1])
        if problem is not None:
            return bad(entry.seq, problem, count)
        prev_hash = entry.entry_hash
        expected_seq += 1
    last_seq = expected_seq - 1
    if last_seq != head_seq:
        return bad(
            last_seq + 1,
            f"the log ends at entry {last_seq} but its sealed head names entry {head_seq}: "
            "entries were removed from the end",
            count,
        )
    if head_hash != prev_hash:
        return bad(
            max(head_seq, 1),
            f"the sealed head names another hash for entry {head_seq} than the entry has",
            count,
        )
    if not hmac.compare_digest(str(head.mac), head_mac(log.key, head_seq, head_hash)):
        return bad(
            max(head_seq, 1),
            "the head's MAC does not match this node's key: the head was rewritten "
            "(or the node was never opened with this data directory's site key)",
            count,
        )
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


def _check_entry(key: bytes, entry: AuditEntry, prev_hash: str) -> str | None:
    if entry.prev_hash != prev_hash:
        return f"entry {entry.seq} does not link to entry {entry.seq - 1} (prev_hash differs)"
    recomputed = entry_hash(
        seq=entry.seq,
        time=entry.recorded_at,
        actor=entry.actor,
        action=entry.action,
        target_type=entry.target_type,
        target_id=entry.target_id,
        detail=entry.detail,
        prev_hash=entry.prev_hash,
    )
    if recomputed != entry.entry_hash:
        return f"entry {entry.seq} was changed after it was written (its hash differs)"
    if not hmac.compare_digest(entry.mac, entry_mac(key, entry.entry_hash)):
        return f"entry {entry.seq} carries a MAC this node's key did not make (chain rewritten)"
    return None


def _missing_triggers(engine: Engine) -> tuple[str, ...]:
    if engine.dialect.name != "sqlite":
        return ()
    with engine.connect() as connection:
        present = set(
            connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            .scalars()
            .all()
        )
    return tuple(
        f"the append-only trigger {name} is missing; rows can be changed unnoticed by SQL "
        "until the next verify"
        for name in _TRIGGERS
        if name not in present
    )
