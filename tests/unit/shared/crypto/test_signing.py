from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.crypto import (
    ENVELOPE_FIELDS,
    SignatureError,
    SignedDocument,
    fingerprint,
    generate_private_key,
    sign,
    verify,
)
from shared.crypto.keys import PrivateKey

KIND = "guideline-release"
PAYLOAD = {"name": "lung-nodule", "labels": [{"name": "nodule", "threshold": 0.6}], "note": "é"}
WHEN = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


def _ed25519() -> Any:
    return generate_private_key("ed25519")


@pytest.fixture
def key() -> Any:
    return _ed25519()


@pytest.fixture
def envelope(key: Any) -> dict[str, Any]:
    return sign(PAYLOAD, kind=KIND, version="3", key=key, signed_at=WHEN)


def test_round_trip(key: Any, envelope: dict[str, Any]) -> None:
    assert sorted(envelope) == list(ENVELOPE_FIELDS)
    assert envelope["key_id"] == fingerprint(key)
    assert envelope["signed_at"] == "2026-11-28T07:00:00+00:00"
    assert verify(envelope, [key.public_key()], kind=KIND) == PAYLOAD


def test_json_round_trip_and_other_trusted_keys(key: Any, envelope: dict[str, Any]) -> None:
    import json

    received = json.loads(json.dumps(envelope))
    others = [_ed25519().public_key(), generate_private_key("ec-p256").public_key()]
    assert verify(received, [*others, key.public_key()], kind=KIND) == PAYLOAD


def _tampered(envelope: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(envelope)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("payload", "name"), "lung-nodule-x"),
        (("payload", "labels", 0, "threshold"), 0.61),
        (("payload", "note"), "e"),
        (("payload", "extra"), 1),
        (("version",), "4"),
        (("signed_at",), "2026-11-28T07:00:01+00:00"),
    ],
)
def test_tampering_with_content_breaks_the_signature(
    key: Any, envelope: dict[str, Any], path: tuple[Any, ...], value: Any
) -> None:
    with pytest.raises(SignatureError, match="altered after signing") as caught:
        verify(_tampered(envelope, path, value), [key.public_key()], kind=KIND)
    assert caught.value.key_id == envelope["key_id"]


def test_tampered_signature(key: Any, envelope: dict[str, Any]) -> None:
    raw = bytearray(base64.b64decode(envelope["signature"]))
    raw[0] ^= 1
    flipped = _tampered(envelope, ("signature",), base64.b64encode(bytes(raw)).decode())
    with pytest.raises(SignatureError, match="altered"):
        verify(flipped, [key.public_key()], kind=KIND)
    with pytest.raises(SignatureError, match="altered"):
        verify(_tampered(envelope, ("signature",), "***"), [key.public_key()], kind=KIND)


def test_wrong_kind(key: Any, envelope: dict[str, Any]) -> None:
    with pytest.raises(SignatureError, match="expected a signed 'health'"):
        verify(envelope, [key.public_key()], kind="health")
    relabelled = _tampered(envelope, ("kind",), "health")
    with pytest.raises(SignatureError, match="altered"):
        verify(relabelled, [key.public_key()], kind="health")


def test_unknown_key(key: Any, envelope: dict[str, Any]) -> None:
    with pytest.raises(SignatureError, match="does not trust"):
        verify(envelope, [_ed25519().public_key()], kind=KIND)
    with pytest.raises(SignatureError, match="does not trust"):
        verify(envelope, [], kind=KIND)


def test_key_id_swapped_to_a_trusted_key(key: Any, envelope: dict[str, Any]) -> None:
    other = _ed25519()
    swapped = _tampered(envelope, ("key_id",), fingerprint(other))
    with pytest.raises(SignatureError, match="altered"):
        verify(swapped, [key.public_key(), other.public_key()], kind=KIND)


def test_signed_by_an_attacker_with_the_same_key_id(envelope: dict[str, Any], key: Any) -> None:
    forged = sign(PAYLOAD, kind=KIND, version="3", key=_ed25519(), signed_at=WHEN)
    forged["key_id"] = envelope["key_id"]
    with pytest.raises(SignatureError, match="altered"):
        verify(forged, [key.public_key()], kind=KIND)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda e: [e],
        lambda e: "not an object",
        lambda e: {k: v for k, v in e.items() if k != "signature"},
        lambda e: {**e, "unsigned_extra": 1},
        lambda e: {**e, "payload": [1, 2]},
        lambda e: {**e, "version": 3},
        lambda e: {**e, "kind": ""},
        lambda e: {**e, "key_id": None},
        lambda e: {**e, "signed_at": "x" * 1000},
    ],
)
def test_malformed_envelopes(key: Any, envelope: dict[str, Any], mangle: Any) -> None:
    with pytest.raises(SignatureError, match=r"malformed|must be a JSON object"):
        verify(mangle(envelope), [key.public_key()], kind=KIND)


def test_only_ed25519_signs(key: Any) -> None:
    ec_key: PrivateKey = generate_private_key("ec-p256")
    with pytest.raises(SignatureError, match="Ed25519"):
        sign(PAYLOAD, kind=KIND, version="1", key=ec_key, signed_at=WHEN)  # type: ignore[arg-type]


def test_payload_without_canonical_form(key: Any) -> None:
    with pytest.raises(SignatureError, match="cannot be signed"):
        sign({"x": float("nan")}, kind=KIND, version="1", key=key)


def test_signed_document_parses_without_trusting(envelope: dict[str, Any]) -> None:
    document = SignedDocument.from_json(envelope)
    assert document.to_json() == envelope
    assert document.signed_bytes().startswith(b"harmonia signed document v1\n")
