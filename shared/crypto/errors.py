"""Errors the consortium's cryptography raises.

::

    HarmoniaError
    └── CryptoError                     anything shared.crypto raises
        ├── KeyFileError                a key file missing, unreadable, of the wrong type,
        │   │                           or readable by others
        │   └── KeyExistsError          refusing to overwrite a key that is already there
        ├── CanonicalJsonError          a value with no canonical JSON form (NaN, bytes,
        │                               non-string keys); also InvalidInputError
        ├── SignatureError              a signed document that is malformed, tampered with,
        │                               of the wrong kind, or signed by an untrusted key
        ├── CsrError                    a certificate signing request that is malformed, badly
        │                               signed or asks for the wrong name; also InvalidInputError
        └── CertificateError            a certificate that is expired, not yet valid, not issued
                                        by the consortium CA, revoked or unfit for its use

Messages say what was wrong and what to do; they never include key material.
"""

from __future__ import annotations

import enum

from shared.errors import HarmoniaError, InvalidInputError

__all__ = [
    "CanonicalJsonError",
    "CertificateError",
    "CertificateProblem",
    "CryptoError",
    "CsrError",
    "KeyExistsError",
    "KeyFileError",
    "SignatureError",
]


class CryptoError(HarmoniaError):
    """Root of every error :mod:`shared.crypto` raises."""


class KeyFileError(CryptoError):
    """A key file that cannot be read or written as asked.

    Parameters
    ----------
    message
        What is wrong and what to do.
    path
        The key file.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class KeyExistsError(KeyFileError):
    """A key file already exists and overwriting it was not asked for."""


class CanonicalJsonError(CryptoError, InvalidInputError):
    """A value that has no canonical JSON encoding.

    Parameters
    ----------
    message
        What is wrong.
    path
        Where in the value (``$.payload.items[3]``).
    """

    def __init__(self, message: str, *, path: str = "$") -> None:
        super().__init__(message)
        self.path = path


class SignatureError(CryptoError):
    """A signed document that must not be trusted.

    Parameters
    ----------
    message
        What is wrong (malformed, tampered, unknown key, wrong kind) and what to do.
    key_id
        The signing key's fingerprint the envelope names, when it names one.
    """

    def __init__(self, message: str, *, key_id: str | None = None) -> None:
        super().__init__(message)
        self.key_id = key_id


class CsrError(CryptoError, InvalidInputError):
    """A certificate signing request the CA will not sign."""


class CertificateProblem(enum.StrEnum):
    """Why a certificate was refused."""

    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    UNTRUSTED = "untrusted"
    REVOKED = "revoked"
    MALFORMED = "malformed"


class CertificateError(CryptoError):
    """A presented certificate (chain) that must not be trusted.

    Parameters
    ----------
    message
        What is wrong and what to do.
    problem
        The kind of failure.
    serial
        The offending certificate's serial number, when known.
    """

    def __init__(
        self, message: str, *, problem: CertificateProblem, serial: int | None = None
    ) -> None:
        super().__init__(message)
        self.problem = CertificateProblem(problem)
        self.serial = serial
