from __future__ import annotations

import argon2
import pytest

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


def test_the_unknown_user_hash_is_made_by_the_first_verify_whoever_signs_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[str] = []
    real_hash = argon2.PasswordHasher.hash

    def counting(self: argon2.PasswordHasher, password: str | bytes, **kw: object) -> str:
        made.append(str(password))
        return real_hash(self, password)

    monkeypatch.setattr(argon2.PasswordHasher, "hash", counting)
    hasher = PasswordHasher(time_cost=1, memory_cost_kib=8, parallelism=1)
    assert made == []  # opening a node (every command, every serve) hashes nothing
    encoded = real_hash(argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1), "pw")
    assert hasher.verify(encoded, "pw")  # a known user's first sign-in makes it too
    assert made == ["harmonia: no such user"]
    assert not hasher.verify(None, "pw")
    assert made == ["harmonia: no such user"]  # once per hasher
