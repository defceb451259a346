"""The egress ledger's keyed chain: entry and head MACs, verification, anchors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from node.egress import EgressGate, EgressLedger, Outcome, ledger_key, site_ledger_key
from shared.errors import ConfigurationError

from .conftest import RULES, Clock

KEY = ledger_key(b"s" * 32)
HEALTH = {"software_version": "0.1.0", "counters": {"instances": 3}}
DROP = (
    "DROP TRIGGER egress_ledger_no_update",
    "DROP TRIGGER egress_ledger_no_delete",
    "DROP TRIGGER egress_head_forward_only",
)


@pytest.fixture
def keyed(engine: Engine, clock: Clock) -> EgressGate:
    EgressLedger(engine, key=KEY).initialise()
    return EgressGate(engine, site="hospital-a", rules=RULES, ledger_key=KEY, clock=clock)


def _fill(gate: EgressGate, count: int) -> None:
    for _ in range(count):
        gate.release("health", HEALTH, "coordinator")


def _sql(engine: Engine, *statements: str) -> None:
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def test_entries_and_head_carry_macs_and_verify(keyed: EgressGate) -> None:
    _fill(keyed, 3)
    entries = keyed.ledger.entries()
    assert all(len(e.mac) == 64 for e in entries)
    assert len({e.mac for e in entries}) == 3
    result = keyed.ledger.verify()
    assert result.intact and result.entries == 3 and result.warnings == ()
    assert (result.head_seq, result.head_hash) == (3, entries[-1].entry_hash)
    assert entries[0].to_json()["mac"] == entries[0].mac  # exported with the entry


def test_an_empty_sealed_ledger_verifies(engine: Engine) -> None:
    ledger = EgressLedger(engine, key=KEY)
    ledger.initialise()
    ledger.initialise()  # idempotent
    assert ledger.verify().intact
    assert not EgressLedger(engine, key=b"another key").verify().intact


def test_an_unsealed_head_fails_verification(engine: Engine) -> None:
    result = EgressLedger(engine, key=KEY).verify()
    assert not result.intact and "MAC" in (result.problem or "")


def test_a_chain_rewritten_from_scratch_without_the_key_is_detected(
    keyed: EgressGate, engine: Engine, clock: Clock
) -> None:
    _fill(keyed, 3)
    # someone with the database file (not the site secret) drops every entry, resets the
    # head, and writes a new, internally consistent chain under a key of their own
    _sql(
        engine,
        *DROP,
        "DELETE FROM egress_ledger",
        "UPDATE egress_head SET seq = 0, entry_hash = '" + "0" * 64 + "', mac = ''",
    )
    forger = EgressLedger(engine, key=b"forged", clock=clock)
    forger.initialise()
    for _ in range(3):
        forger.record(
            site="hospital-a",
            outcome=Outcome.RELEASED,
            kind="health",
            destination="coordinator",
            byte_count=1,
            sha256="0" * 64,
        )
    assert forger.verify().intact  # consistent under the forger's key...
    result = keyed.ledger.verify()  # ...but not under the node's
    assert not result.intact and result.first_bad_seq == 1
    assert "MAC" in (result.problem or "")


def test_a_changed_row_is_named(keyed: EgressGate, engine: Engine) -> None:
    _fill(keyed, 4)
    _sql(engine, *DROP, "UPDATE egress_ledger SET byte_count = 1 WHERE seq = 3")
    result = keyed.ledger.verify()
    assert (result.first_bad_seq, result.intact) == (3, False)
    assert "changed after it was written" in (result.problem or "")
    assert any("egress_ledger_no_update" in w for w in result.warnings)


def test_a_removed_tail_and_a_rolled_back_head_are_detected(
    keyed: EgressGate, engine: Engine
) -> None:
    _fill(keyed, 4)
    head = keyed.ledger.verify()
    _sql(engine, *DROP, "DELETE FROM egress_ledger WHERE seq >= 3")
    tail = keyed.ledger.verify()
    assert tail.first_bad_seq == 3 and "removed from the end" in (tail.problem or "")
    second = keyed.ledger.entries()[1]
    _sql(engine, f"UPDATE egress_head SET seq = 2, entry_hash = '{second.entry_hash}'")
    moved = keyed.ledger.verify()
    assert not moved.intact and "head's MAC" in (moved.problem or "")
    anchored = EgressLedger(engine, key=KEY).verify(anchor=(head.head_seq, head.head_hash))
    assert not anchored.intact


def test_an_anchor_catches_a_rewrite_by_someone_with_the_key(
    keyed: EgressGate, engine: Engine, clock: Clock
) -> None:
    _fill(keyed, 3)
    before = keyed.ledger.verify()
    assert keyed.ledger.verify(anchor=(before.head_seq, before.head_hash)).intact
    _sql(engine, *DROP, "DELETE FROM egress_ledger WHERE seq >= 2")
    _sql(
        engine,
        f"UPDATE egress_head SET seq = 1, entry_hash = '{keyed.ledger.entries()[0].entry_hash}'",
    )
    _sql(engine, "UPDATE egress_head SET mac = ''")
    keyed.ledger.initialise()  # the key holder reseals the head...
    clock.advance(timedelta(hours=1))
    _fill(keyed, 2)  # ...and writes two other entries
    result = keyed.ledger.verify(anchor=(before.head_seq, before.head_hash))
    assert result.first_bad_seq == 3 and "recorded earlier" in (result.problem or "")


def test_an_entry_beyond_the_head_is_detected(keyed: EgressGate, engine: Engine) -> None:
    _fill(keyed, 2)
    row = keyed.ledger.entries()[1].to_json()
    row.update(seq=3, prev_hash=row["entry_hash"])
    columns = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    with engine.begin() as connection:
        connection.execute(text(f"INSERT INTO egress_ledger ({columns}) VALUES ({values})"), row)
    result = keyed.ledger.verify()
    assert result.first_bad_seq == 3 and "beyond the sealed head" in (result.problem or "")


def test_a_head_whose_mac_was_cleared_is_not_resealed(keyed: EgressGate, engine: Engine) -> None:
    _fill(keyed, 2)
    _sql(engine, "UPDATE egress_head SET mac = ''")
    keyed.ledger.initialise()  # the node opening again must not bless the head
    result = keyed.ledger.verify()
    assert result.first_bad_seq == 2 and "head's MAC" in (result.problem or "")


def test_unkeyed_entries_pass_only_before_the_first_keyed_one(engine: Engine, clock: Clock) -> None:
    legacy = EgressGate(engine, site="hospital-a", rules=RULES, clock=clock)
    _fill(legacy, 2)
    _sql(engine, *DROP, "UPDATE egress_ledger SET mac = ''")
    keyed = EgressGate(engine, site="hospital-a", rules=RULES, ledger_key=KEY, clock=clock)
    _fill(keyed, 2)  # the head's MAC now covers the unkeyed entries through the chain
    assert keyed.ledger.verify().intact
    _sql(engine, "UPDATE egress_ledger SET mac = '' WHERE seq = 4")
    result = keyed.ledger.verify()
    assert result.first_bad_seq == 4 and "MAC" in (result.problem or "")


def test_site_ledger_key_reads_the_site_secret(tmp_path: Path) -> None:
    (tmp_path / "site.key").write_bytes(b"s" * 32)
    assert site_ledger_key(tmp_path) == KEY
    with pytest.raises(ConfigurationError, match="serve"):
        site_ledger_key(tmp_path / "missing")
