"""Key pairs a node or the coordinator makes locally: Ed25519 and EC P-256.

Ed25519 signs documents (guideline releases); EC P-256 is what TLS
certificates and Flower's SuperNode authentication use. Private keys are saved
as unencrypted PKCS#8 PEM, readable by their owner only (``0600``), written
atomically (a temporary file in the same folder, fsynced, then linked into
place), and never over an existing key unless ``overwrite=True``: losing a
node's key means enrolling it again. Loading refuses a private key file that
others can read, as OpenSSH does.

A public key's fingerprint is the SHA-256 (hex) of its DER SubjectPublicKeyInfo;
it is the ``key_id`` of signed documents and how the consortium names keys.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import os
import secrets
import stat
from pathlib import Path
from typing import TypeAlias

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from shared.crypto.errors import KeyExistsError, KeyFileError

__all__ = [
    "KeyAlgorithm",
    "PrivateKey",
    "PublicKey",
    "algorithm_of",
    "fingerprint",
    "generate_private_key",
    "load_private_key",
    "load_public_key",
    "public_key_pem",
    "save_private_key",
]

PrivateKey: TypeAlias = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey: TypeAlias = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey

_PRIVATE_MODE = 0o600


class KeyAlgorithm(enum.StrEnum):
    """The key types Harmonia makes and accepts."""

    ED25519 = "ed25519"
    EC_P256 = "ec-p256"


def generate_private_key(algorithm: KeyAlgorithm | str) -> PrivateKey:
    """Make a fresh private key of ``algorithm`` from the OS's random source."""
    algorithm = KeyAlgorithm(algorithm)
    if algorithm is KeyAlgorithm.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def algorithm_of(key: PrivateKey | PublicKey) -> KeyAlgorithm:
    """The :class:`KeyAlgorithm` of a private or public key.

    Raises
    ------
    KeyFileError
        If the key is of a type Harmonia does not use (RSA, another curve).
    """
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return KeyAlgorithm.ED25519
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) and isinstance(
        key.curve, ec.SECP256R1
    ):
        return KeyAlgorithm.EC_P256
    raise KeyFileError(
        f"a {type(key).__name__} key is not one Harmonia uses; use Ed25519 or EC P-256."
    )


def _public(key: PrivateKey | PublicKey) -> PublicKey:
    if isinstance(key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey)):
        return key.public_key()
    return key


def public_key_pem(key: PrivateKey | PublicKey) -> bytes:
    """The public half of ``key`` as a SubjectPublicKeyInfo PEM."""
    return _public(key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: PrivateKey | PublicKey) -> str:
    """SHA-256 (hex) of the DER SubjectPublicKeyInfo of ``key``'s public half."""
    der = _public(key).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def load_public_key(data: bytes | str) -> PublicKey:
    """Parse a SubjectPublicKeyInfo PEM of an Ed25519 or EC P-256 key.

    Raises
    ------
    KeyFileError
        If it is not such a PEM.
    """
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    try:
        key = serialization.load_pem_public_key(raw)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFileError("not a PEM public key (expected '-----BEGIN PUBLIC KEY-----').") from exc
    if not isinstance(key, (ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey)):
        raise KeyFileError(f"a {type(key).__name__} is not one Harmonia uses.")
    algorithm_of(key)
    return key


def save_private_key(
    key: PrivateKey, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write ``key`` as PKCS#8 PEM to ``path``, mode 0600, atomically.

    Parameters
    ----------
    key
        The private key.
    path
        Where to write it; the folder must exist.
    overwrite
        Replace an existing file. Without it an existing file is never touched.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    KeyExistsError
        If ``path`` exists and ``overwrite`` is false.
    KeyFileError
        If the folder is missing or not writable.
    """
    algorithm_of(key)
    target = Path(path)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    if not overwrite and target.exists():
        raise _exists(target)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_MODE)
    except OSError as exc:
        raise KeyFileError(
            f"cannot write a key in {target.parent}: {exc.strerror}. "
            "Check that the folder exists and is writable by this user.",
            path=str(target),
        ) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _PRIVATE_MODE)
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(temporary, target)
        else:
            try:
                os.link(temporary, target)  # fails if a key appeared meanwhile
            except FileExistsError:
                raise _exists(target) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    _fsync_dir(target.parent)
    return target


def load_private_key(
    path: str | os.PathLike[str], *, algorithm: KeyAlgorithm | str | None = None
) -> PrivateKey:
    """Read a private key written by :func:`save_private_key`.

    Parameters
    ----------
    path
        The PEM file.
    algorithm
        When given, the key must be of this type.

    Raises
    ------
    KeyFileError
        If the file is missing, readable by group or others, not a PEM private
        key, or of another type than ``algorithm``.
    """
    source = Path(path)
    try:
        mode = source.stat().st_mode
        data = source.read_bytes()
    except OSError as exc:
        raise KeyFileError(
            f"cannot read the key {source}: {exc.strerror}.", path=str(source)
        ) from exc
    if stat.S_IMODE(mode) & 0o077:
        raise KeyFileError(
            f"the private key {source} is readable by other users "
            f"(mode {stat.S_IMODE(mode):04o}); run 'chmod 600 {source}' and retry.",
            path=str(source),
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(
            f"{source} is not an unencrypted PEM private key.", path=str(source)
        ) from exc
    if not isinstance(key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey)):
        raise KeyFileError(
            f"{source} holds a {type(key).__name__}; Harmonia uses Ed25519 or EC P-256.",
            path=str(source),
        )
    found = algorithm_of(key)
    if algorithm is not None and found is not KeyAlgorithm(algorithm):
        raise KeyFileError(
            f"{source} holds an {found} key where an {KeyAlgorithm(algorithm)} key is expected.",
            path=str(source),
        )
    return key


def _exists(target: Path) -> KeyExistsError:
    return KeyExistsError(
        f"a key already exists at {target}; it was left untouched. Remove it yourself, or pass "
        "overwrite=True, only if you mean to replace this identity.",
        path=str(target),
    )


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
