"""``node.consortium.enroll`` against a real coordinator app (in-process)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from coordinator.runtime import CoordinatorRuntime
from node.consortium import (
    AlreadyEnrolledError,
    CoordinatorRefusedError,
    EnrollmentResponseError,
    MembershipFiles,
    consortium_dir,
    enroll,
    token_site,
)
from node.egress import EgressGate, Outcome
from node.runtime import NodeRuntime
from shared.crypto import (
    fingerprint,
    load_certificates,
    load_private_key,
    load_public_key,
    verify_certificate,
)
from shared.errors import InvalidInputError
from tests.unit.node.consortium.conftest import COORDINATOR_URL, RecordingClient


def _enroll(
    runtime: NodeRuntime, client: RecordingClient, token: str, **kwargs: object
) -> tuple[MembershipFiles, EgressGate]:
    gate = EgressGate(runtime.engine, site=token_site(token))
    enroll(
        runtime.settings.data_dir,
        gate=gate,
        coordinator_url=COORDINATOR_URL,
        token=token,
        client=client,
        **kwargs,  # type: ignore[arg-type]
    )
    return MembershipFiles(consortium_dir(runtime.settings.data_dir)), gate


def test_enrollment_pins_what_the_coordinator_returned(
    runtime: NodeRuntime, coordinator: CoordinatorRuntime, enroll_client: RecordingClient
) -> None:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    files, gate = _enroll(runtime, enroll_client, token)
    membership = files.membership()
    assert membership.site == "hospital-a"
    assert membership.coordinator_url == coordinator.settings.resolved_site_api_url
    assert membership.fleet_address == "127.0.0.1:9092"
    assert membership.enrollment_url == COORDINATOR_URL
    ca = load_certificates(files.ca_bundle.read_bytes())[0]
    leaf = verify_certificate(load_certificates(files.certificate.read_bytes()), ca)
    assert fingerprint(leaf.public_key()) == fingerprint(load_private_key(files.tls_key))  # type: ignore[arg-type]
    assert fingerprint(load_public_key(files.signing_key.read_bytes())) == fingerprint(
        coordinator.keys.signing_key
    )
    assert stat.S_IMODE(files.folder.stat().st_mode) == 0o700
    for key in (files.tls_key, files.supernode_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # the coordinator holds the SuperNode public key, never a private key
    site = coordinator.sites.get("hospital-a")
    assert site.supernode_key_fingerprint == fingerprint(load_private_key(files.supernode_key))
    # exactly the gate's bytes left, and the ledger recorded them
    (sent,) = enroll_client.sent
    assert b"PRIVATE KEY" not in sent
    assert set(json.loads(sent)) == {"token", "site", "csr_pem", "supernode_public_key_pem"}
    (entry,) = gate.ledger.entries(kind="enrollment_request")
    assert entry.outcome == Outcome.RELEASED
    assert entry.byte_count == len(sent)
    assert entry.destination == COORDINATOR_URL + "/api/v1/enroll"
    assert gate.ledger.verify().intact


def test_re_enrollment_needs_force_and_keeps_the_old_one_aside(
    runtime: NodeRuntime, coordinator: CoordinatorRuntime, enroll_client: RecordingClient
) -> None:
    first = coordinator.sites.add("hospital-a", created_by="test").token
    files, _ = _enroll(runtime, enroll_client, first)
    old_serial = files.membership().serial
    second = coordinator.sites.add("hospital-a", created_by="test").token
    with pytest.raises(AlreadyEnrolledError, match="--force"):
        _enroll(runtime, enroll_client, second)
    assert files.membership().serial == old_serial
    _enroll(runtime, enroll_client, second, force=True)
    assert files.membership().serial != old_serial
    aside = list(runtime.settings.data_dir.glob("consortium.replaced-*"))
    assert len(aside) == 1
    assert MembershipFiles(aside[0]).membership().serial == old_serial


def test_a_refused_token_leaves_no_enrollment(
    runtime: NodeRuntime, coordinator: CoordinatorRuntime, enroll_client: RecordingClient
) -> None:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    _enroll(runtime, enroll_client, token)
    other = runtime.settings.data_dir.parent / "other-node"
    gate = EgressGate(runtime.engine, site="hospital-a")
    with pytest.raises(CoordinatorRefusedError, match="already used") as refused:
        enroll(other, gate=gate, coordinator_url=COORDINATOR_URL, token=token, client=enroll_client)
    assert refused.value.status_code == 409
    assert not MembershipFiles(consortium_dir(other)).exists()
    assert [p.name for p in other.iterdir()] == []  # the staging folder is gone too


def test_wrong_ca_fingerprint_is_refused(
    runtime: NodeRuntime, coordinator: CoordinatorRuntime, enroll_client: RecordingClient
) -> None:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    with pytest.raises(EnrollmentResponseError, match="fingerprint"):
        _enroll(runtime, enroll_client, token, ca_fingerprint="00" * 32)
    assert not MembershipFiles(consortium_dir(runtime.settings.data_dir)).exists()


def test_right_ca_fingerprint_is_accepted(
    runtime: NodeRuntime, coordinator: CoordinatorRuntime, enroll_client: RecordingClient
) -> None:
    import hashlib

    from cryptography.hazmat.primitives import serialization

    der = coordinator.keys.ca.certificate.public_bytes(serialization.Encoding.DER)
    token = coordinator.sites.add("hospital-a", created_by="test").token
    files, _ = _enroll(
        runtime, enroll_client, token, ca_fingerprint=hashlib.sha256(der).hexdigest()
    )
    assert files.exists()


def test_inputs_are_checked_before_anything_is_sent(
    runtime: NodeRuntime, coordinator: CoordinatorRuntime, enroll_client: RecordingClient
) -> None:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    gate = EgressGate(runtime.engine, site="hospital-a")
    data_dir = runtime.settings.data_dir
    with pytest.raises(InvalidInputError, match="not 'hospital-b'"):
        enroll(data_dir, gate=gate, coordinator_url=COORDINATOR_URL, token=token, site="hospital-b")
    with pytest.raises(InvalidInputError, match="https"):
        enroll(data_dir, gate=gate, coordinator_url="http://coordinator.example", token=token)
    with pytest.raises(InvalidInputError, match="enrollment token"):
        enroll(data_dir, gate=gate, coordinator_url=COORDINATOR_URL, token="nope")
    assert enroll_client.sent == []


def test_unreachable_coordinator(runtime: NodeRuntime, tmp_path: Path) -> None:
    from tests.support.node_process import free_port

    gate = EgressGate(runtime.engine, site="hospital-a")
    token = "hce.hospital-a." + "A" * 43
    with pytest.raises(CoordinatorRefusedError, match="cannot reach"):
        enroll(
            tmp_path / "n",
            gate=gate,
            coordinator_url=f"http://127.0.0.1:{free_port()}",
            token=token,
        )
