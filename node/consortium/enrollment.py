"""Enrolling a node in the consortium with a one-time token.

:func:`enroll` makes the node's TLS key and SuperNode key here (EC P-256,
saved 0600; private keys never leave), builds a CSR for the site, sends
``{token, site, csr_pem, supernode_public_key_pem}`` through the egress gate
(kind ``enrollment_request``, so the ledger records it) to the coordinator's
``POST /api/v1/enroll``, checks the answer (the certificate carries our key,
names our site and chains to the returned CA; the CA matches
``ca_fingerprint`` when one is given), and stores it (see
:mod:`node.consortium.membership`).

A plain ``http://`` coordinator URL is accepted only on loopback: anywhere
else the answer (the CA the node will pin) must come over HTTPS.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import re
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from node.consortium.errors import (
    AlreadyEnrolledError,
    CoordinatorRefusedError,
    EnrollmentResponseError,
)
from node.consortium.membership import Membership, MembershipFiles, consortium_dir
from node.egress import EgressGate, MessageKind
from shared.crypto import (
    CryptoError,
    build_csr,
    certificate_site_name,
    csr_pem,
    fingerprint,
    generate_private_key,
    load_certificates,
    load_public_key,
    public_key_pem,
    save_private_key,
    verify_certificate,
)
from shared.errors import InvalidInputError

__all__ = ["ENROLL_PATH", "enroll", "token_site"]

ENROLL_PATH = "/api/v1/enroll"
_TOKEN = re.compile(r"^hce\.([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.[A-Za-z0-9_-]{43}$")


def token_site(token: str) -> str:
    """The site an enrollment token names (``hce.<site>.<secret>``)."""
    match = _TOKEN.fullmatch(token.strip())
    if match is None:
        raise InvalidInputError(
            "that is not an enrollment token (they read 'hce.<site>.<secret>'); copy the whole "
            "token the coordinator printed"
        )
    return match.group(1)


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(f"{url!r} is not an http(s) URL of the coordinator")
    if parts.scheme == "http":
        host = parts.hostname
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise InvalidInputError(
                f"refusing to enroll over plain http with {host}: the CA this node will trust "
                "must come over https (use the coordinator's https:// URL)"
            )
    return url.rstrip("/")


def enroll(
    data_dir: Path,
    *,
    gate: EgressGate,
    coordinator_url: str,
    token: str,
    site: str | None = None,
    force: bool = False,
    ca_fingerprint: str | None = None,
    client: httpx.Client | None = None,
    software_version: str | None = None,
) -> Membership:
    """Enroll the node whose data directory is ``data_dir``.

    Parameters
    ----------
    data_dir
        The node's data directory.
    gate
        The node's egress gate; the request is released (and ledgered) through it.
    coordinator_url
        The coordinator's enrollment base URL (``harmonia-coordinator site add`` prints it).
    token
        The one-time enrollment token.
    site
        The site name; must match the token's when given.
    force
        Replace an existing enrollment (the old one is kept aside).
    ca_fingerprint
        SHA-256 (hex) of the consortium CA certificate (DER), when the operator has it.
    client
        The HTTP client to use (tests); a fresh one otherwise.
    software_version
        Sent along for the coordinator's records.

    Raises
    ------
    AlreadyEnrolledError
        An enrollment exists and ``force`` is false.
    CoordinatorRefusedError
        The coordinator is unreachable or refused (the message carries its reason).
    EnrollmentResponseError
        The answer does not fit the node's key, site or pinned CA.
    """
    named = token_site(token)
    if site is not None and site != named:
        raise InvalidInputError(
            f"the token was issued for site {named!r}, not {site!r}; leave --site out"
        )
    base = _check_url(coordinator_url)
    final = MembershipFiles(consortium_dir(data_dir))
    if final.exists() and not force:
        raise AlreadyEnrolledError(
            f"this node is already enrolled (see {final.record}); pass --force to replace the "
            "enrollment with a new one"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = MembershipFiles(data_dir / f".consortium-{secrets.token_hex(6)}")
    staging.folder.mkdir(mode=0o700)
    try:
        result = _enroll_into(
            staging, gate, base, token, named, ca_fingerprint, client, software_version
        )
        _install(staging, final)
    finally:
        if staging.folder.exists():
            shutil.rmtree(staging.folder, ignore_errors=True)
    return result


def _enroll_into(
    files: MembershipFiles,
    gate: EgressGate,
    base: str,
    token: str,
    site: str,
    ca_fingerprint: str | None,
    client: httpx.Client | None,
    software_version: str | None,
) -> Membership:
    tls_key = generate_private_key("ec-p256")
    supernode_key = generate_private_key("ec-p256")
    save_private_key(tls_key, files.tls_key)
    save_private_key(supernode_key, files.supernode_key)
    payload: dict[str, Any] = {
        "token": token,
        "site": site,
        "csr_pem": csr_pem(build_csr(tls_key, site)).decode("ascii"),
        "supernode_public_key_pem": public_key_pem(supernode_key).decode("ascii"),
    }
    if software_version:
        payload["software_version"] = software_version
    url = base + ENROLL_PATH
    body = gate.release(str(MessageKind.ENROLLMENT_REQUEST), payload, destination=url)
    answer = _post(client, url, body)
    certificate_text = _text(answer, "certificate_pem")
    ca_text = _text(answer, "ca_bundle_pem")
    signing_text = _text(answer, "guideline_signing_public_key_pem")
    try:
        chain = load_certificates(certificate_text)
        ca = load_certificates(ca_text)[0]
        leaf = verify_certificate(chain, ca, usage="client")
        signing_key = load_public_key(signing_text)
    except CryptoError as exc:
        raise EnrollmentResponseError(f"the coordinator's answer cannot be used: {exc}") from exc
    if fingerprint(leaf.public_key()) != fingerprint(tls_key):  # type: ignore[arg-type]
        raise EnrollmentResponseError(
            "the certificate the coordinator returned is not for this node's key; do not use "
            "it, and tell the consortium"
        )
    if certificate_site_name(leaf) != site:
        raise EnrollmentResponseError(
            f"the certificate names site {certificate_site_name(leaf)!r}, not {site!r}"
        )
    if not isinstance(signing_key, ed25519.Ed25519PublicKey):
        raise EnrollmentResponseError("the guideline-signing key is not an Ed25519 key")
    if ca_fingerprint is not None:
        actual = hashlib.sha256(ca.public_bytes(serialization.Encoding.DER)).hexdigest()
        if actual != ca_fingerprint.strip().lower().replace(":", ""):
            raise EnrollmentResponseError(
                f"the consortium CA's fingerprint is {actual}, not the one you gave; you may "
                "be talking to another server: check the coordinator URL with the consortium"
            )
    files.certificate.write_text(certificate_text)
    files.ca_bundle.write_text(ca_text)
    files.signing_key.write_text(signing_text)
    membership = Membership(
        site=site,
        enrollment_url=base,
        coordinator_url=_text(answer, "coordinator_url").rstrip("/"),
        fleet_address=str(answer.get("fleet_address") or ""),
        serial=f"{leaf.serial_number:x}",
        not_after=leaf.not_valid_after_utc.isoformat(),
        enrolled_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    _write_synced(files.record, json.dumps(membership.to_json(), indent=2).encode())
    return membership


def _post(client: httpx.Client | None, url: str, body: bytes) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    try:
        if client is None:
            with httpx.Client(timeout=30) as fresh:
                response = fresh.post(url, content=body, headers=headers)
        else:
            response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise CoordinatorRefusedError(
            f"cannot reach the coordinator at {url}: {exc}; check the URL and the network",
            source=url,
        ) from exc
    return coordinator_json(response, url)


def coordinator_json(response: httpx.Response, url: str) -> dict[str, Any]:
    """The JSON object of a coordinator answer, or :class:`CoordinatorRefusedError`."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code >= 400:
        detail = data.get("detail") if isinstance(data, dict) else response.text[:200]
        raise CoordinatorRefusedError(
            f"the coordinator refused ({response.status_code}): {detail}",
            source=url,
            status_code=response.status_code,
        )
    if not isinstance(data, dict):
        raise CoordinatorRefusedError(
            f"the coordinator's answer at {url} is not a JSON object", source=url
        )
    return data


def _text(answer: dict[str, Any], key: str) -> str:
    value = answer.get(key)
    if not isinstance(value, str) or not value:
        raise EnrollmentResponseError(f"the coordinator's answer has no {key!r}")
    return value


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _install(staging: MembershipFiles, final: MembershipFiles) -> None:
    """Move the complete enrollment into place, keeping a replaced one aside."""
    if final.folder.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        aside = final.folder.with_name(f"{final.folder.name}.replaced-{stamp}")
        with contextlib.suppress(FileNotFoundError):
            final.folder.rename(aside)
    staging.folder.rename(final.folder)
