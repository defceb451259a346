"""The egress ledger: append-only, hash-chained, one entry per release or refusal.

Each entry records the time, the site, the outcome (``released`` or
``refused``), the kind, the destination, the byte count and SHA-256 of the
exact bytes sent, the round, the privacy parameters (mechanism, epsilon,
delta) and the purpose's cumulative spending after it. Entry ``n`` hashes
(SHA-256 of canonical JSON) all its fields and entry ``n-1``'s hash, so
changing, removing or reordering an entry breaks the chain from there on;
``egress_head`` holds the newest sequence number and hash, so removing the
newest entries is detected too. Database triggers refuse UPDATE and DELETE
(migration 0004).

Concurrent writers. The first statement of a write is ``UPDATE egress_head SET
seq = seq + 1 ... RETURNING``: the database's write lock on SQLite, a row lock on
PostgreSQL. The gate reads the purpose's spending, checks the budget and
inserts under that lock, so two releases cannot both spend the last of a budget.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, insert, select, update

from node.egress.budget import PrivacyCharge, Purpose, Spent
from node.errors import StoreError
from node.store.egress_tables import EgressHeadRow, EgressLedgerRow
from shared.crypto import canonical_sha256

__all__ = ["GENESIS_HASH", "EgressLedger", "LedgerEntry", "LedgerVerification", "Outcome"]

GENESIS_HASH = "0" * 64
_HEAD_ID = 1

_ledger = cast(Table, EgressLedgerRow.__table__)
_head = cast(Table, EgressHeadRow.__table__)


class Outcome(enum.StrEnum):
    """What the gate did with a message."""

    RELEASED = "released"
    REFUSED = "refused"


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger entry as stored; ``to_json()`` is its export form."""

    seq: int
    recorded_at: str
    site: str
    outcome: str
    kind: str
    destination: str
    byte_count: int
    sha256: str
    round_id: str | None
    purpose: str | None
    mechanism: str | None
    epsilon: float | None
    delta: float | None
    spent_epsilon: float | None
    spent_delta: float | None
    reason: str
    prev_hash: str
    entry_hash: str

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object (one line of an export)."""
        return asdict(self)

    def expected_hash(self) -> str:
        """The hash this entry's fields (and its predecessor's hash) give."""
        fields = self.to_json()
        del fields["entry_hash"]
        return canonical_sha256(fields)

    @classmethod
    def from_row(cls, row: Any) -> LedgerEntry:
        """Load an entry from an ``egress_ledger`` row."""
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class LedgerVerification:
    """The result of :meth:`EgressLedger.verify`."""

    intact: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str = ""


class EgressLedger:
    """Write and read the node's egress ledger.

    Parameters
    ----------
    engine
        The node's database.
    clock
        Returns the current time (timezone-aware); tests pass a fixed clock.
    """

    def __init__(
        self, engine: Engine, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.engine = engine
        self._clock = clock

    def now(self) -> str:
        """The current time as the ledger writes it (ISO 8601, UTC, microseconds)."""
        return self._clock().astimezone(UTC).isoformat(timespec="microseconds")

    def claim(self, connection: Connection) -> tuple[int, str]:
        """Take the ledger's write lock; returns the next ``seq`` and the previous hash."""
        claimed = connection.execute(
            update(_head)
            .where(_head.c.id == _HEAD_ID)
            .values(seq=_head.c.seq + 1)
            .returning(_head.c.seq, _head.c.entry_hash)
        ).one_or_none()
        if claimed is None:
            raise StoreError("the egress ledger has no head row; run the node's migrations")
        return int(claimed.seq), str(claimed.entry_hash)

    def charges(
        self, connection: Connection, *, site: str, purpose: Purpose, since: str | None = None
    ) -> list[PrivacyCharge]:
        """The privacy charges of ``purpose``'s released entries (since ``since``)."""
        query = select(_ledger.c.epsilon, _ledger.c.delta, _ledger.c.mechanism).where(
            _ledger.c.site == site,
            _ledger.c.purpose == str(purpose),
            _ledger.c.outcome == Outcome.RELEASED.value,
            _ledger.c.epsilon.is_not(None),
        )
        if since is not None:
            query = query.where(_ledger.c.recorded_at >= since)
        return [
            PrivacyCharge(float(r.epsilon), float(r.delta), str(r.mechanism))
            for r in connection.execute(query.order_by(_ledger.c.seq))
        ]

    def append(
        self,
        connection: Connection,
        claim: tuple[int, str],
        *,
        site: str,
        outcome: Outcome,
        kind: str,
        destination: str,
        byte_count: int,
        sha256: str,
        round_id: str | None = None,
        purpose: Purpose | None = None,
        charge: PrivacyCharge | None = None,
        spent: Spent | None = None,
        reason: str = "",
        recorded_at: str | None = None,
    ) -> LedgerEntry:
        """Write one entry under a :meth:`claim`, inside the caller's transaction."""
        seq, prev_hash = claim
        draft = LedgerEntry(
            seq=seq,
            recorded_at=recorded_at or self.now(),
            site=site,
            outcome=str(outcome),
            kind=kind[:64],
            destination=destination[:256],
            byte_count=byte_count,
            sha256=sha256,
            round_id=round_id,
            purpose=str(purpose) if purpose is not None else None,
            mechanism=charge.mechanism if charge else None,
            epsilon=charge.epsilon if charge else None,
            delta=charge.delta if charge else None,
            spent_epsilon=spent.epsilon if spent else None,
            spent_delta=spent.delta if spent else None,
            reason=reason,
            prev_hash=prev_hash,
            entry_hash="",
        )
        entry = LedgerEntry(**{**draft.to_json(), "entry_hash": draft.expected_hash()})
        connection.execute(insert(_ledger).values(**entry.to_json()))
        connection.execute(
            update(_head).where(_head.c.id == _HEAD_ID).values(entry_hash=entry.entry_hash)
        )
        return entry

    def record(self, **fields: Any) -> LedgerEntry:
        """Write one entry in a transaction of its own (see :meth:`append`)."""
        with self.engine.begin() as connection:
            return self.append(connection, self.claim(connection), **fields)

    def entries(
        self, *, outcome: Outcome | None = None, kind: str | None = None, after_seq: int = 0
    ) -> list[LedgerEntry]:
        """Entries in order, optionally filtered."""
        query = select(_ledger).where(_ledger.c.seq > after_seq)
        if outcome is not None:
            query = query.where(_ledger.c.outcome == str(outcome))
        if kind is not None:
            query = query.where(_ledger.c.kind == kind)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(_ledger.c.seq)).all()
        return [LedgerEntry.from_row(row) for row in rows]

    def verify(self) -> LedgerVerification:
        """Walk the chain from the first entry to the head; report the first break."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(_ledger).order_by(_ledger.c.seq)).all()
            head = connection.execute(select(_head).where(_head.c.id == _HEAD_ID)).one_or_none()
        previous = GENESIS_HASH
        for expected_seq, row in enumerate(rows, start=1):
            entry = LedgerEntry.from_row(row)
            if entry.seq != expected_seq:
                return LedgerVerification(False, len(rows), expected_seq, "an entry is missing")
            if entry.prev_hash != previous or entry.expected_hash() != entry.entry_hash:
                return LedgerVerification(
                    False, len(rows), entry.seq, "the entry was changed after it was written"
                )
            previous = entry.entry_hash
        if head is None or head.seq != len(rows) or head.entry_hash != previous:
            return LedgerVerification(
                False, len(rows), len(rows) + 1, "the newest entries were removed"
            )
        return LedgerVerification(True, len(rows))
