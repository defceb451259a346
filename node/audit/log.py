"""The append-only, hash-chained audit log: who viewed, created, changed, reviewed or exported what.

:meth:`AuditLog.append` writes one entry inside the caller's open transaction,
so an action and its audit entry commit (or roll back) together;
:meth:`AuditLog.record` does the same in a transaction of its own.

Concurrent writers. The first statement of an append is
``UPDATE audit_head SET seq = seq + 1 ... RETURNING``: on SQLite it takes the
database's write lock (other writers wait on the busy timeout), on PostgreSQL
a row lock on the single head row (READ COMMITTED re-reads it after the wait).
Either way the read of the previous hash, the insert and the head update
happen under one lock, so sequence numbers have no gaps and no duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, insert, select, update

from node.audit.chain import GENESIS_HASH, canonical_json, entry_hash, entry_mac, head_mac
from node.errors import StoreError
from node.store.auth_tables import AuditHeadRow, AuditLogRow

__all__ = ["AuditEntry", "AuditLog"]

_UNKEYED = b"harmonia audit log: unkeyed (tests only)"
_HEAD_ID = 1

_head = cast(Table, AuditHeadRow.__table__)
_log_table = cast(Table, AuditLogRow.__table__)


@dataclass(frozen=True)
class AuditEntry:
    """One audit entry as stored."""

    seq: int
    recorded_at: str
    actor: str
    action: str
    target_type: str
    target_id: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS_HASH
    entry_hash: str = ""
    mac: str = ""

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object (one line of ``audit export``)."""
        return {
            "seq": self.seq,
            "time": self.recorded_at,
            "actor": self.actor,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "detail": dict(self.detail),
            "prev_hash": self.prev_hash,
            "entry_hash": self.entry_hash,
            "mac": self.mac,
        }

    @classmethod
    def from_row(cls, row: Any) -> AuditEntry:
        """Load an entry from an ``audit_log`` row (the detail is parsed, not checked)."""
        try:
            detail = json.loads(row.detail)
        except ValueError:
            detail = {"unparseable": row.detail}
        return cls(
            seq=row.seq,
            recorded_at=row.recorded_at,
            actor=row.actor,
            action=row.action,
            target_type=row.target_type,
            target_id=row.target_id,
            detail=detail if isinstance(detail, dict) else {"value": detail},
            prev_hash=row.prev_hash,
            entry_hash=row.entry_hash,
            mac=row.mac,
        )


class AuditLog:
    """Append to and read the node's audit log.

    Parameters
    ----------
    engine
        The node's database.
    key
        The MAC key (``node.audit.audit_key(site_secret)``); the default is a
        fixed key, good only for tests.
    clock
        Returns the current time (timezone-aware); tests pass a fixed clock.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        key: bytes = _UNKEYED,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.key = key
        self._clock = clock

    def initialise(self) -> None:
        """Seal the genesis head with this node's key, once (idempotent)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(_head)
                .where(_head.c.id == _HEAD_ID, _head.c.seq == 0, _head.c.mac == "")
                .values(mac=head_mac(self.key, 0, GENESIS_HASH))
            )

    def append(
        self,
        connection: Connection,
        *,
        actor: str,
        action: str,
        target_type: str,
        target_id: str,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Write one entry inside the caller's open transaction on ``connection``.

        The entry takes the head's lock until the transaction ends, so every
        other audited writer waits from here to the commit: call this as the
        last statement of the action's transaction.
        """
        claimed = connection.execute(
            update(_head)
            .where(_head.c.id == _HEAD_ID)
            .values(seq=_head.c.seq + 1)
            .returning(_head.c.seq, _head.c.entry_hash)
        ).one_or_none()
        if claimed is None:
            raise StoreError("the audit log has no head row; run the node's migrations")
        seq, prev_hash = int(claimed.seq), str(claimed.entry_hash)
        detail_json = canonical_json(dict(detail or {}))
        entry = AuditEntry(
            seq=seq,
            recorded_at=self._clock().astimezone(UTC).isoformat(timespec="microseconds"),
            actor=actor[:128],
            action=str(action)[:32],
            target_type=target_type[:64],
            target_id=str(target_id)[:256],
            detail=json.loads(detail_json),
            prev_hash=prev_hash,
        )
        digest = entry_hash(
            seq=entry.seq,
            time=entry.recorded_at,
            actor=entry.actor,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            detail=entry.detail,
            prev_hash=prev_hash,
        )
        mac = entry_mac(self.key, digest)
        connection.execute(
            insert(_log_table).values(
                seq=seq,
                recorded_at=entry.recorded_at,
                actor=entry.actor,
                action=entry.action,
                target_type=entry.target_type,
                target_id=entry.target_id,
                detail=detail_json,
                prev_hash=prev_hash,
                entry_hash=digest,
                mac=mac,
            )
        )
        connection.execute(
            update(_head)
            .where(_head.c.id == _HEAD_ID)
            .values(entry_hash=digest, mac=head_mac(self.key, seq, digest))
        )
        return AuditEntry(**{**entry.__dict__, "entry_hash": digest, "mac": mac})

    def record(
        self,
        *,
        actor: str,
        action: str,
        target_type: str,
        target_id: str,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Write one entry in a transaction of its own."""
        with self.engine.begin() as connection:
            return self.append(
                connection,
                actor=actor,
                action=action,
                target_type=target_type,
                target_id=target_id,
                detail=detail,
            )

    def entries(
        self, *, after_seq: int = 0, up_to: int | None = None, batch: int = 1000
    ) -> Iterator[AuditEntry]:
        """Entries after ``after_seq`` (and up to ``up_to``), oldest first, read in batches."""
        last = after_seq
        while True:
            query = select(_log_table).where(_log_table.c.seq > last)
            if up_to is not None:
                query = query.where(_log_table.c.seq <= up_to)
            with self.engine.connect() as connection:
                rows = connection.execute(query.order_by(_log_table.c.seq).limit(batch)).all()
            if not rows:
                return
            for row in rows:
                yield AuditEntry.from_row(row)
            last = rows[-1].seq

    def search(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        after_seq: int = 0,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Entries matching every given field, oldest first, after ``after_seq``."""
        table = _log_table
        query = select(table).where(table.c.seq > after_seq)
        for column, value in (
            (table.c.actor, actor),
            (table.c.action, action),
            (table.c.target_type, target_type),
            (table.c.target_id, target_id),
        ):
            if value is not None:
                query = query.where(column == value)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(table.c.seq).limit(limit)).all()
        return [AuditEntry.from_row(row) for row in rows]

    def count(self) -> int:
        """The head's sequence number: how many entries were ever appended."""
        with self.engine.connect() as connection:
            seq = connection.execute(
                select(_head.c.seq).where(_head.c.id == _HEAD_ID)
            ).scalar_one_or_none()
        return int(seq or 0)
