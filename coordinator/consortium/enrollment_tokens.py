"""The enrollment token's format: ``hce.<site>.<secret>``.

The site name travels in the clear so a node can build its CSR from the
token alone; the secret carries 256 bits of entropy and only its SHA-256 (of
the whole token) is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from coordinator.errors import TokenUnknownError

__all__ = ["TOKEN_PATTERN", "new_token", "token_digest", "token_site"]

TOKEN_PATTERN = r"^hce\.([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.([A-Za-z0-9_-]{43})$"
_TOKEN = re.compile(TOKEN_PATTERN)


def new_token(site: str) -> str:
    """A fresh one-time token for ``site``."""
    return f"hce.{site}.{secrets.token_urlsafe(32)}"


def token_digest(token: str) -> str:
    """What the store keeps of a token."""
    return hashlib.sha256(token.strip().encode()).hexdigest()


def token_site(token: str) -> str:
    """The site a well-formed token names, or :class:`TokenUnknownError`."""
    match = _TOKEN.fullmatch(token.strip())
    if match is None:
        raise TokenUnknownError(
            "that is not an enrollment token (they read 'hce.<site>.<secret>'); copy the "
            "whole token 'harmonia-coordinator site add' printed"
        )
    return match.group(1)
