"""Sealed re-identification links: only the private key opens them; tampering is refused."""

from __future__ import annotations

import pytest

from node.dicom.deid import Deidentifier, RelinkSealer, generate_relink_keypair, open_relink
from node.errors import RelinkError
from shared.errors import ConfigurationError

from .deid_fixtures import SECRET, make_ct


def test_seal_and_open_round_trip() -> None:
    private_pem, public_pem = generate_relink_keypair()
    identity = Deidentifier(SECRET).deidentify(make_ct()).identity
    sealed = RelinkSealer(public_pem).seal(identity.as_mapping())
    assert b"PID-123" not in sealed and b"Doe" not in sealed
    opened = open_relink(private_pem, sealed)
    assert opened["patient_id"] == "PID-123"
    assert opened["patient_name"] == "Doe^Jane"
    assert opened["pseudonym_patient_id"] == identity.pseudonym_patient_id
    assert opened["study_instance_uid"] == "1.2.826.0.1.3680043.8.498.1"


def test_sealing_is_randomized() -> None:
    _private, public_pem = generate_relink_keypair()
    sealer = RelinkSealer(public_pem)
    assert sealer.seal({"a": "b"}) != sealer.seal({"a": "b"})


@pytest.mark.parametrize("position", [0, 5, 40, 60, -1])
def test_tampered_blob_refused(position: int) -> None:
    private_pem, public_pem = generate_relink_keypair()
    sealed = bytearray(RelinkSealer(public_pem).seal({"patient_id": "X"}))
    sealed[position] ^= 0x01
    with pytest.raises(RelinkError):
        open_relink(private_pem, bytes(sealed))


def test_truncated_and_wrong_key_refused() -> None:
    private_pem, public_pem = generate_relink_keypair()
    other_private, _ = generate_relink_keypair()
    sealed = RelinkSealer(public_pem).seal({"patient_id": "X"})
    with pytest.raises(RelinkError, match="truncated"):
        open_relink(private_pem, sealed[:30])
    with pytest.raises(RelinkError, match="different"):
        open_relink(other_private, sealed)


def test_bad_public_key_is_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        RelinkSealer(b"not a pem")
    private_pem, _ = generate_relink_keypair()
    with pytest.raises(ConfigurationError):
        RelinkSealer(private_pem)
