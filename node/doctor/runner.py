"""Run every doctor check in order and collect the report.

Order (the first failure decides the exit code): the enrollment and the
node's certificate, the proxy settings, then for the site API and the Fleet
API DNS → TCP → TLS (a later step is skipped when an earlier one failed),
the clock against the coordinator's, then the data directory (disk, database,
egress ledger, audit log, privacy budget), the learning service (when the
node is in a Flower federation), then the PACS peers given.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from node.consortium import MembershipFiles, consortium_dir
from node.consortium.errors import NotEnrolledError
from node.doctor.certificate import certificate_check
from node.doctor.learning import learning_check
from node.doctor.network import (
    Endpoint,
    clock_check,
    dns_check,
    fleet_check,
    site_api_check,
    tcp_check,
)
from node.doctor.pacs import dicomweb_check, dimse_echo_check
from node.doctor.proxy import proxy_check, proxy_for
from node.doctor.result import DoctorReport, Problem, Status, failed, ok, skipped, warned
from node.doctor.storage import (
    audit_check,
    budget_check,
    database_check,
    disk_check,
    ledger_check,
)
from node.settings import NodeSettings
from node.store import create_database_engine

__all__ = ["DoctorOptions", "run_doctor"]


@dataclass(frozen=True)
class DoctorOptions:
    """What the doctor checks beyond the node's own configuration.

    Parameters
    ----------
    timeout
        Seconds to wait for each network answer.
    pacs_url
        A DICOMweb root to query (the pull source).
    pacs_token, pacs_ca_bundle
        Its bearer token and TLS CA bundle, as for ``harmonia-node pull``.
    pacs_dimse
        A DIMSE peer ``AE@host:port`` to C-ECHO.
    """

    timeout: float = 10.0
    pacs_url: str | None = None
    pacs_token: str | None = None
    pacs_ca_bundle: Path | None = None
    pacs_dimse: str | None = None


def run_doctor(
    settings: NodeSettings,
    options: DoctorOptions = DoctorOptions(),
    *,
    environ: Mapping[str, str] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DoctorReport:
    """Check the node at ``settings.data_dir`` and the paths it depends on."""
    report = DoctorReport()
    env = os.environ if environ is None else environ
    site = _coordinator_checks(report, settings, options, env, now)
    _local_checks(report, settings, site)
    report.add(learning_check(settings.data_dir, timeout=options.timeout))
    if options.pacs_url:
        report.add(
            dicomweb_check(
                options.pacs_url,
                token=options.pacs_token,
                ca_bundle=options.pacs_ca_bundle,
                timeout=options.timeout,
            )
        )
    if options.pacs_dimse:
        report.add(
            dimse_echo_check(
                options.pacs_dimse, calling_ae=settings.ae_title, timeout=options.timeout
            )
        )
    return report


def _coordinator_checks(
    report: DoctorReport,
    settings: NodeSettings,
    options: DoctorOptions,
    env: Mapping[str, str],
    now: Callable[[], datetime],
) -> str | None:
    files = MembershipFiles(consortium_dir(settings.data_dir))
    try:
        membership = files.membership()
    except NotEnrolledError as exc:
        if files.exists():
            report.add(
                failed(
                    "enrollment",
                    Problem.CERTIFICATE_INVALID,
                    str(exc),
                    "restore DATA_DIR/consortium from backup, or enroll again with --force",
                )
            )
        else:
            report.add(
                warned(
                    "enrollment",
                    "this node is not enrolled in a consortium: nothing to check on the way "
                    "to a coordinator",
                    "enroll with 'harmonia-node enroll --coordinator URL --token TOKEN'",
                )
            )
        return None
    report.add(ok("enrollment", f"site {membership.site}, enrolled {membership.enrolled_at}"))
    report.add(certificate_check(files, now()))
    site_api = Endpoint.from_url("site api", membership.coordinator_url)
    endpoints = [site_api]
    fleet = None
    if membership.fleet_address:
        fleet = Endpoint.from_address("fleet api", membership.fleet_address)
        endpoints.append(fleet)
    report.add(proxy_check(sorted({e.host for e in endpoints}), env))
    reachable: dict[str, bool] = {}
    for endpoint in endpoints:
        resolved = report.add(dns_check(endpoint))
        if resolved.status is not Status.OK:
            report.add(skipped(f"tcp {endpoint.what}", "the host name does not resolve"))
            reachable[endpoint.what] = False
            continue
        connected = report.add(tcp_check(endpoint, proxy_for(endpoint.host, env), options.timeout))
        reachable[endpoint.what] = connected.status is Status.OK
    if reachable[site_api.what]:
        result, coordinator_time = site_api_check(
            files, membership.coordinator_url, options.timeout
        )
        report.add(result)
        report.add(clock_check(coordinator_time, now))
    else:
        report.add(skipped("tls site api", "no connection to the site API"))
        report.add(skipped("clock", "no connection to the coordinator"))
    if fleet is None:
        report.add(skipped("fleet api", "the consortium gave no Fleet address (no Flower rounds)"))
    elif reachable[fleet.what]:
        report.add(fleet_check(files, fleet, options.timeout))
    else:
        report.add(skipped("fleet api", "no connection to the Fleet address"))
    return membership.site


def _local_checks(report: DoctorReport, settings: NodeSettings, site: str | None) -> None:
    data_dir = settings.data_dir
    if not data_dir.is_dir():
        report.add(
            failed(
                "data directory",
                Problem.STORAGE,
                f"{data_dir} does not exist or is not a directory",
                "pass the node's --data-dir (or HARMONIA_NODE_DATA_DIR), or mount its volume",
            )
        )
        return
    report.add(disk_check(data_dir))
    url = settings.resolved_database_url
    if (
        url.startswith("sqlite")
        and not (data_dir / "node.sqlite3").exists()
        and not (settings.database_url)
    ):
        report.add(
            failed(
                "database",
                Problem.STORAGE,
                f"no database in {data_dir} (node.sqlite3 is missing)",
                "is this the node's data directory? A new node creates it at its first start",
            )
        )
        return
    engine = create_database_engine(url)
    try:
        database = report.add(database_check(engine))
        if database.status is Status.FAIL:
            for name in ("egress ledger", "audit log", "privacy budget"):
                report.add(skipped(name, "the database is not usable"))
            return
        report.add(ledger_check(engine, settings.secrets_dir))
        report.add(audit_check(engine, settings.secrets_dir))
        report.add(budget_check(engine, data_dir, site))
    finally:
        engine.dispose()
