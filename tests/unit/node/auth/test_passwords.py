from __future__ import annotations

from node.auth import PasswordHasher


def test_hash_is_salted_argon2id_and_verifies(hasher: PasswordHasher) -> None:
    first, second = hasher.hash("correct horse battery"), hasher.hash("correct horse battery")
    assert first.startswith("$argon2id$") and first != second
    assert hasher.verify(first, "correct horse battery")
    assert not hasher.verify(first, "correct horse batterx")


def test_unknown_user_and_garbage_hash_never_verify(hasher: PasswordHasher) -> None:
    assert not hasher.verify(None, "harmonia: no such user")
    assert not hasher.verify("not-a-hash", "anything")


def test_other_costs_need_a_rehash(hasher: PasswordHasher) -> None:
    stronger = PasswordHasher(time_cost=2, memory_cost_kib=16, parallelism=1)
    encoded = hasher.hash("correct horse battery")
    assert not hasher.needs_rehash(encoded)
    assert stronger.needs_rehash(encoded)
    assert stronger.verify(encoded, "correct horse battery")
