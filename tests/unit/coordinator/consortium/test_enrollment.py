from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from coordinator.consortium import EnrollmentRequest, SiteStatus
from coordinator.errors import (
    SiteRevokedError,
    TokenExpiredError,
    TokenSiteMismatchError,
    TokenUnknownError,
    TokenUsedError,
)
from coordinator.runtime import CoordinatorRuntime
from coordinator.store import EnrollmentTokenRow
from shared.crypto import (
    CsrError,
    KeyFileError,
    build_csr,
    certificate_site_name,
    csr_pem,
    generate_private_key,
    load_certificates,
    load_public_key,
    public_key_pem,
    verify_certificate,
)
from tests.unit.coordinator.conftest import enrollment_body


def _request(token: str, site: str = "hospital-a") -> EnrollmentRequest:
    return EnrollmentRequest(**enrollment_body(token, site))


def test_enrollment_issues_a_certificate_and_consumes_the_token(
    coordinator: CoordinatorRuntime,
) -> None:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    result = coordinator.enrollment.enroll(_request(token))
    certificate = load_certificates(result.certificate_pem)
    ca = load_certificates(result.ca_bundle_pem)[0]
    leaf = verify_certificate(certificate, ca)
    assert certificate_site_name(leaf) == "hospital-a"
    assert load_public_key(result.guideline_signing_public_key_pem)
    assert result.coordinator_url == coordinator.settings.resolved_site_api_url
    site = coordinator.sites.get("hospital-a")
    assert site.status is SiteStatus.ENROLLED
    assert site.certificate_serials == (result.serial,)
    assert site.supernode_key_fingerprint is not None
    assert coordinator.sites.certificate_site(leaf.serial_number) == ("hospital-a", False)
    with pytest.raises(TokenUsedError, match="one-time"):
        coordinator.enrollment.enroll(_request(token))


def test_expired_token_is_refused(coordinator: CoordinatorRuntime) -> None:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    with coordinator.engine.begin() as connection:
        connection.execute(
            update(EnrollmentTokenRow).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    with pytest.raises(TokenExpiredError, match="expired"):
        coordinator.enrollment.enroll(_request(token))


def test_token_of_another_site_is_refused(coordinator: CoordinatorRuntime) -> None:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    with pytest.raises(TokenSiteMismatchError, match="hospital-a"):
        coordinator.enrollment.enroll(_request(token, site="hospital-b"))


def test_unknown_and_malformed_tokens(coordinator: CoordinatorRuntime) -> None:
    coordinator.sites.add("hospital-a", created_by="test")
    forged = "hce.hospital-a." + "A" * 43
    with pytest.raises(TokenUnknownError, match="unknown"):
        coordinator.enrollment.enroll(_request(forged))
    with pytest.raises(TokenUnknownError, match="not an enrollment token"):
        coordinator.enrollment.enroll(_request("hello"))


def test_revoked_site_cannot_enroll(coordinator: CoordinatorRuntime) -> None:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    coordinator.sites.revoke("hospital-a")
    with pytest.raises((SiteRevokedError, TokenExpiredError)):
        coordinator.enrollment.enroll(_request(token))


def test_a_bad_csr_leaves_the_token_unused(coordinator: CoordinatorRuntime) -> None:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    other = _request(token)
    wrong_name = csr_pem(build_csr(generate_private_key("ec-p256"), "hospital-b")).decode()
    with pytest.raises(CsrError, match="hospital-b"):
        coordinator.enrollment.enroll(
            EnrollmentRequest(token, "hospital-a", wrong_name, other.supernode_public_key_pem)
        )
    with pytest.raises(KeyFileError, match="EC P-256"):
        coordinator.enrollment.enroll(
            EnrollmentRequest(
                token,
                "hospital-a",
                other.csr_pem,
                public_key_pem(generate_private_key("ed25519")).decode(),
            )
        )
    assert coordinator.enrollment.enroll(other).site == "hospital-a"


def test_revocation_revokes_issued_certificates(coordinator: CoordinatorRuntime) -> None:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    result = coordinator.enrollment.enroll(_request(token))
    serial = int(result.serial, 16)
    assert serial not in coordinator.sites.revoked_serials()
    coordinator.sites.revoke("hospital-a")
    assert serial in coordinator.sites.revoked_serials()
    assert coordinator.sites.certificate_site(serial) == ("hospital-a", True)


def test_concurrent_uses_of_one_token_enroll_exactly_once(
    coordinator: CoordinatorRuntime,
) -> None:
    import threading

    token = coordinator.sites.add("hospital-a", created_by="test").token
    requests = [_request(token) for _ in range(4)]
    barrier = threading.Barrier(len(requests))
    outcomes: list[str] = []

    def attempt(request: EnrollmentRequest) -> None:
        barrier.wait()
        try:
            coordinator.enrollment.enroll(request)
        except TokenUsedError:
            outcomes.append("used")
        else:
            outcomes.append("enrolled")

    threads = [threading.Thread(target=attempt, args=(r,)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["enrolled", "used", "used", "used"]
    assert len(coordinator.sites.get("hospital-a").certificate_serials) == 1
