from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared.crypto import (
    CertificateAuthority,
    CertificateError,
    CertificateProblem,
    CsrError,
    build_csr,
    certificate_pem,
    certificate_site_name,
    check_site_name,
    csr_pem,
    csr_site_name,
    fingerprint,
    generate_private_key,
    load_certificates,
    load_csr,
    verify_certificate,
)

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create(now=NOW)


@pytest.fixture(scope="module")
def node_key() -> Any:
    return generate_private_key("ec-p256")


@pytest.fixture(scope="module")
def leaf(ca: CertificateAuthority, node_key: Any) -> x509.Certificate:
    return ca.issue(build_csr(node_key, "hospital-a"), site="hospital-a", now=NOW)


def test_root_is_a_p256_ca(ca: CertificateAuthority) -> None:
    root = ca.certificate
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert load_certificates(ca.certificate_pem) == [root]


def test_issued_certificate_carries_site_usages_and_the_node_key(
    leaf: x509.Certificate, node_key: Any
) -> None:
    assert certificate_site_name(leaf) == "hospital-a"
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["hospital-a"]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH}
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert fingerprint(leaf.public_key()) == fingerprint(node_key)  # type: ignore[arg-type]
    assert leaf.not_valid_after_utc - NOW == timedelta(days=365)


def test_verifies_as_client_and_server(ca: CertificateAuthority, leaf: x509.Certificate) -> None:
    assert verify_certificate([leaf], ca.certificate, now=NOW) == leaf
    assert verify_certificate([leaf], ca.certificate, usage="server", now=NOW) == leaf
    pem_chain = load_certificates(certificate_pem(leaf))
    assert verify_certificate(pem_chain, ca.certificate, now=NOW + timedelta(days=30)) == leaf


def test_extra_names(ca: CertificateAuthority, node_key: Any) -> None:
    cert = ca.issue(
        build_csr(node_key, "hospital-a"),
        site="hospital-a",
        dns_names=["node.hospital-a.example"],
        ip_addresses=["127.0.0.1"],
        now=NOW,
    )
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["hospital-a", "node.hospital-a.example"]
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_expired(ca: CertificateAuthority, leaf: x509.Certificate) -> None:
    with pytest.raises(CertificateError, match="expired") as caught:
        verify_certificate([leaf], ca.certificate, now=NOW + timedelta(days=366))
    assert caught.value.problem is CertificateProblem.EXPIRED
    assert caught.value.serial == leaf.serial_number


def test_not_yet_valid(ca: CertificateAuthority, node_key: Any) -> None:
    later = ca.issue(build_csr(node_key, "hospital-a"), site="hospital-a", now=NOW + timedelta(1))
    with pytest.raises(CertificateError, match="clock") as caught:
        verify_certificate([later], ca.certificate, now=NOW)
    assert caught.value.problem is CertificateProblem.NOT_YET_VALID
    # five minutes of clock skew are tolerated
    verify_certificate([later], ca.certificate, now=NOW + timedelta(days=1, minutes=-4))


def test_short_lived_certificate_never_outlives_the_root(node_key: Any) -> None:
    short = CertificateAuthority.create(valid_for=timedelta(days=10), now=NOW)
    cert = short.issue(build_csr(node_key, "hospital-a"), site="hospital-a", now=NOW)
    assert cert.not_valid_after_utc == short.certificate.not_valid_after_utc


def test_wrong_ca(leaf: x509.Certificate) -> None:
    impostor = CertificateAuthority.create(now=NOW)  # same name, other key
    with pytest.raises(CertificateError, match="does not chain") as caught:
        verify_certificate([leaf], impostor.certificate, now=NOW)
    assert caught.value.problem is CertificateProblem.UNTRUSTED


def test_self_signed_leaf_is_untrusted(ca: CertificateAuthority, node_key: Any) -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hospital-a")])
    forged = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca.certificate.subject)
        .public_key(node_key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(node_key, hashes.SHA256())
    )
    with pytest.raises(CertificateError) as caught:
        verify_certificate([forged], ca.certificate, now=NOW)
    assert caught.value.problem is CertificateProblem.UNTRUSTED


