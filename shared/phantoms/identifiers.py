"""Deterministic identifiers: DICOM UIDs and opaque tokens from a keyed hash.

pydicom's ``generate_uid`` ignores its entropy sources and is random, so the
phantoms derive every UID themselves: ``2.25.`` followed by the integer value
of 128 bits of an HMAC-SHA256 over the seed, the site and a purpose string
(ITU-T X.667 UUID-derived UIDs). The same inputs always give the same UID; any
change in any input gives an unrelated one.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["derive_digest", "derive_token", "derive_uid"]

_KEY = b"harmonia-phantom-identifiers-v1"
_SEPARATOR = "\x1f"


def derive_digest(seed: int, site: str, purpose: str) -> bytes:
    """Return the 32-byte keyed hash that every identifier is cut from.

    Parameters
    ----------
    seed
        The phantom's random seed.
    site
        The site the phantom pretends to come from.
    purpose
        What the identifier is for, e.g. ``"study"`` or ``"instance/3"``.

    Returns
    -------
    bytes
        HMAC-SHA256 of the three values, joined by an ASCII unit separator.
    """
    message = _SEPARATOR.join((str(seed), site, purpose)).encode("utf-8")
    return hmac.new(_KEY, message, hashlib.sha256).digest()


def derive_uid(seed: int, site: str, purpose: str) -> str:
    """Return a deterministic ``2.25.`` UID (at most 44 characters).

    Parameters
    ----------
    seed
        The phantom's random seed.
    site
        The site the phantom pretends to come from.
    purpose
        What the UID identifies, e.g. ``"study"``.

    Returns
    -------
    str
        ``"2.25."`` followed by a 128-bit integer without leading zeros.
    """
    value = int.from_bytes(derive_digest(seed, site, purpose)[:16], "big")
    return f"2.25.{value}"


def derive_token(seed: int, site: str, purpose: str, length: int = 9) -> str:
    """Return a deterministic upper-case hexadecimal token.

    Parameters
    ----------
    seed
        The phantom's random seed.
    site
        The site the phantom pretends to come from.
    purpose
        What the token is for.
    length
        Number of hexadecimal characters, 1 to 64.

    Returns
    -------
    str
        ``length`` characters from ``0-9A-F``.
    """
    if not 1 <= length <= 64:
        raise ValueError(f"token length must be 1..64, got {length}")
    return derive_digest(seed, site, purpose).hex().upper()[:length]
