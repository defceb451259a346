"""Keyed hash chains: the arithmetic and the walk behind the node's append-only logs.

A chain is a sequence of entries numbered ``1..n``. Entry ``n`` stores the
SHA-256 of its own fields and of entry ``n-1``'s hash (``prev_hash``; 64 zeros
for the first), so changing, removing or reordering an entry breaks the chain
from there on. Each entry also carries an HMAC-SHA256 of its hash
(:func:`entry_mac`), and a single *head* names the newest entry's number and
hash under an HMAC of its own (:func:`head_mac`): removing the newest entries,
or rewriting the whole chain from scratch, then needs the key.

The key is derived from a secret the owner keeps off the database
(:func:`chain_key`, one label per log so that two logs never share a key).
:func:`walk_chain` checks a chain against its head and reports the first entry
that is wrong, in words. What an entry's hash covers is the caller's business
(it passes ``recompute``); the node's audit log and egress ledger both use it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

__all__ = [
    "GENESIS_HASH",
    "ChainBreak",
    "ChainHead",
    "ChainLink",
    "ChainVerification",
    "chain_key",
    "entry_mac",
    "head_mac",
    "walk_chain",
]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of a chain's first entry, and the hash of an empty chain's head."""


class ChainLink(Protocol):
    """What :func:`walk_chain` reads of an entry."""

    @property
    def seq(self) -> int:
        """The entry's number, from 1."""
        ...

    @property
    def prev_hash(self) -> str:
        """The hash of the entry before it."""
        ...

    @property
    def entry_hash(self) -> str:
        """The hash stored with the entry."""
        ...

    @property
    def mac(self) -> str:
        """The stored HMAC of the entry's hash (empty: written before the log was keyed)."""
        ...


@dataclass(frozen=True)
class ChainHead:
    """The head as stored: the newest entry's number and hash, and their HMAC."""

    seq: int
    entry_hash: str
    mac: str


@dataclass(frozen=True)
class ChainBreak:
    """Where a chain is wrong (the first entry found so) and what is wrong there."""

    seq: int
    problem: str


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of verifying a chain, as its owner (audit log, egress ledger) reports it.

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


Link = TypeVar("Link", bound=ChainLink)


def chain_key(secret: bytes, label: bytes) -> bytes:
    """The MAC key of the log named ``label``, derived from (never equal to) ``secret``."""
    return hmac.new(secret, label, hashlib.sha256).digest()


def entry_mac(key: bytes, digest: str) -> str:
    """The HMAC-SHA256 (hex) of an entry's hash."""
    return hmac.new(key, b"entry:" + digest.encode("ascii"), hashlib.sha256).hexdigest()


def head_mac(key: bytes, seq: int, digest: str) -> str:
    """The HMAC-SHA256 (hex) sealing the head: the newest ``seq`` and its hash."""
    message = f"head:{seq}:{digest}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def walk_chain(
    links: Iterable[Link],
    head: ChainHead,
    key: bytes,
    *,
    recompute: Callable[[Link], str],
    check: Callable[[Link], str | None] | None = None,
    unkeyed_prefix: bool = False,
) -> tuple[int, ChainBreak | None]:
    """Walk ``links`` (oldest first, up to the head) and report the first problem.

    Parameters
    ----------
    links
        The stored entries, in ``seq`` order, none beyond ``head.seq``.
    head
        The stored head.
    key
        The chain's MAC key.
    recompute
        The hash an entry's stored fields give.
    check
        A further check of each sound entry (an anchor); returns a problem or None.
    unkeyed_prefix
        Accept entries without a MAC at the start of the chain (written before
        the log was keyed). The head's MAC still covers them through the chain.

    Returns
    -------
    tuple
        How many entries were read, and the first :class:`ChainBreak` or None.
    """
    expected_seq, prev_hash, count, keyed = 1, GENESIS_HASH, 0, not unkeyed_prefix
    for link in links:
        count += 1
        if link.seq != expected_seq:
            return count, ChainBreak(
                expected_seq,
                f"entry {expected_seq} is missing (the next stored entry is {link.seq})",
            )
        keyed = keyed or bool(link.mac)
        problem = _check_link(key, link, prev_hash, recompute(link), keyed)
        if problem is None and check is not None:
            problem = check(link)
        if problem is not None:
            return count, ChainBreak(link.seq, problem)
        prev_hash = link.entry_hash
        expected_seq += 1
    last_seq = expected_seq - 1
    if last_seq != head.seq:
        return count, ChainBreak(
            last_seq + 1,
            f"the log ends at entry {last_seq} but its sealed head names entry {head.seq}: "
            "entries were removed from the end",
        )
    if head.entry_hash != prev_hash:
        return count, ChainBreak(
            max(head.seq, 1),
            f"the sealed head names another hash for entry {head.seq} than the entry has",
        )
    if not hmac.compare_digest(head.mac, head_mac(key, head.seq, head.entry_hash)):
        return count, ChainBreak(
            max(head.seq, 1),
            "the head's MAC does not match this node's key: the head was rewritten "
            "(or the node was never opened with this data directory's site key)",
        )
    return count, None


def _check_link(
    key: bytes, link: ChainLink, prev_hash: str, recomputed: str, keyed: bool
) -> str | None:
    if link.prev_hash != prev_hash:
        return f"entry {link.seq} does not link to entry {link.seq - 1} (prev_hash differs)"
    if recomputed != link.entry_hash:
        return f"entry {link.seq} was changed after it was written (its hash differs)"
    if keyed and not hmac.compare_digest(link.mac, entry_mac(key, link.entry_hash)):
        return f"entry {link.seq} carries a MAC this node's key did not make (chain rewritten)"
    return None
