"""The privacy boundary and the harmonization loop on real processes: a coordinator and 3 nodes.

The coordinator runs ``serve --flower`` with ``capture_dir`` set, so its admin,
site (mTLS) and Fleet proxy listeners write every byte they receive, after
TLS, to files (:mod:`coordinator.capture`). Each node ingested phantom CT
series through its real ingest (de-identification runs) whose DICOM headers
carry canary strings in every identifying attribute; its readers' Lung-RADS
readings were made through the annotation domain (``tests.support.stats_sites``).

* The canary test runs a full statistics round and a calibration upload (the
  calibration phantoms carry canaries too), then searches everything the
  coordinator received for every canary in several encodings: none is there.
  A positive control sends canaries on purpose, to the site listener and to
  the Fleet proxy, and the same search finds each of them.
* The revision test runs a round, reads the harmonization report (the
  Lung-RADS label is flagged: site c's readers disagree), publishes a revised,
  signed guideline that changes the label's meaning, and has every node sync
  it and upgrade its project: the changed tasks land in each node's re-review
  queue, read through the node's API.
"""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from node.annotate import AnnotationService
from node.auth import PasswordHasher
from node.consortium import MembershipFiles, consortium_dir, site_client
from node.consortium.calibration import load_installed
from node.runtime import open_node
from shared.calibration import CalibrationSet, generate_case
from shared.phantoms import SITE_STYLES, PhantomSpec, generate_series
from shared.schemas import load_guideline
from shared.simulation import CaseTruth, ReaderProfile, simulate_annotations
from tests.support.canaries import canary_encodings, find_canaries, read_all
from tests.support.federation import Federation, cli, environment, running_federation
from tests.support.stats_sites import EXAMPLE, PLANS, PROJECT, node_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(3600)]

SITES = ("hosp-a", "hosp-b", "hosp-c")
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
    return sorted({reader for task in PLANS["abc"[index]] for reader in task})


def site_canaries() -> set[str]:
    """The canaries of every phantom the nodes ingested (``prepare_site``'s specs)."""
    values: set[str] = set()
    for index in range(len(SITES)):
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


