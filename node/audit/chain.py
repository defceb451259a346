"""The audit chain's arithmetic: canonical JSON, entry hashes and keyed MACs.

Entry ``n`` hashes, as SHA-256 over canonical JSON (sorted keys, no spaces,
UTF-8), the object ``{"seq", "time", "actor", "action", "target_type",
"target_id", "detail", "prev_hash"}`` where ``prev_hash`` is entry ``n-1``'s
hash (64 zeros for the first). Each entry also carries an HMAC-SHA256 of its
hash under a key derived from the site secret, so that rewriting the chain from
a changed entry onwards needs that secret, and the head row (newest ``seq`` and
hash) carries one too, so that removing the newest entries is detected. The MACs
and the chain's walk are :mod:`shared.crypto.hash_chain`'s.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from shared.crypto.hash_chain import GENESIS_HASH, chain_key, entry_mac, head_mac

__all__ = ["GENESIS_HASH", "audit_key", "canonical_json", "entry_hash", "entry_mac", "head_mac"]

_KEY_LABEL = b"harmonia audit log v1"


def audit_key(site_secret: bytes) -> bytes:
    """The audit MAC key, derived from (never equal to) the site secret."""
    return chain_key(site_secret, _KEY_LABEL)


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON: sorted keys, no whitespace, non-ASCII kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    *,
    seq: int,
    time: str,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    detail: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """The SHA-256 (hex) of one entry's canonical JSON."""
    document = {
        "seq": seq,
        "time": time,
        "actor": actor,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "detail": dict(detail),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
