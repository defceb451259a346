"""The node's own certificate, checked offline against the CA pinned at enrollment."""

from __future__ import annotations

from datetime import datetime, timedelta

from node.consortium import MembershipFiles
from node.doctor.result import CheckResult, Problem, failed, ok, warned
from shared.crypto import (
    CertificateError,
    CertificateProblem,
    CryptoError,
    load_certificates,
    verify_certificate,
)

__all__ = ["EXPIRY_WARNING", "certificate_check"]

EXPIRY_WARNING = timedelta(days=30)
"""Warn when the certificate expires sooner than this."""

_RENEW = (
    "ask the consortium coordinator for a new enrollment token, then run "
    "'harmonia-node enroll --force --coordinator URL --token TOKEN' (keys are made anew here)"
)


def certificate_check(files: MembershipFiles, now: datetime) -> CheckResult:
    """The certificate chains to the pinned CA, is valid now, and not about to expire."""
    name = "certificate"
    try:
        chain = load_certificates(files.certificate.read_bytes())
        ca = load_certificates(files.ca_bundle.read_bytes())[0]
    except (OSError, CryptoError) as exc:
        return failed(
            name,
            Problem.CERTIFICATE_INVALID,
            f"cannot read the node's certificate or CA bundle: {exc}",
            f"restore DATA_DIR/consortium from backup, or {_RENEW}",
        )
    try:
        leaf = verify_certificate(chain, ca, usage="client", now=now)
    except CertificateError as exc:
        if exc.problem is CertificateProblem.UNTRUSTED:
            return failed(
                name,
                Problem.TLS_UNTRUSTED,
                f"the node's certificate does not chain to the pinned CA ({files.ca_bundle}): "
                "the CA bundle was replaced or belongs to another consortium",
                f"restore DATA_DIR/consortium/ca.pem from backup, or {_RENEW}",
            )
        if exc.problem is CertificateProblem.NOT_YET_VALID:
            return failed(
                name,
                Problem.CLOCK_SKEW,
                str(exc),
                "set this host's clock (enable NTP: timedatectl set-ntp true)",
            )
        return failed(name, Problem.CERTIFICATE_INVALID, str(exc), _RENEW)
    left = leaf.not_valid_after_utc - now
    expiry = f"{leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    if left < EXPIRY_WARNING:
        return warned(
            name,
            f"the node's certificate expires in {left.days} day(s), on {expiry}",
            f"renew before then: {_RENEW}",
        )
    return ok(name, f"issued by the pinned CA, valid until {expiry} ({left.days} days)")
