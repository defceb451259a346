"""The privacy-boundary and harmonization tests' data on a running federation.

The federation's nodes (:func:`tests.support.federation.running_federation`)
hold phantom CT series whose DICOM headers carry canary strings in every
identifying attribute. This module adds what the canary and revision tests
need on top: the calibration set (its phantoms carry canaries too), the
canaries of every phantom the nodes hold (:func:`site_canaries`), users made
while the nodes serve (:func:`add_users`), simulated calibration readings
through the annotation domain (:func:`annotate_calibration`), and requests
that send canaries past the egress gate on purpose (:func:`forge_requests`,
the search's positive control).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx

from node.annotate import AnnotationService
from node.auth import PasswordHasher
from node.consortium import MembershipFiles, consortium_dir, site_client
from node.consortium.calibration import load_installed
from node.runtime import open_node
from shared.calibration import CalibrationSet, generate_case
from shared.phantoms import SITE_STYLES, PhantomSpec, generate_series
from shared.schemas import load_guideline
from shared.simulation import CaseTruth, ReaderProfile, simulate_annotations
from tests.support.canaries import canary_encodings
from tests.support.stats_sites import EXAMPLE, PLANS, node_settings

PASSWORD = "canaries never leave the building 7"
SET_ID = "lung-cal-1"
CALIBRATION: dict[str, Any] = {
    "set_id": SET_ID,
    "title": "Lung calibration cases",
    "guideline": {"name": "lung-nodule", "version": "1.0"},
    "cases": [
        {"case_id": f"case-{i}", "rows": 64, "columns": 64, "slices": 6, "seed": 300 + i}
        for i in range(2)
    ],
}
CATEGORIES = {"case-0": "2", "case-1": "4A"}


def readers(index: int) -> list[str]:
    """The readers of the ``index``-th site (``PLANS`` a, b, c...)."""
    return sorted({reader for task in PLANS["abc"[index]] for reader in task})


def site_canaries(site_count: int) -> set[str]:
    """The canaries of every phantom the nodes ingested (``prepare_site``'s specs)."""
    values: set[str] = set()
    for index in range(site_count):
        for task in range(len(PLANS["abc"[index]])):
            spec = PhantomSpec(
                modality="CT",
                rows=64,
                columns=64,
                slices=2,
                seed=index * 100 + task,
                style=SITE_STYLES["reference"],
            )
            values |= set(generate_series(spec).canaries)
    calibration = CalibrationSet.from_json(CALIBRATION)
    for case in calibration.cases:
        values |= set(generate_case(case).canaries)
    return values


def add_users(data_dir: Path, names: list[str]) -> None:
    """The readers (annotators) and an administrator, made while the node serves."""
    with open_node(node_settings(data_dir)) as runtime:
        runtime.users.hasher = PasswordHasher(time_cost=1, memory_cost_kib=8, parallelism=1)
        for name in names:
            runtime.users.create(name, PASSWORD, "annotator", actor="setup")
        runtime.users.create("it-admin", PASSWORD, "admin", actor="setup")


def admin_token(data_dir: Path) -> str:
    """A fresh API token of the node's ``it-admin``."""
    with open_node(node_settings(data_dir)) as runtime:
        user = runtime.users.get("it-admin")
        return runtime.tokens.issue("test", [], user_id=user.id).token


def annotate_calibration(data_dir: Path, index: int) -> None:
    """Simulated readers annotate the calibration cases through the node's domain."""
    installed = load_installed(data_dir, SET_ID)
    case_of = {series: case for case, series in installed.cases.items()}
    calibration = CalibrationSet.from_json(CALIBRATION)
    guideline = load_guideline(EXAMPLE)
    with open_node(node_settings(data_dir)) as runtime:
        service: AnnotationService = runtime.annotation
        for seed, reader in enumerate(readers(index)):
            profile = ReaderProfile(reader, seed=seed)
            items = service.tasks.worklist(reader, project=installed.project).items
            assert len(items) == len(CATEGORIES)
            for item in items:
                case_id = case_of[item.task.series_instance_uid]
                truth = CaseTruth.from_phantom(
                    generate_case(calibration.case(case_id)),
                    case_id=case_id,
                    categories={"lung-rads": CATEGORIES[case_id]},
                )
                for payload in simulate_annotations(profile, truth, guideline):
                    service.revisions.create(item.task.id, reader, payload)
                service.tasks.complete(item.task.id, reader)


def forge_requests(data_dir: Path, canaries: list[str]) -> dict[str, str]:
    """Send canaries past the gate on purpose, as the node of ``data_dir``; canary -> encoding."""
    files = MembershipFiles(consortium_dir(data_dir))
    sent = {
        canaries[0]: "utf-8",
        canaries[1]: "utf-16-le",
        canaries[2]: "base64+0",
        canaries[3]: "hex",
    }
    forms = [canary_encodings(c)[sent[c]] for c in canaries[:4]]
    # raw bytes, not JSON: a JSON encoder would escape the UTF-16 NULs
    body = b'{"annotations":[{"case":"%s"}],"note":"%s","blob":"%s","digest":"%s"}' % tuple(forms)
    with site_client(files) as client:  # the node's own certificate, past the gate
        answer = client.post(
            f"/api/v1/site/calibration/{SET_ID}/annotations",
            content=body,
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code in (400, 403, 409, 422), answer.text
    fleet = files.membership().fleet_address
    context = ssl.create_default_context(cafile=str(files.ca_bundle))
    with httpx.Client(verify=context, timeout=30) as client:
        # a SuperNode's Content-Type: without it the SuperLink answers 415 before reading the
        # body, and its log shows an "Unsupported Content-Type: ''" that looks like a proxy fault
        answer = client.post(
            f"https://{fleet}/v1/fleet/push-messages",
            content=canaries[4].encode() * 3,
            headers={"Content-Type": "application/protobuf"},
        )
    assert answer.status_code >= 400
    sent[canaries[4]] = "utf-8"
    return sent
