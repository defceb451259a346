"""Calibration cases and the harmonization report between real processes on 127.0.0.1.

A real coordinator and two real nodes (``harmonia-node serve``), enrolled with
the command line. The coordinator publishes a guideline and a calibration set;
each node syncs the guideline, fetches and verifies the set (its phantoms are
generated and ingested locally), and simulated readers annotate the cases
through the node's HTTP API — site-b's readers disagree on the lesion outline.
The nodes upload their calibration annotations through the egress gate; the
report flags the lesion label and site-b. Then a revised guideline changes the
lesion's boundary rules: the nodes sync it, upgrade the calibration project,
and the re-review queue holds the lesion tasks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest

from node.exit_codes import ExitCode
from shared.calibration import CalibrationSet, generate_case
from shared.schemas import Guideline
from shared.simulation import CaseTruth, ReaderHabits, ReaderProfile, simulate_annotations
from tests.integration.test_enrollment import add_site, enroll, node_cli
from tests.support.coordinator_process import CoordinatorProcess, running_coordinator
from tests.support.node_process import NodeProcess, running_node

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

PASSWORD = "calibration readers read carefully 42"
READERS = ("alice", "bob", "carol")
SITES = ("site-a", "site-b")
CHEST: dict[str, Any] = {
    "name": "chest",
    "version": "1.0",
    "title": "Chest lesions",
    "readers_per_task": 3,
    "labels": [
        {
            "name": "lesion",
            "kind": "mask",
            "definition": "every voxel of every lesion",
            "boundary_rules": "follow the visible edge",
            "agreement_target": 0.8,
        },
        {
            "name": "grade",
            "kind": "classification",
            "definition": "the worst lesion's grade",
            "agreement_target": 0.6,
            "categories": [{"code": c, "meaning": f"grade {c}"} for c in ("1", "2", "3")],
        },
    ],
}
CALIBRATION: dict[str, Any] = {
    "set_id": "chest-cal-1",
    "title": "Chest calibration cases",
    "guideline": {"name": "chest", "version": "1.0"},
    "cases": [
        {"case_id": f"case-{i}", "rows": 64, "columns": 64, "slices": 12, "seed": 100 + i}
        for i in range(3)
    ],
}
GRADES = {"case-0": "1", "case-1": "2", "case-2": "3"}


def profiles(site: str) -> dict[str, ReaderProfile]:
    """site-a reads consistently; site-b's readers over- and under-segment the lesions."""
    if site == "site-a":
        return {
            name: ReaderProfile(name, seed=i, habits=[ReaderHabits(boundary_noise_mm=0.3)])
            for i, name in enumerate(READERS)
        }
    lesion = frozenset({"lesion"})
    return {
        "alice": ReaderProfile("alice", 1, [ReaderHabits(dilation_mm=6.0, labels=lesion)]),
        "bob": ReaderProfile("bob", 2, [ReaderHabits(dilation_mm=-3.0, labels=lesion)]),
        "carol": ReaderProfile("carol", 3),
    }


