"""Signed documents: a JSON payload in an Ed25519-signed envelope.

The envelope is a JSON object with exactly these members::

    {"payload": {...}, "kind": "guideline-release", "version": "3",
     "signed_at": "2026-11-28T07:00:00+00:00", "key_id": "<sha256 of the signer's SPKI>",
     "signature": "<base64 of the Ed25519 signature>"}

The signature covers a domain-separation line followed by the canonical JSON
(:mod:`shared.crypto.canonical`) of every member except ``signature``, so
changing any of them, the payload's smallest value included, breaks it.
:func:`verify` checks the shape, that ``kind`` is the one the caller expects
(a signed health report cannot pass as a guideline release), that ``key_id``
names a trusted key, and the signature, and returns the payload only then.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from shared.crypto.canonical import canonical_json
from shared.crypto.errors import CanonicalJsonError, SignatureError
from shared.crypto.keys import PublicKey, fingerprint

__all__ = ["ENVELOPE_FIELDS", "SignedDocument", "sign", "verify"]

ENVELOPE_FIELDS = ("key_id", "kind", "payload", "signature", "signed_at", "version")
"""The members of an envelope, sorted."""

_DOMAIN = b"harmonia signed document v1\n"
_MAX_TEXT = 256


@dataclass(frozen=True)
class SignedDocument:
    """An envelope, parsed but not yet verified.

    Use :meth:`from_json` to parse one and :func:`verify` to trust its payload.
    """

    payload: Mapping[str, Any]
    kind: str
    version: str
    signed_at: str
    key_id: str
    signature: str

    def signed_bytes(self) -> bytes:
        """The exact bytes the signature covers."""
        return _DOMAIN + canonical_json(
            {
                "key_id": self.key_id,
                "kind": self.kind,
                "payload": self.payload,
                "signed_at": self.signed_at,
                "version": self.version,
            }
        )

    def to_json(self) -> dict[str, Any]:
        """The envelope as a JSON object."""
        return {
            "key_id": self.key_id,
            "kind": self.kind,
            "payload": dict(self.payload),
            "signature": self.signature,
            "signed_at": self.signed_at,
            "version": self.version,
        }

    @classmethod
    def from_json(cls, envelope: object) -> SignedDocument:
        """Parse an envelope's shape; the signature is not checked here.

        Raises
        ------
        SignatureError
            If it is not an object with exactly :data:`ENVELOPE_FIELDS` of the right types.
        """
        if not isinstance(envelope, Mapping):
            raise SignatureError(
                f"a signed document must be a JSON object, not {type(envelope).__name__}."
            )
        fields = set(envelope)
        if fields != set(ENVELOPE_FIELDS):
            missing = sorted(set(ENVELOPE_FIELDS) - fields)
            extra = sorted(str(f) for f in fields - set(ENVELOPE_FIELDS))
            raise SignatureError(
                f"malformed signed document: missing {missing}, unexpected {extra}. "
                "Ask the publisher for the original release."
            )
        if not isinstance(envelope["payload"], Mapping):
            raise SignatureError("malformed signed document: 'payload' must be an object.")
        for name in ("key_id", "kind", "signature", "signed_at", "version"):
            value = envelope[name]
            if not isinstance(value, str) or not value or len(value) > _MAX_TEXT:
                raise SignatureError(
                    f"malformed signed document: {name!r} must be a non-empty string."
                )
        return cls(
            payload=envelope["payload"],
            kind=envelope["kind"],
            version=envelope["version"],
            signed_at=envelope["signed_at"],
            key_id=envelope["key_id"],
            signature=envelope["signature"],
        )


def sign(
    payload: Mapping[str, Any],
    *,
    kind: str,
    version: str,
    key: ed25519.Ed25519PrivateKey,
    signed_at: datetime | None = None,
) -> dict[str, Any]:
    """Sign ``payload`` as a document of ``kind`` and ``version``.

    Parameters
    ----------
    payload
        A JSON object (see :func:`~shared.crypto.canonical.canonical_json`).
    kind
        What the document is (``guideline-release``); verifiers insist on it.
    version
        The document's version.
    key
        The Ed25519 signing key.
    signed_at
        The signing time (timezone-aware); now by default.

    Returns
    -------
    dict
        The envelope, ready for ``json.dumps``.

    Raises
    ------
    SignatureError
        If the key is not Ed25519 or the payload has no canonical JSON form.
    """
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise SignatureError(f"documents are signed with Ed25519 keys; got a {type(key).__name__}.")
    when = (signed_at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    unsigned = SignedDocument(
        payload=dict(payload),
        kind=kind,
        version=version,
        signed_at=when,
        key_id=fingerprint(key),
        signature="-",
    )
    SignedDocument.from_json(unsigned.to_json())  # the same shape rules as verification
    try:
        message = unsigned.signed_bytes()
    except CanonicalJsonError as exc:
        raise SignatureError(f"the payload cannot be signed: {exc}") from exc
    signature = base64.b64encode(key.sign(message)).decode("ascii")
    return {**unsigned.to_json(), "signature": signature}


def verify(envelope: object, trusted: Iterable[PublicKey], *, kind: str) -> dict[str, Any]:
    """Check a signed document and return its payload.

    Parameters
    ----------
    envelope
        The parsed JSON of the envelope.
    trusted
        The public keys whose signatures are accepted (the pinned consortium key).
    kind
        The kind of document expected.

    Returns
    -------
    dict
        The payload, once the signature holds.

    Raises
    ------
    SignatureError
        If the envelope is malformed, of another kind, names a key not in
        ``trusted``, or its signature does not match its content.
    """
    document = SignedDocument.from_json(envelope)
    if document.kind != kind:
        raise SignatureError(
            f"expected a signed {kind!r} document, got a {document.kind!r} one; refusing it.",
            key_id=document.key_id,
        )
    keys = {fingerprint(k): k for k in trusted if isinstance(k, ed25519.Ed25519PublicKey)}
    key = keys.get(document.key_id)
    if key is None:
        raise SignatureError(
            f"the document is signed by key {document.key_id[:16]}…, which this node does not "
            "trust. If the consortium rotated its signing key, pin the new public key first.",
            key_id=document.key_id,
        )
    try:
        signature = base64.b64decode(document.signature, validate=True)
        message = document.signed_bytes()
        key.verify(signature, message)
    except (InvalidSignature, binascii.Error, CanonicalJsonError) as exc:
        raise SignatureError(
            f"the signature of this {kind!r} document (version {document.version!r}) does not "
            "match its content: it was altered after signing. Do not use it; fetch the release "
            "again from the coordinator.",
            key_id=document.key_id,
        ) from exc
    return dict(document.payload)
