"""The egress ledger: append-only, hash-chained, one entry per release or refusal.

Each entry records the time, the site, the outcome (``released`` or
``refused``), the kind, the destination, the byte count and SHA-256 of the
exact bytes sent, the round, the privacy parameters (mechanism, epsilon,
delta) and the purpose's cumulative spending after it. Entry ``n`` hashes
(SHA-256 of canonical JSON) all its fields and entry ``n-1``'s hash, so
changing, removing or reordering an entry breaks the chain from there on;
``egress_head`` holds the newest sequence number and hash, so removing the
newest entries is detected too. Like the audit log, every entry and the head
carry an HMAC under a key derived from the site secret (:func:`ledger_key`;
:mod:`shared.crypto.hash_chain`), so a chain rewritten from scratch by
someone with the database but not the secret is detected as well. Database
triggers refuse UPDATE and DELETE (migration 0004); ``harmonia-node egress
verify`` walks the chain (:meth:`EgressLedger.verify`).

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
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, func, insert, select, update

from node.egress.budget import PrivacyCharge, Purpose, Spent
from node.errors import StoreError
from node.store.egress_tables import EgressHeadRow, EgressLedgerRow
from shared.crypto import canonical_sha256
from shared.crypto.hash_chain import (
    GENESIS_HASH,
    ChainHead,
    ChainVerification,
    chain_key,
    entry_mac,
    head_mac,
    walk_chain,
)
from shared.database import missing_triggers
from shared.errors import ConfigurationError

__all__ = [
    "GENESIS_HASH",
    "SITE_SECRET_FILE",
    "EgressLedger",
    "LedgerEntry",
    "LedgerVerification",
    "Outcome",
    "ledger_key",
    "ledger_table",
    "site_ledger_key",
]

SITE_SECRET_FILE = "site.key"
"""The site secret's file name in the node's secrets directory."""

_HEAD_ID = 1
_KEY_LABEL = b"harmonia egress ledger v1"
_UNKEYED = b"harmonia egress ledger: unkeyed (tests only)"
_TRIGGERS = (
    "egress_ledger_no_update",
    "egress_ledger_no_delete",
    "egress_head_no_delete",
    "egress_head_forward_only",
)


def ledger_table() -> Table:
    """The ``egress_ledger`` table, for read-only reports over it."""
    return _ledger


def ledger_key(site_secret: bytes) -> bytes:
    """The ledger's MAC key, derived from (never equal to) the site secret."""
    return chain_key(site_secret, _KEY_LABEL)