def admin(coordinator: CoordinatorProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {coordinator.token}"}


def ok(result: Any) -> str:
    assert result.returncode == ExitCode.OK, f"{result.stdout}\n{result.stderr}"
    return str(result.stdout)


@contextmanager
def login(node: NodeProcess, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=60) as client:
        answer = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        yield client


NODE_ENV = {
    "HARMONIA_NODE_FSYNC": "false",
    "HARMONIA_NODE_INGEST_WORKERS": "0",
    "HARMONIA_NODE_SESSION_COOKIE_SECURE": "false",
}


def join_site(coordinator: CoordinatorProcess, node: NodeProcess, site: str) -> None:
    """Enroll ``node`` as ``site`` with the command line; its readers and reviewer over HTTP."""
    ok(enroll(coordinator, node.data_dir, add_site(coordinator, site)))
    headers = {"Authorization": f"Bearer {node.token}"}
    for name, role in [*((r, "annotator") for r in READERS), ("rita", "reviewer")]:
        created = httpx.post(
            f"{node.url}/api/users",
            json={"username": name, "password": PASSWORD, "role": role},
            headers=headers,
            timeout=30,
        )
        assert created.status_code == 201, created.text


@pytest.fixture(scope="module")
def consortium(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[CoordinatorProcess, dict[str, NodeProcess]]]:
    root = tmp_path_factory.mktemp("calibration")
    with ExitStack() as stack:
        # one at a time: three services starting at once on a loaded machine miss the 60 s
        # health deadline
        coordinator = stack.enter_context(running_coordinator(root / "coordinator"))
        nodes = {
            site: stack.enter_context(running_node(root / site / "node", env=NODE_ENV))
            for site in SITES
        }
        with ThreadPoolExecutor(max_workers=len(SITES)) as pool:  # the sites enroll side by side
            for done in [pool.submit(join_site, coordinator, nodes[s], s) for s in SITES]:
                done.result()
        yield coordinator, nodes


def annotate(node: NodeProcess, site: str, calibration: CalibrationSet) -> None:
    installed = json.loads((node.data_dir / "calibration" / "chest-cal-1.json").read_text())
    case_of = {series: case for case, series in installed["cases"].items()}
    guideline = Guideline.model_validate(CHEST)
    truths: dict[str, CaseTruth] = {}
    for name, profile in profiles(site).items():
        with login(node, name) as client:
            tasks = client.get("/api/worklist", params={"project": "calibration-chest-cal-1"})
            assert tasks.status_code == 200, tasks.text
            items = tasks.json()["tasks"]
            assert len(items) == 3
            for item in items:
                case_id = case_of[item["series_instance_uid"]]
                if case_id not in truths:
                    series = generate_case(calibration.case(case_id))
                    truths[case_id] = CaseTruth.from_phantom(
                        series, case_id=case_id, categories={"grade": GRADES[case_id]}
                    )
                for payload in simulate_annotations(profile, truths[case_id], guideline):
                    saved = client.post(f"/api/tasks/{item['id']}/annotations", json=payload)
                    assert saved.status_code == 201, saved.text
                done = client.post(f"/api/tasks/{item['id']}/complete")
                assert done.status_code == 200, done.text


def test_calibration_report_and_rereview(
    consortium: tuple[CoordinatorProcess, dict[str, NodeProcess]],
) -> None:
    coordinator, nodes = consortium
    published = httpx.post(
        f"{coordinator.url}/api/v1/guidelines", json=CHEST, headers=admin(coordinator), timeout=30
    )
    assert published.status_code == 201, published.text
    released = httpx.post(
        f"{coordinator.url}/api/v1/calibration",
        json=CALIBRATION,
        headers=admin(coordinator),
        timeout=60,
    )
    assert released.status_code == 201, released.text
    calibration = CalibrationSet.from_json(CALIBRATION)

    def take_part(site: str) -> None:
        """Sync, fetch and verify the set, annotate it, upload the annotations (one site)."""
        node = nodes[site]
        data_dir = str(node.data_dir)
        assert "loaded chest@1.0" in ok(node_cli("guideline", "sync", "--data-dir", data_dir))
        fetched = ok(
            node_cli(
                "calibration",
                "fetch",
                "--data-dir",
                data_dir,
                "--readers",
                ",".join(READERS),
                "--reviewers",
                "rita",
                "--readers-per-task",
                "3",
            )
        )
        assert "calibration set chest-cal-1: 3 case(s)" in fetched
        annotate(node, site, calibration)
        uploaded = ok(
            node_cli("calibration", "upload", "--data-dir", data_dir, "--set", "chest-cal-1")
        )
        assert "of 3 reader(s)" in uploaded

    with ThreadPoolExecutor(max_workers=len(SITES)) as pool:  # the sites work side by side
        for done in [pool.submit(take_part, site) for site in SITES]:
            done.result()

    report = httpx.get(
        f"{coordinator.url}/api/v1/harmonization/chest", headers=admin(coordinator), timeout=60
    )
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["flagged_labels"] == ["lesion"]
    assert body["sites_below_target"] == {"site-b": ["lesion"]}
    lesion = next(label for label in body["labels"] if label["label"] == "lesion")
    sites = lesion["cross_site"]["sites"]
    assert sites["site-a"]["within"]["value"] > 0.8 > sites["site-b"]["within"]["value"]
    assert set(sites["site-b"]["readers"]) == {"r1", "r2", "r3"}
    csv_text = httpx.get(
        f"{coordinator.url}/api/v1/harmonization/chest",
        params={"format": "csv"},
        headers=admin(coordinator),
        timeout=60,
    ).text
    assert "calibration_within_site,site-b" in csv_text

    revised = json.loads(json.dumps(CHEST))
    revised["version"] = "1.1"
    revised["labels"][0]["boundary_rules"] = "follow the visible edge; exclude vessels"
    published = httpx.post(
        f"{coordinator.url}/api/v1/guidelines", json=revised, headers=admin(coordinator), timeout=30
    )
    assert published.status_code == 201, published.text
    diff = httpx.get(
        f"{coordinator.url}/api/v1/guidelines/chest/diff",
        params={"from": "1.0", "to": "1.1"},
        headers=admin(coordinator),
        timeout=30,
    ).json()
    assert diff["rereview_labels"] == ["lesion"]

    node = nodes["site-b"]
    data_dir = str(node.data_dir)
    assert "loaded chest@1.1" in ok(node_cli("guideline", "sync", "--data-dir", data_dir))
    upgraded = ok(
        node_cli(
            "project",
            "upgrade",
            "--data-dir",
            data_dir,
            "--project",
            "calibration-chest-cal-1",
            "--guideline",
            "chest@1.1",
        )
    )
    # every reader part holding a lesion mask (an eroding reader may have drawn none)
    sent = re.search(r"labels changed in meaning: lesion; 3 task\(s\), (\d+) reader part", upgraded)
    assert sent is not None, upgraded
    with login(node, "rita") as rita:
        queue = rita.get("/api/review/rereview")
        assert queue.status_code == 200, queue.text
        items = queue.json()["items"]
    assert len(items) == int(sent.group(1)) >= 3
    assert {item["reader"] for item in items} >= {"alice", "carol"}
    assert all(item["reason"].startswith("re-review: guideline chest@1.1") for item in items)
