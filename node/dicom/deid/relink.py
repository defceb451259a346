"""Sealed re-identification links: the node can write them, only hospital IT can read them.

Sealing is public-key encryption to a key whose private half never reaches the
node: an ephemeral X25519 key agreement with the recipient's public key,
HKDF-SHA256 over the shared secret, and AES-256-GCM over the JSON mapping. The
blob is::

    b"HRL1" | ephemeral public key (32) | nonce (12) | ciphertext + tag

with the magic and the ephemeral key bound as associated data, so changing any
byte makes :func:`open_relink` refuse the blob.
"""

from __future__ import annotations

import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from node.errors import RelinkError
from shared.errors import ConfigurationError

__all__ = ["RelinkSealer", "generate_relink_keypair", "open_relink"]

_MAGIC = b"HRL1"
_KEY_LEN = 32
_NONCE_LEN = 12
_HEADER_LEN = len(_MAGIC) + _KEY_LEN + _NONCE_LEN
_INFO = b"harmonia relink v1"


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _derive(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=_INFO
    ).derive(shared)


def generate_relink_keypair() -> tuple[bytes, bytes]:
    """Make an X25519 key pair for hospital IT.

    Returns
    -------
    tuple of bytes
        ``(private_pem, public_pem)``: PKCS#8 and SubjectPublicKeyInfo PEM. Give
        the node only the public PEM; keep the private PEM offline.
    """
    private = X25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


class RelinkSealer:
    """Seals pseudonym-to-identity mappings to hospital IT's X25519 public key.

    Parameters
    ----------
    public_key_pem
        The PEM public key hospital IT generated with :func:`generate_relink_keypair`.

    Raises
    ------
    shared.errors.ConfigurationError
        When the PEM is not an X25519 public key.
    """

    def __init__(self, public_key_pem: bytes) -> None:
        try:
            key = serialization.load_pem_public_key(public_key_pem)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"relink public key is not a PEM public key ({exc}); give the node the "
                "public half printed by generate_relink_keypair()",
                setting="relink_public_key",
            ) from exc
        if not isinstance(key, X25519PublicKey):
            raise ConfigurationError(
                f"relink public key is {type(key).__name__}, not X25519; make one with "
                "generate_relink_keypair()",
                setting="relink_public_key",
            )
        self._recipient = key
        self._recipient_raw = _raw_public(key)

    def seal(self, mapping: dict[str, str]) -> bytes:
        """Encrypt ``mapping`` so that only the private key's holder can read it.

        Parameters
        ----------
        mapping
            String keys and string values, such as ``IdentityLink.as_mapping()``.

        Returns
        -------
        bytes
            The sealed blob; sealing the same mapping twice gives different blobs.
        """
        plaintext = json.dumps(mapping, sort_keys=True, ensure_ascii=False).encode("utf-8")
        ephemeral = X25519PrivateKey.generate()
        ephemeral_raw = _raw_public(ephemeral.public_key())
        key = _derive(ephemeral.exchange(self._recipient), ephemeral_raw, self._recipient_raw)
        nonce = os.urandom(_NONCE_LEN)
        header = _MAGIC + ephemeral_raw + nonce
        return header + AESGCM(key).encrypt(nonce, plaintext, _MAGIC + ephemeral_raw)


def open_relink(private_key_pem: bytes, sealed: bytes) -> dict[str, str]:
    """Decrypt a blob made by :meth:`RelinkSealer.seal`.

    Parameters
    ----------
    private_key_pem
        Hospital IT's private PEM from :func:`generate_relink_keypair`.
    sealed
        The blob to open.

    Returns
    -------
    dict of str to str
        The original mapping.

    Raises
    ------
    node.errors.RelinkError
        When the blob is truncated, was altered, or was sealed to another key.
    shared.errors.ConfigurationError
        When ``private_key_pem`` is not an unencrypted X25519 private key.
    """
    try:
        private = serialization.load_pem_private_key(private_key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"relink private key is not an unencrypted PEM private key ({exc})",
            setting="relink_private_key",
        ) from exc
    if not isinstance(private, X25519PrivateKey):
        raise ConfigurationError(
            f"relink private key is {type(private).__name__}, not X25519",
            setting="relink_private_key",
        )
    if len(sealed) < _HEADER_LEN + 16 or not sealed.startswith(_MAGIC):
        raise RelinkError(
            "not a sealed relink blob (wrong magic or truncated); check that the whole "
            "blob was copied"
        )
    ephemeral_raw = sealed[len(_MAGIC) : len(_MAGIC) + _KEY_LEN]
    nonce = sealed[len(_MAGIC) + _KEY_LEN : _HEADER_LEN]
    recipient_raw = _raw_public(private.public_key())
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_raw))
        key = _derive(shared, ephemeral_raw, recipient_raw)
        plaintext = AESGCM(key).decrypt(nonce, sealed[_HEADER_LEN:], _MAGIC + ephemeral_raw)
    except (InvalidTag, ValueError) as exc:
        raise RelinkError(
            "relink blob failed authentication: it was altered, or sealed to a different "
            "public key than this private key's"
        ) from exc
    mapping = json.loads(plaintext.decode("utf-8"))
    if not isinstance(mapping, dict):
        raise RelinkError("relink blob does not hold a mapping")
    return {str(key_): str(value) for key_, value in mapping.items()}
