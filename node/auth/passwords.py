"""Password hashing with Argon2id (RFC 9106), via ``argon2-cffi``.

Only the encoded hash is stored: it carries the salt and the cost
parameters, so raising the costs later re-hashes each password at its
owner's next sign-in (:meth:`PasswordHasher.needs_rehash`).
"""

from __future__ import annotations

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["PasswordHasher"]


class PasswordHasher:
    """Hash and check human passwords with Argon2id.

    Parameters
    ----------
    time_cost, memory_cost_kib, parallelism
        Argon2 costs. The defaults are argon2-cffi's (RFC 9106 low-memory
        profile); tests pass small values to stay fast.
    """

    def __init__(
        self,
        *,
        time_cost: int = argon2.DEFAULT_TIME_COST,
        memory_cost_kib: int = argon2.DEFAULT_MEMORY_COST,
        parallelism: int = argon2.DEFAULT_PARALLELISM,
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism
        )
        self._dummy: str | None = None  # made by the first verify: opening a node hashes nothing

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self._hasher.hash("harmonia: no such user")
        return self._dummy

    def hash(self, password: str) -> str:
        """The encoded Argon2id hash of ``password`` (salted)."""
        return self._hasher.hash(password)

    def verify(self, encoded: str | None, password: str) -> bool:
        """Whether ``password`` matches ``encoded``.

        ``encoded=None`` (an unknown user, or one who signs in elsewhere) still
        spends the time of one hash, so timing does not reveal which names exist. The
        comparison hash for that case is made by the first call, whoever signs in, so the
        first sign-in is the slower one whether or not the name exists.
        """
        dummy = self._dummy_hash()
        try:
            return self._hasher.verify(encoded or dummy, password) and encoded is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, encoded: str) -> bool:
        """Whether ``encoded`` was made with other costs than this hasher's."""
        try:
            return self._hasher.check_needs_rehash(encoded)
        except InvalidHashError:
            return True