def site_ledger_key(secrets_dir: Path) -> bytes:
    """The ledger key of the node whose secrets live in ``secrets_dir``.

    For processes that release without opening the node (the Flower ClientApp).

    Raises
    ------
    ConfigurationError
        The site secret cannot be read.
    """
    path = secrets_dir / SITE_SECRET_FILE
    try:
        return ledger_key(path.read_bytes())
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the site secret {path}: {exc.strerror}; the node's data directory "
            "must be opened once (harmonia-node serve) before it releases anything",
            setting="data_dir",
        ) from exc


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
    mac: str = ""

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object (one line of an export)."""
        return asdict(self)

    def expected_hash(self) -> str:
        """The hash this entry's fields (and its predecessor's hash) give."""
        fields = self.to_json()
        del fields["entry_hash"], fields["mac"]
        return canonical_sha256(fields)

    @classmethod
    def from_row(cls, row: Any) -> LedgerEntry:
        """Load an entry from an ``egress_ledger`` row."""
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


LedgerVerification = ChainVerification
"""The result of :meth:`EgressLedger.verify` (see :class:`~shared.crypto.ChainVerification`)."""


class EgressLedger:
    """Write and read the node's egress ledger.

    Parameters
    ----------
    engine
        The node's database.
    key
        The MAC key (:func:`ledger_key` of the site secret); the default is a
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
        """Seal the genesis head with this node's key, once (idempotent).

        Only an empty ledger's head is sealed here: a head that names entries
        but has no MAC (a ledger written before it was keyed, or one whose MAC
        someone cleared) is never sealed after the fact, and fails verification.
        """
        with self.engine.begin() as connection:
            connection.execute(
                update(_head)
                .where(_head.c.id == _HEAD_ID, _head.c.seq == 0, _head.c.mac == "")
                .values(mac=head_mac(self.key, 0, GENESIS_HASH))
            )

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
        digest = draft.expected_hash()
        entry = LedgerEntry(
            **{**draft.to_json(), "entry_hash": digest, "mac": entry_mac(self.key, digest)}
        )
        connection.execute(insert(_ledger).values(**entry.to_json()))
        connection.execute(
            update(_head)
            .where(_head.c.id == _HEAD_ID)
            .values(entry_hash=digest, mac=head_mac(self.key, seq, digest))
        )
        return entry

    def record(self, **fields: Any) -> LedgerEntry:
        """Write one entry in a transaction of its own (see :meth:`append`)."""
        with self.engine.begin() as connection:
            return self.append(connection, self.claim(connection), **fields)

    def entries(
        self,
        *,
        outcome: Outcome | None = None,
        kind: str | None = None,
        after_seq: int = 0,
        up_to: int | None = None,
        limit: int | None = None,
    ) -> list[LedgerEntry]:
        """Entries in order after ``after_seq`` (up to ``up_to``), filtered, at most ``limit``."""
        query = select(_ledger).where(_ledger.c.seq > after_seq)
        if up_to is not None:
            query = query.where(_ledger.c.seq <= up_to)
        if outcome is not None:
            query = query.where(_ledger.c.outcome == str(outcome))
        if kind is not None:
            query = query.where(_ledger.c.kind == kind)
        query = query.order_by(_ledger.c.seq)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [LedgerEntry.from_row(row) for row in rows]

    def head(self) -> ChainHead | None:
        """The stored head (None when the head row is missing)."""
        with self.engine.connect() as connection:
            row = connection.execute(select(_head).where(_head.c.id == _HEAD_ID)).one_or_none()
        return None if row is None else ChainHead(int(row.seq), str(row.entry_hash), str(row.mac))

    def verify(self, *, anchor: tuple[int, str] | None = None) -> LedgerVerification:
        """Walk the chain up to the sealed head and report the first entry that is wrong.

        Safe while the node releases: entries after the head read are left for
        the next check. ``anchor`` is ``(seq, entry_hash)`` of a head recorded
        earlier off the node; the ledger must still hold that entry unchanged.
        """
        warnings = tuple(
            f"the append-only trigger {name} is missing; rows can be changed unnoticed by SQL "
            "until the next verify"
            for name in missing_triggers(self.engine, _TRIGGERS)
        )
        head = self.head()
        if head is None:
            return LedgerVerification(0, 1, "the egress head row is missing", 0, "", warnings)

        def result(count: int, seq: int | None, problem: str | None) -> LedgerVerification:
            return LedgerVerification(count, seq, problem, head.seq, head.entry_hash, warnings)

        def anchored(entry: LedgerEntry) -> str | None:
            if anchor is None or entry.seq != anchor[0] or entry.entry_hash == anchor[1]:
                return None
            return f"entry {entry.seq} differs from the head recorded earlier: history rewritten"

        count, broken = walk_chain(
            self.entries(up_to=head.seq),
            head,
            self.key,
            recompute=LedgerEntry.expected_hash,
            check=anchored,
            unkeyed_prefix=True,
        )
        if broken is not None:
            return result(count, broken.seq, broken.problem)
        if anchor is not None and head.seq < anchor[0]:
            return result(
                count,
                head.seq + 1,
                f"the ledger ends at entry {head.seq} but held entry {anchor[0]} when the "
                "anchor was recorded: it was rolled back or truncated",
            )
        with self.engine.connect() as connection:  # the newest entry, then the head: no race
            newest = connection.execute(select(func.max(_ledger.c.seq))).scalar_one_or_none()
        now = self.head()
        if newest is not None and now is not None and int(newest) > now.seq:
            return result(
                count,
                now.seq + 1,
                f"entry {now.seq + 1} lies beyond the sealed head: it was added outside the gate",
            )
        return result(count, None, None)
