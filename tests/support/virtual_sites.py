"""Sites enrolled in a real coordinator from this process, each with its own mTLS client.

What ``harmonia-node enroll`` does, without a node: register the site with the
admin API (one-time token), make the TLS key and the SuperNode key locally,
send the CSR to ``/api/v1/enroll``, and keep the certificate, the key and the
CA bundle in files. :func:`site_client` then calls the site API over mutual
TLS exactly as a node does (the CA pinned, the site's certificate presented).
Used by the dashboard's end-to-end test and ``benchmarks/coordinator_polling.py``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx

from shared.crypto import (
    build_csr,
    csr_pem,
    generate_private_key,
    public_key_pem,
    save_private_key,
)


@dataclass(frozen=True)
class SiteCredentials:
    """One enrolled site's files and the site API's URL."""

    site: str
    certificate: Path
    key: Path
    ca_bundle: Path
    site_api_url: str
    serial: str


def enroll_site(
    admin: httpx.Client, site: str, folder: Path, *, software_version: str | None = "0.1.0"
) -> SiteCredentials:
    """Register ``site`` through ``admin`` (a bearer-token client) and enroll it."""
    issued = admin.post("/api/v1/sites", json={"name": site})
    issued.raise_for_status()
    key = generate_private_key("ec-p256")
    body = {
        "token": issued.json()["token"],
        "site": site,
        "csr_pem": csr_pem(build_csr(key, site)).decode(),
        "supernode_public_key_pem": public_key_pem(generate_private_key("ec-p256")).decode(),
    }
    if software_version is not None:
        body["software_version"] = software_version
    enrolled = admin.post("/api/v1/enroll", json=body)
    enrolled.raise_for_status()
    answer = enrolled.json()
    folder.mkdir(parents=True, exist_ok=True)
    certificate = folder / f"{site}.crt"
    certificate.write_text(answer["certificate_pem"])
    ca_bundle = folder / f"{site}-ca.pem"
    ca_bundle.write_text(answer["ca_bundle_pem"])
    key_path = save_private_key(key, folder / f"{site}.key", overwrite=True)
    return SiteCredentials(
        site, certificate, key_path, ca_bundle, answer["coordinator_url"], answer["serial"]
    )


def site_ssl_context(credentials: SiteCredentials) -> ssl.SSLContext:
    """Trust only the consortium CA; present the site's certificate."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(credentials.ca_bundle))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=str(credentials.certificate), keyfile=str(credentials.key))
    return context


def site_client(credentials: SiteCredentials, *, timeout: float = 30) -> httpx.Client:
    """An mTLS client for the site API, as the node's own."""
    return httpx.Client(
        base_url=credentials.site_api_url, verify=site_ssl_context(credentials), timeout=timeout
    )