def test_revoked_by_serial_set_and_by_crl(ca: CertificateAuthority, leaf: x509.Certificate) -> None:
    with pytest.raises(CertificateError, match="revoked") as caught:
        verify_certificate([leaf], ca.certificate, revoked={leaf.serial_number}, now=NOW)
    assert caught.value.problem is CertificateProblem.REVOKED
    crl = ca.revocation_list([leaf.serial_number, 12345], now=NOW)
    with pytest.raises(CertificateError, match="revoked"):
        verify_certificate([leaf], ca.certificate, revoked=crl, now=NOW)
    unrelated = ca.revocation_list([12345], now=NOW)
    assert verify_certificate([leaf], ca.certificate, revoked=unrelated, now=NOW) == leaf
    assert verify_certificate([leaf], ca.certificate, revoked={1, 2}, now=NOW) == leaf


def test_crl_from_another_ca_is_refused(ca: CertificateAuthority, leaf: x509.Certificate) -> None:
    other = CertificateAuthority.create(now=NOW)
    with pytest.raises(CertificateError, match="revocation list") as caught:
        verify_certificate([leaf], ca.certificate, revoked=other.revocation_list([]), now=NOW)
    assert caught.value.problem is CertificateProblem.UNTRUSTED


def test_empty_chain_and_garbage() -> None:
    ca = CertificateAuthority.create(now=NOW)
    with pytest.raises(CertificateError) as caught:
        verify_certificate([], ca.certificate, now=NOW)
    assert caught.value.problem is CertificateProblem.MALFORMED
    with pytest.raises(CertificateError, match="BEGIN CERTIFICATE"):
        load_certificates("garbage")


def test_csr_round_trip(node_key: Any) -> None:
    csr = load_csr(csr_pem(build_csr(node_key, "hospital-b")).decode())
    assert csr_site_name(csr) == "hospital-b"
    assert fingerprint(csr.public_key()) == fingerprint(node_key)  # type: ignore[arg-type]


def test_issue_refuses_a_csr_for_another_site(ca: CertificateAuthority, node_key: Any) -> None:
    with pytest.raises(CsrError, match="enrollment is for 'hospital-a'"):
        ca.issue(build_csr(node_key, "hospital-b"), site="hospital-a", now=NOW)


def test_issue_ignores_names_the_csr_asks_for(ca: CertificateAuthority, node_key: Any) -> None:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hospital-a")]))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("coordinator.example")]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(node_key, hashes.SHA256())
    )
    cert = ca.issue(csr, site="hospital-a", now=NOW)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["hospital-a"]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_csr_subject_must_be_only_the_site(ca: CertificateAuthority, node_key: Any) -> None:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "hospital-a"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Evil"),
                ]
            )
        )
        .sign(node_key, hashes.SHA256())
    )
    with pytest.raises(CsrError, match="exactly 'CN=<site name>'"):
        ca.issue(csr, site="hospital-a", now=NOW)


def test_csr_key_must_be_p256() -> None:
    with pytest.raises(CsrError, match="EC P-256"):
        build_csr(generate_private_key("ed25519"), "hospital-a")
    p384 = ec.generate_private_key(ec.SECP384R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hospital-a")]))
        .sign(p384, hashes.SHA256())
    )
    with pytest.raises(CsrError, match="EC P-256"):
        load_csr(csr_pem(csr))
    with pytest.raises(CsrError, match="BEGIN CERTIFICATE REQUEST"):
        load_csr(b"nonsense")


@pytest.mark.parametrize("name", ["", "Hospital", "-a", "a-", "a_b", "a.b", "x" * 64, "é"])
def test_invalid_site_names(name: str) -> None:
    with pytest.raises(CsrError, match="not a valid site name"):
        check_site_name(name)


def test_save_and_load(tmp_path: Path, ca: CertificateAuthority) -> None:
    ca.save(tmp_path / "ca.pem", tmp_path / "ca.key")
    loaded = CertificateAuthority.load(tmp_path / "ca.pem", tmp_path / "ca.key")
    assert loaded.certificate == ca.certificate
    assert fingerprint(loaded.key) == fingerprint(ca.key)