def stats_round(federation: Federation) -> dict[str, Any]:
    """A noise-free statistics round through the coordinator's CLI (a long deadline: the
    machine running the tests may be shared and slow)."""
    result = subprocess.run(
        [
            *(sys.executable, "-m", "coordinator.cli", "round", "stats"),
            *("--data-dir", str(federation.coordinator_dir), "--project", PROJECT),
            *("--wait-nodes", "120", "--no-noise", "--reply-timeout", "600"),
        ],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=1500,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{federation.diagnostics()}"
    answer: dict[str, Any] = json.loads(result.stdout)
    assert answer["answered"] == list(SITES), federation.diagnostics()
    return answer


def node_cli(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "node.cli", *args],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, f"node {args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    root = tmp_path_factory.mktemp("canaries")
    capture = root / "capture"
    with running_federation(
        root, SITES, coordinator_env={"HARMONIA_COORDINATOR_CAPTURE_DIR": str(capture)}
    ) as running:
        coordinator = str(running.coordinator_dir)
        cli("coordinator.cli", "guideline", "publish", str(EXAMPLE), "--data-dir", coordinator)
        calibration_file = root / "calibration.json"
        calibration_file.write_text(json.dumps(CALIBRATION))
        cli(
            "coordinator.cli",
            "calibration",
            "publish",
            str(calibration_file),
            "--data-dir",
            coordinator,
        )
        for index, site in enumerate(SITES):
            add_users(running.node_dirs[site], readers(index))
            data_dir = str(running.node_dirs[site])
            assert "lung-nodule@1.0" in node_cli("guideline", "sync", "--data-dir", data_dir)
        yield running


def add_users(data_dir: Path, names: list[str]) -> None:
    """The readers (annotators) and an administrator, made while the node serves."""
    with open_node(node_settings(data_dir)) as runtime:
        runtime.users.hasher = PasswordHasher(time_cost=1, memory_cost_kib=8, parallelism=1)
        for name in names:
            runtime.users.create(name, PASSWORD, "annotator", actor="setup")
        runtime.users.create("it-admin", PASSWORD, "admin", actor="setup")


def capture_dir(federation: Federation) -> Path:
    return federation.logs / "capture"


def admin_token(federation: Federation, site: str) -> str:
    with open_node(node_settings(federation.node_dirs[site])) as runtime:
        user = runtime.users.get("it-admin")
        return runtime.tokens.issue("test", [], user_id=user.id).token


def node_url(federation: Federation, site: str) -> str:
    assert federation.node_ports is not None
    return f"http://127.0.0.1:{federation.node_ports[site]}"


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


def forge_requests(federation: Federation, canaries: list[str]) -> dict[str, str]:
    """Send canaries past the gate on purpose; returns canary -> the encoding sent."""
    files = MembershipFiles(consortium_dir(federation.node_dirs["hosp-a"]))
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
        answer = client.post(
            f"https://{fleet}/v1/fleet/push-messages", content=canaries[4].encode() * 3
        )
    assert answer.status_code >= 400
    sent[canaries[4]] = "utf-8"
    return sent


def test_no_canary_reaches_the_coordinator(federation: Federation) -> None:
    for index, site in enumerate(SITES):
        data_dir = federation.node_dirs[site]
        fetched = node_cli(
            "calibration", "fetch", "--data-dir", str(data_dir),
            "--readers", ",".join(readers(index)),
            "--readers-per-task", str(len(readers(index))),
        )  # fmt: skip
        assert f"calibration set {SET_ID}: 2 case(s)" in fetched
        annotate_calibration(data_dir, index)
        uploaded = node_cli("calibration", "upload", "--data-dir", str(data_dir), "--set", SET_ID)
        assert f"of {len(readers(index))} reader(s)" in uploaded
    result = stats_round(federation)

    received = read_all(capture_dir(federation))
    by_listener = {
        listener: b"".join(v for k, v in received.items() if k.startswith(f"{listener}-"))
        for listener in ("admin", "site", "fleet")
    }
    # (i) the capture holds the protocol traffic: enrollment, sync, calibration upload, round
    assert b"POST /api/v1/enroll " in by_listener["admin"]
    assert by_listener["site"].count(b"GET /api/v1/site/guidelines ") >= len(SITES)
    upload = f"POST /api/v1/site/calibration/{SET_ID}/annotations ".encode()
    assert by_listener["site"].count(upload) == len(SITES)
    assert b'"annotations":[' in by_listener["site"] and b'"lung-rads"' in by_listener["site"]
    assert b"POST /v1/fleet/push-" in by_listener["fleet"]
    # the statistics payload's field names, in the replies the Fleet proxy received
    assert b'"statistic":"confusion"' in by_listener["fleet"]
    assert b'"label":"lung-rads"' in by_listener["fleet"]
    for site in SITES:
        assert result["sites"][site]["bytes"], result["sites"][site]
    # (ii) no canary, in any encoding, anywhere in what the coordinator received
    canaries = site_canaries()
    assert len(canaries) >= 16 * 3
    hits = find_canaries(canaries, received)
    assert hits == [], hits[:10]

    # positive control: canaries sent on purpose are found by the same search
    before = set(received)
    sent = forge_requests(federation, sorted(canaries)[:5])
    after = read_all(capture_dir(federation))
    found = find_canaries(canaries, after)
    assert {(h.canary, h.encoding) for h in found} >= set(sent.items())
    assert {h.canary for h in found} == set(sent)
    assert all(h.source not in before for h in found)  # only the forged connections' files
    assert {h.source.split("-")[0] for h in found} == {"site", "fleet"}


def test_a_revision_of_a_flagged_label_reaches_rereview_on_every_node(
    federation: Federation, tmp_path: Path
) -> None:
    stats_round(federation)  # the report reads its result
    coordinator = str(federation.coordinator_dir)
    report = json.loads(
        cli(
            "coordinator.cli", "harmonization", "report", "lung-nodule",
            "--data-dir", coordinator, "--format", "json",
        ).stdout
    )  # fmt: skip
    assert "lung-rads" in report["flagged_labels"], report
    assert "lung-rads" in report["sites_below_target"].get("hosp-c", []), report

    revised = yaml.safe_load(EXAMPLE.read_text())
    revised["version"] = "1.1"
    lung_rads = next(label for label in revised["labels"] if label["name"] == "lung-rads")
    lung_rads["definition"] = "Lung-RADS v2022 category of the most suspicious nodule."
    lung_rads["criteria"] += " Category 2 includes perifissural nodules under 10 mm."
    revised_file = tmp_path / "lung-nodule-1.1.json"
    revised_file.write_text(json.dumps(revised))
    cli("coordinator.cli", "guideline", "publish", str(revised_file), "--data-dir", coordinator)

    for index, site in enumerate(SITES):
        data_dir = str(federation.node_dirs[site])
        assert "loaded lung-nodule@1.1" in node_cli("guideline", "sync", "--data-dir", data_dir)
        upgraded = node_cli(
            "project", "upgrade", "--data-dir", data_dir,
            "--project", PROJECT, "--guideline", "lung-nodule@1.1",
        )  # fmt: skip
        assert "labels changed in meaning: lung-rads" in upgraded, upgraded
        parts = sum(len(task) for task in PLANS["abc"[index]])
        assert f"{parts} reader part(s) sent to re-review" in upgraded, upgraded
        token = admin_token(federation, site)
        queue = httpx.get(
            f"{node_url(federation, site)}/api/review/rereview",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert queue.status_code == 200, queue.text
        items = queue.json()["items"]
        assert len(items) == parts
        assert {item["reader"] for item in items} == set(readers(index))
        assert all(
            item["reason"].startswith("re-review: guideline lung-nodule@1.1") for item in items
        )


def test_the_search_finds_each_encoding_at_every_alignment() -> None:
    canary = "CANARY-0123456AB"
    for before in (b"", b"x", b"xy", b"xyz"):
        for after in (b"", b"q", b"qr"):
            raw = before + canary.encode() + after
            for name, blob in (
                ("base64", base64.b64encode(raw)),
                ("utf-16-le", raw.decode().encode("utf-16-le")),
                ("utf-16-be", raw.decode().encode("utf-16-be")),
                ("hex", raw.hex().encode()),
                ("HEX", raw.hex().upper().encode()),
                ("utf-8 lower case", raw.lower()),
            ):
                hits = find_canaries([canary], {"blob": blob})
                assert any(h.encoding.startswith(name) for h in hits), (name, before, after)
    assert find_canaries([canary], {"blob": b"CANARY-0123456AC" * 4}) == []
