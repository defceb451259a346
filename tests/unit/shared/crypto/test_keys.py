from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from shared.crypto import (
    KeyAlgorithm,
    KeyExistsError,
    KeyFileError,
    algorithm_of,
    fingerprint,
    generate_private_key,
    load_private_key,
    load_public_key,
    public_key_pem,
    save_private_key,
)


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_round_trip_with_owner_only_permissions(tmp_path: Path, algorithm: KeyAlgorithm) -> None:
    key = generate_private_key(algorithm)
    path = save_private_key(key, tmp_path / "node.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_private_key(path, algorithm=algorithm)
    assert algorithm_of(loaded) is algorithm
    assert fingerprint(loaded) == fingerprint(key)
    assert [p.name for p in tmp_path.iterdir()] == ["node.key"]  # no temporary left behind


def test_permissions_do_not_depend_on_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = save_private_key(generate_private_key("ed25519"), tmp_path / "k.pem")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_refuses_to_overwrite_an_existing_key(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    first = generate_private_key("ec-p256")
    save_private_key(first, path)
    before = path.read_bytes()
    with pytest.raises(KeyExistsError, match="left untouched") as caught:
        save_private_key(generate_private_key("ec-p256"), path)
    assert caught.value.path == str(path)
    assert path.read_bytes() == before
    assert len(list(tmp_path.iterdir())) == 1


def test_overwrite_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    save_private_key(generate_private_key("ec-p256"), path)
    second = generate_private_key("ec-p256")
    save_private_key(second, path, overwrite=True)
    assert fingerprint(load_private_key(path)) == fingerprint(second)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_refuses_a_key_readable_by_others(tmp_path: Path) -> None:
    path = save_private_key(generate_private_key("ed25519"), tmp_path / "k.pem")
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_private_key(path)


def test_missing_folder_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="folder exists"):
        save_private_key(generate_private_key("ed25519"), tmp_path / "absent" / "k.pem")
    with pytest.raises(KeyFileError, match="cannot read"):
        load_private_key(tmp_path / "absent.pem")


def test_wrong_algorithm_and_garbage(tmp_path: Path) -> None:
    path = save_private_key(generate_private_key("ed25519"), tmp_path / "k.pem")
    with pytest.raises(KeyFileError, match="ec-p256 key is expected"):
        load_private_key(path, algorithm="ec-p256")
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"not a key")
    junk.chmod(0o600)
    with pytest.raises(KeyFileError, match="not an unencrypted PEM"):
        load_private_key(junk)


def test_other_key_types_are_refused(tmp_path: Path) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(KeyFileError):
        algorithm_of(rsa_key)  # type: ignore[arg-type]
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(KeyFileError):
        save_private_key(p384, tmp_path / "p384.pem")
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = tmp_path / "rsa.pem"
    path.write_bytes(pem)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="RSA"):
        load_private_key(path)
    with pytest.raises(KeyFileError):
        load_public_key(public_key_pem(p384))


def test_fingerprint_is_sha256_of_spki_der() -> None:
    key = generate_private_key("ed25519")
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert fingerprint(key) == fingerprint(key.public_key()) == hashlib.sha256(der).hexdigest()
    assert fingerprint(key) != fingerprint(generate_private_key("ed25519"))


def test_public_key_pem_round_trip() -> None:
    for algorithm in KeyAlgorithm:
        key = generate_private_key(algorithm)
        public = load_public_key(public_key_pem(key).decode())
        assert fingerprint(public) == fingerprint(key)
        assert isinstance(public, (ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey))
    with pytest.raises(KeyFileError, match="BEGIN PUBLIC KEY"):
        load_public_key(b"-----BEGIN NOTHING-----")
