"""The doctor's checks one by one, against real certificates, sockets and stores."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from node.consortium import MembershipFiles
from node.doctor import (
    CLOCK_FAIL,
    Endpoint,
    Problem,
    Status,
    certificate_check,
    clock_check,
    database_check,
    dicomweb_check,
    dimse_echo_check,
    disk_check,
    dns_check,
    ledger_check,
    parse_dimse_peer,
    proxy_check,
    proxy_for,
    tcp_check,
)
from node.doctor.storage import audit_check, budget_check
from node.egress import EgressGate
from node.runtime import NodeRuntime
from node.store import create_database_engine, migrate
from shared.crypto import (
    CertificateAuthority,
    build_csr,
    certificate_pem,
    generate_private_key,
    save_private_key,
)
from tests.support.node_process import free_port


def _membership(folder: Path, ca: CertificateAuthority, **issue: object) -> MembershipFiles:
    files = MembershipFiles(folder)
    folder.mkdir(parents=True)
    key = generate_private_key("ec-p256")
    save_private_key(key, files.tls_key)
    certificate = ca.issue(build_csr(key, "hospital-a"), site="hospital-a", **issue)  # type: ignore[arg-type]
    files.certificate.write_bytes(certificate_pem(certificate))
    files.ca_bundle.write_bytes(ca.certificate_pem)
    return files


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create()


def _now() -> datetime:
    return datetime.now(UTC)  # read when used: collection may be long before a test runs


def test_a_valid_certificate_passes(tmp_path: Path, ca: CertificateAuthority) -> None:
    result = certificate_check(_membership(tmp_path / "c", ca), _now())
    assert result.status is Status.OK and "valid until" in result.summary


def test_a_certificate_near_expiry_warns(tmp_path: Path, ca: CertificateAuthority) -> None:
    files = _membership(tmp_path / "c", ca, valid_for=timedelta(days=10))
    result = certificate_check(files, _now())
    assert result.status is Status.WARN and "expires in 9 day(s)" in result.summary
    assert "enroll --force" in result.remedy


def test_an_expired_certificate_fails(tmp_path: Path, ca: CertificateAuthority) -> None:
    files = _membership(
        tmp_path / "c", ca, valid_for=timedelta(days=1), now=_now() - timedelta(days=30)
    )
    result = certificate_check(files, _now())
    assert result.status is Status.FAIL
    assert result.problem is Problem.CERTIFICATE_INVALID
    assert "expired" in result.summary and "enroll --force" in result.remedy


def test_a_foreign_ca_bundle_fails_as_untrusted(tmp_path: Path, ca: CertificateAuthority) -> None:
    files = _membership(tmp_path / "c", ca)
    files.ca_bundle.write_bytes(CertificateAuthority.create("Another CA").certificate_pem)
    result = certificate_check(files, _now())
    assert result.problem is Problem.TLS_UNTRUSTED
    assert "does not chain to the pinned CA" in result.summary


def test_a_clock_behind_the_certificate_is_clock_skew(
    tmp_path: Path, ca: CertificateAuthority
) -> None:
    files = _membership(tmp_path / "c", ca)
    result = certificate_check(files, _now() - timedelta(days=2))
    assert result.problem is Problem.CLOCK_SKEW and "NTP" in result.remedy


def test_a_missing_certificate_fails_with_a_remedy(tmp_path: Path) -> None:
    result = certificate_check(MembershipFiles(tmp_path / "nothing"), _now())
    assert result.problem is Problem.CERTIFICATE_INVALID and "backup" in result.remedy


@pytest.mark.parametrize(
    ("environ", "host", "expected"),
    [
        ({}, "coord.example", None),
        ({"HTTPS_PROXY": "http://proxy:3128"}, "coord.example", "http://proxy:3128"),
        ({"https_proxy": "http://p:1", "NO_PROXY": "example"}, "coord.example", None),
        ({"https_proxy": "http://p:1", "no_proxy": ".example:443"}, "coord.example", None),
        ({"https_proxy": "http://p:1", "no_proxy": "other.org"}, "coord.example", "http://p:1"),
        ({"ALL_PROXY": "socks5://s:1080"}, "coord.example", "socks5://s:1080"),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, "coord.example", None),
    ],
)
def test_proxy_for(environ: dict[str, str], host: str, expected: str | None) -> None:
    assert proxy_for(host, environ) == expected


def test_proxy_check_reports_without_leaking_credentials() -> None:
    direct = proxy_check(["coord.example"], {})
    assert direct.status is Status.OK
    proxied = proxy_check(["coord.example"], {"HTTPS_PROXY": "http://user:secret@proxy:3128"})
    assert proxied.status is Status.WARN
    assert "secret" not in proxied.summary and "proxy:3128" in proxied.summary
    assert "NO_PROXY" in proxied.remedy and "inspect TLS" in proxied.remedy


def test_clock_check() -> None:
    fixed = _now()

    def now() -> datetime:
        return fixed

    assert clock_check(fixed - timedelta(seconds=2), now).status is Status.OK
    assert clock_check(fixed - timedelta(seconds=90), now).status is Status.WARN
    far = clock_check(fixed + CLOCK_FAIL + timedelta(seconds=1), now)
    assert far.problem is Problem.CLOCK_SKEW and "behind" in far.summary
    assert clock_check(None, now).status is Status.WARN


def test_dns_and_tcp_checks() -> None:
    assert dns_check(Endpoint("site api", "localhost", 1)).status is Status.OK
    missing = dns_check(Endpoint("site api", "no-such-host.invalid", 443))
    assert missing.problem is Problem.COORDINATOR_UNREACHABLE and "DNS" in missing.remedy
    port = free_port()
    closed = tcp_check(Endpoint("site api", "127.0.0.1", port), None, timeout=5)
    assert closed.problem is Problem.COORDINATOR_UNREACHABLE
    assert "firewall" in closed.remedy and f"127.0.0.1:{port}" in closed.remedy
    with socket.create_server(("127.0.0.1", 0)) as server:
        address = server.getsockname()
        opened = tcp_check(Endpoint("site api", "127.0.0.1", address[1]), None, timeout=5)
        assert opened.status is Status.OK
        via = tcp_check(
            Endpoint("site api", "coord.example", 443), f"http://127.0.0.1:{address[1]}", 5
        )
        assert via.status is Status.OK and "through the proxy" in via.summary


def test_endpoints_parse() -> None:
    assert Endpoint.from_url("x", "https://coord.example:8443").target == "coord.example:8443"
    assert Endpoint.from_url("x", "https://coord.example").port == 443
    assert Endpoint.from_address("x", "[::1]:9092").host == "::1"


def test_disk_and_database_checks(tmp_path: Path) -> None:
    assert disk_check(tmp_path).status in (Status.OK, Status.WARN)
    engine = create_database_engine(f"sqlite:///{tmp_path / 'node.sqlite3'}")
    behind = database_check(engine)
    assert behind.problem is Problem.STORAGE and "harmonia-node serve" in behind.remedy
    migrate(engine)
    assert database_check(engine).status is Status.OK
    engine.dispose()


def test_a_corrupted_sqlite_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite3"
    engine = create_database_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    data = bytearray(path.read_bytes())
    data[4096 : 4096 * 3] = b"\xa5" * (4096 * 2)  # overwrite pages after the header
    path.write_bytes(bytes(data))
    engine = create_database_engine(f"sqlite:///{path}")
    result = database_check(engine)
    engine.dispose()
    assert result.status is Status.FAIL
    assert result.problem in (Problem.INTEGRITY, Problem.STORAGE)


def test_ledger_and_audit_checks_catch_tampering(runtime: NodeRuntime) -> None:
    secrets = runtime.settings.secrets_dir
    gate = EgressGate(runtime.engine, site="hospital-a", ledger_key=runtime.egress_key)
    gate.release("health", {"software_version": "0.1.0", "counters": {"instances": 3}}, "x")
    assert ledger_check(runtime.engine, secrets).status is Status.OK
    assert audit_check(runtime.engine, secrets).status is Status.OK
    with runtime.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER egress_ledger_no_update"))
        connection.execute(text("UPDATE egress_ledger SET byte_count = byte_count + 1"))
    broken = ledger_check(runtime.engine, secrets)
    assert broken.problem is Problem.INTEGRITY and "entry 1" in broken.summary
    assert "data protection officer" in broken.remedy


def test_budget_check(runtime: NodeRuntime) -> None:
    data_dir = runtime.settings.data_dir
    assert budget_check(runtime.engine, data_dir, "hospital-a").status is Status.SKIP
    (data_dir / "statistics-policy.json").write_text(json.dumps({"epsilon": 2.0, "delta": 1e-5}))
    assert budget_check(runtime.engine, data_dir, None).status is Status.SKIP
    full = budget_check(runtime.engine, data_dir, "hospital-a")
    assert full.status is Status.OK and "epsilon 2 of 2 left" in full.summary


def test_pacs_checks_fail_clearly_when_nothing_answers() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/dicom-web"
    web = dicomweb_check(url, token=None, ca_bundle=None, timeout=5)
    assert web.problem is Problem.PACS_UNREACHABLE and "DICOMweb" in web.remedy
    dimse = dimse_echo_check(f"PACS@127.0.0.1:{port}", calling_ae="HARMONIA", timeout=5)
    assert dimse.problem is Problem.PACS_UNREACHABLE and "DICOM port" in dimse.remedy
    assert parse_dimse_peer("ORTHANC@pacs.example:4242") == ("ORTHANC", "pacs.example", 4242)
    with pytest.raises(ValueError, match="AE@host:port"):
        parse_dimse_peer("pacs.example:4242")
