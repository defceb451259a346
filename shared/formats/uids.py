"""Deterministic DICOM UIDs for exported objects.

pydicom's ``generate_uid`` is random; exports must be reproducible, so an
object's UID is ``2.25.`` followed by the integer of the first 128 bits of a
SHA-256 over its identifying parts (PS3.5 B.2: at most 64 characters).
"""

from __future__ import annotations

import hashlib

__all__ = ["derived_uid"]


def derived_uid(*parts: str) -> str:
    """Return the same ``2.25.`` UID for the same parts, a different one otherwise."""
    digest = hashlib.sha256("\x1f".join(("harmonia-export", *parts)).encode("utf-8")).digest()
    return f"2.25.{int.from_bytes(digest[:16], 'big')}"
