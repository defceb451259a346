"""The coordinator dashboard in headless Chromium against a real ``harmonia-coordinator serve``.

The consortium behind it is built the way it happens in production, only
with the nodes' parts done in this process: four sites registered through the
admin API, three of them enrolled with locally made keys and CSRs; one posts a
health report and two upload calibration annotations over the real mutual-TLS
site listener; a statistics round runs the real ServerApp round and the real
ClientApp (node.stats on three real node stores) over a loopback grid, and is
stored as ``round stats`` stores it. The browser then signs in with the admin
token, reads the sites, authors a guideline version (an invalid draft first,
then a valid one), publishes it, compares versions, opens the stored round and
the harmonization report with its charts. Screenshots go to
``tests/e2e/artifacts`` (the coordinator guide shows them).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from coordinator.models import RunStatus
from coordinator.rounds import RoundStore, harmonization_result
from coordinator.runtime import open_coordinator
from coordinator.settings import CoordinatorSettings
from node.consortium import Membership, consortium_dir
from shared.calibration import CalibrationSet, generate_case
from shared.crypto import load_public_key, verify
from shared.schemas import Guideline
from shared.simulation import CaseTruth, ReaderHabits, ReaderProfile, simulate_annotations
from tests.e2e.conftest import Shots
from tests.e2e.ui import horizontal_overflow as ui_overflow
from tests.support.coordinator_process import CoordinatorProcess, running_coordinator
from tests.support.stats_sites import EXAMPLE, PLANS, PROJECT, prepare_site, write_policy
from tests.support.virtual_sites import SiteCredentials, enroll_site, site_client

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SITES = {"hospital-a": "a", "hospital-b": "b", "hospital-c": "c"}
PENDING = "hospital-d"
CALIBRATION: dict[str, Any] = {
    "set_id": "lung-cal-1",
    "title": "Lung nodule calibration",
    "guideline": {"name": "lung-nodule", "version": "1.0"},
    "cases": [
        {"case_id": f"c{i}", "rows": 64, "columns": 64, "slices": 10, "seed": 40 + i}
        for i in range(3)
    ],
}
CATEGORIES = {"c0": "2", "c1": "3", "c2": "4A"}


@dataclass(frozen=True)
class Consortium:
    coordinator: CoordinatorProcess
    round_id: str
    signing_key_pem: str


def _readers(site: str) -> list[ReaderProfile]:
    if site == "hospital-a":  # careful readers
        return [
            ReaderProfile(f"r{i}", seed=i, habits=[ReaderHabits(boundary_noise_mm=0.3)])
            for i in (1, 2)
        ]
    return [  # one reader over-segments the nodule, one under-segments it
        ReaderProfile("r1", seed=21, habits=[ReaderHabits(dilation_mm=4.0)]),
        ReaderProfile("r2", seed=22, habits=[ReaderHabits(dilation_mm=-2.0)]),
    ]


def _calibration_upload(site: str, guideline: Guideline) -> dict[str, Any]:
    calibration = CalibrationSet.from_json(CALIBRATION)
    items = []
    for case in calibration.cases:
        truth = CaseTruth.from_phantom(
            generate_case(case),
            case_id=case.case_id,
            categories={"lung-rads": CATEGORIES[case.case_id]},
        )
        for profile in _readers(site):
            for annotation in simulate_annotations(profile, truth, guideline):
                items.append(
                    {"case": case.case_id, "reader": profile.reader, "annotation": annotation}
                )
    return {
        "calibration_set": calibration.set_id,
        "guideline": {"name": guideline.name, "version": guideline.version},
        "annotations": items,
    }


def _stored_round(coordinator: CoordinatorProcess, root: Path) -> str:
    """Run a real statistics round in this process and store it as ``round stats`` does."""
    from coordinator.serverapp.app import run_round
    from node.clientapp import app as client_app
    from tests.support.loopback_grid import LoopbackGrid

    nodes = {}
    registry = {}
    for index, (site, plan) in enumerate(SITES.items(), start=1):
        data_dir = root / "nodes" / site
        prepare_site(data_dir, PLANS[plan], seed=index)
        write_policy(data_dir, epsilon=20.0, delta=1e-4)
        folder = consortium_dir(data_dir)
        folder.mkdir(exist_ok=True)
        membership = Membership(site, "http://x", "https://x", "127.0.0.1:9092", "1", "", "")
        (folder / "enrollment.json").write_text(json.dumps(membership.to_json()))
        nodes[index] = (client_app, {"data-path": str(data_dir), "site": site})
        registry[site] = {"node_id": index}
    (root / "registry.json").write_text(json.dumps(registry))
    round_id = "stats-e2e-1"
    result = run_round(
        LoopbackGrid(nodes),
        {
            "project": PROJECT,
            "round-id": round_id,
            "registry-path": str(root / "registry.json"),
            "reply-timeout-s": 60.0,
            "secagg-timeout-s": 60.0,
            "noise-multiplier": 2.0,
            "delta": 1e-6,
            "seed": 5,
        },
    )
    assert sorted(result["answered"]) == sorted(SITES), result
    result["total_wall_time_s"] = result["wall_time_s"]
    RoundStore(coordinator.data_dir).save(result)
    harmonized = harmonization_result(result)
    assert harmonized is not None
    settings = CoordinatorSettings(data_dir=coordinator.data_dir, fsync=False)
    with open_coordinator(settings) as runtime:
        runtime.round_results.add(harmonized)
    return round_id


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    root = tmp_path_factory.mktemp("coordinator-e2e")
    with running_coordinator(root / "coordinator") as coordinator:
        admin = httpx.Client(
            base_url=coordinator.url,
            timeout=120,
            headers={"Authorization": f"Bearer {coordinator.token}"},
        )
        with admin:
            guideline = Guideline.from_yaml(EXAMPLE.read_text(), source="example")
            published = admin.post(
                "/api/v1/guidelines",
                content=EXAMPLE.read_bytes(),
                headers={"Content-Type": "application/yaml"},
            )
            assert published.status_code == 201, published.text
            credentials: dict[str, SiteCredentials] = {}
            for site in SITES:
                version = None if site == "hospital-c" else "0.1.0"
                credentials[site] = enroll_site(admin, site, root / "pki", software_version=version)
            assert admin.post("/api/v1/sites", json={"name": PENDING}).status_code == 201
            answer = admin.post("/api/v1/calibration", json=CALIBRATION)
            assert answer.status_code == 201, answer.text
        with site_client(credentials["hospital-a"]) as site:
            health = site.post(
                "/api/v1/site/health",
                json={
                    "software_version": "0.1.1",
                    "flwr_version": "1.41.0",
                    "uptime_s": 3600,
                    "counters": {"studies": 11},
                },
            )
            assert health.status_code == 200, health.text
        for site in ("hospital-a", "hospital-b"):
            with site_client(credentials[site]) as client:
                upload = client.post(
                    f"/api/v1/site/calibration/{CALIBRATION['set_id']}/annotations",
                    json=_calibration_upload(site, guideline),
                )
                assert upload.status_code == 200, upload.text
        round_id = _stored_round(coordinator, root)
        yield Consortium(coordinator, round_id, _signing_key(coordinator))


def _signing_key(coordinator: CoordinatorProcess) -> str:
    settings = CoordinatorSettings(data_dir=coordinator.data_dir, fsync=False)
    with open_coordinator(settings) as runtime:
        return runtime.keys.signing_public_key_pem.decode("ascii")


def _shot(shots: Shots, page: Any, name: str) -> Path:
    """A full-page screenshot (the docs show whole pages)."""
    shots.count += 1
    path = shots.folder / f"{shots.count:02d}-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _sign_in(page: Any, url: str, token: str) -> None:
    page.goto(f"{url}/ui/")
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#logout").wait_for(state="visible")
    page.wait_for_function("() => !window.location.hash.startsWith('#/login')")


def _draft(version: str, definition: str) -> str:
    document = yaml.safe_load(EXAMPLE.read_text())
    document["version"] = version
    for label in document["labels"]:
        if label["name"] == "lung-rads":
            label["definition"] = definition
    return yaml.safe_dump(document, sort_keys=False)


def test_an_admin_runs_the_harmonization_loop_in_the_dashboard(
    page: Any, consortium: Consortium, shots: Shots
) -> None:
    coordinator = consortium.coordinator
    page.goto(f"{coordinator.url}/")
    page.get_by_label("Admin token").wait_for()
    assert "#/login" in page.url
    _shot(shots, page, "sign-in")
    _sign_in(page, coordinator.url, coordinator.token)
    # The token is gone from the page; the session cookie is HttpOnly.
    assert page.evaluate("() => document.cookie") == ""
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0
    assert coordinator.token not in page.url

    # Sites: status, last seen, version, reported privacy charges; unknowns said so.
    page.locator("#sites-summary").wait_for()
    summary = page.locator("#sites-summary").inner_text()
    assert "4 site(s): 3 enrolled, 1 waiting to enroll" in summary
    rows = {
        row.locator("td").first.inner_text(): row.inner_text()
        for row in page.locator("section table tbody tr").all()
    }
    assert "0.1.1 (health report" in rows["hospital-a"]
    assert "0.1.0 (at enrollment)" in rows["hospital-b"]
    assert "unknown: not reported" in rows["hospital-c"]
    assert "unknown: never called the site API" in rows[PENDING]
    assert "unknown: in no stored round" in rows[PENDING]
    assert re.search(r"1 / 0 / 0", rows["hospital-a"]) and "release(s)" in rows["hospital-a"]
    _shot(shots, page, "sites")
    page.get_by_label("Site name").fill("hospital-e")
    page.get_by_role("button", name="Add site").click()
    token = page.locator("#enrollment-token")
    token.wait_for()
    assert token.inner_text().startswith("hce.hospital-e.")

    # Guidelines: a draft can start from the newest release.
    page.get_by_role("link", name="Guidelines").click()
    page.get_by_role("heading", name="Author a new version").wait_for()
    page.get_by_label("Start from").fill("lung-nodule")
    page.get_by_role("button", name="Start from the newest release of…").click()
    page.wait_for_function(
        "() => document.querySelector('textarea.draft').value.includes('\"lung-nodule\"')"
    )
    assert page.get_by_label("Format").input_value() == "json"

    # An invalid draft is refused field by field, nothing is published.
    page.get_by_label("Format").select_option("yaml")
    broken = _draft("1.1", "x").replace("kind: classification", "kind: grading")
    page.get_by_label("Draft", exact=True).fill(broken)
    page.get_by_role("button", name="Check draft").click()
    problems = page.locator("#draft-result .problems-box")
    problems.wait_for()
    assert "not a valid guideline" in problems.inner_text()
    assert "labels.2.kind" in problems.inner_text()
    assert page.get_by_role("button", name="Publish signed release").is_disabled()
    _shot(shots, page, "guideline-invalid-draft")

    # A valid draft shows what it changes; publishing signs it.
    revised = (
        "Lung-RADS v2022 category of the most suspicious nodule; part-solid nodules by solid part."
    )
    page.get_by_label("Draft", exact=True).fill(_draft("1.1", revised))
    page.get_by_role("button", name="Check draft").click()
    page.locator("#draft-result p.ok").wait_for()
    result_text = page.locator("#draft-result").inner_text()
    assert "Valid: lung-nodule@1.1" in result_text
    assert "Re-review needed on: lung-rads" in result_text
    _shot(shots, page, "guideline-valid-draft")
    page.get_by_role("button", name="Publish signed release").click()
    page.locator("#publish-result").wait_for()
    assert "Published lung-nodule@1.1" in page.locator("#publish-result").inner_text()
    envelope = httpx.get(
        f"{coordinator.url}/api/v1/guidelines/lung-nodule/1.1",
        headers={"Authorization": f"Bearer {coordinator.token}"},
    ).json()
    payload = verify(
        envelope, [load_public_key(consortium.signing_key_pem)], kind="guideline-release"
    )
    assert payload["version"] == "1.1"
    lung_rads = next(label for label in payload["labels"] if label["name"] == "lung-rads")
    assert lung_rads["definition"] == revised

    # The diff between the two versions.
    page.get_by_label("From version").select_option("1.0")
    page.get_by_label("To version").select_option("1.1")
    page.get_by_role("button", name="Compare").click()
    diff = page.locator("#diff-result")
    diff.wait_for()
    assert "lung-nodule: 1.0 → 1.1" in diff.inner_text()
    assert "Label lung-rads — meaning changed" in diff.inner_text()
    diff.scroll_into_view_if_needed()
    _shot(shots, page, "guideline-diff")

    # The stored round.
    page.get_by_role("link", name="Rounds").click()
    page.get_by_role("link", name=f"Open {consortium.round_id}").click()
    page.get_by_role("heading", name=f"Round {consortium.round_id}").wait_for()
    text = page.locator("main").inner_text()
    for site in SITES:
        assert site in text
    assert page.locator("main svg.chart").count() >= 1
    assert "answered" in text and "Pooled figures per label" in text
    _shot(shots, page, "round")

    # The harmonization report of version 1.0, with its charts.
    page.get_by_role("link", name="Report").click()
    page.get_by_label("Version").select_option("1.0")
    page.get_by_role("heading", name="lung-nodule@1.0").wait_for()
    page.locator("section", has_text="Cross-site agreement on calibration cases").wait_for()
    charts = page.locator("main svg.chart")
    titles = [
        str(charts.nth(i).locator("title").first.text_content()) for i in range(charts.count())
    ]
    assert any("within-site agreement per label" in t for t in titles), titles
    assert any("guideline version" in t for t in titles), titles
    assert any("calibration cases" in t for t in titles), titles
    assert any("Agreement between sites" in t for t in titles), titles
    report = page.locator("main").inner_text()
    assert "Sites below target" in report and "hospital-b" in report
    assert page.locator("main .interval").count() >= 1  # 95% interval whiskers drawn
    _shot(shots, page, "report")

    page.locator("#logout").click()
    page.get_by_label("Admin token").wait_for()
    gone = httpx.get(f"{coordinator.url}/api/v1/auth/me")
    assert gone.status_code == 401


def test_a_viewer_reads_but_cannot_author(page: Any, consortium: Consortium) -> None:
    coordinator = consortium.coordinator
    viewer = coordinator.cli("token", "create", "--user", "vera", "--role", "viewer")
    token = re.search(r"hca_\S+", viewer.stdout)
    assert token is not None, viewer.stdout
    _sign_in(page, coordinator.url, token.group(0))
    assert "vera (viewer)" in page.locator("#whoami").inner_text()
    page.get_by_role("link", name="Guidelines").click()
    page.get_by_role("heading", name="Compare versions").wait_for()
    assert page.get_by_role("heading", name="Author a new version").count() == 0
    page.get_by_role("link", name="Sites").click()
    page.locator("#sites-summary").wait_for()
    assert page.get_by_role("heading", name="Add a site").count() == 0
    page.get_by_role("link", name="Training").click()
    page.get_by_role("heading", name="Training runs").wait_for()
    assert page.get_by_role("heading", name="Start a training run").count() == 0


def test_a_wrong_token_is_refused_with_the_reason(page: Any, consortium: Consortium) -> None:
    page.goto(f"{consortium.coordinator.url}/ui/#/login")
    page.get_by_label("Admin token").fill("hca_not-a-real-token")
    page.get_by_role("button", name="Sign in").click()
    banner = page.locator("#error-banner")
    banner.wait_for(state="visible")
    assert "unknown admin token" in banner.inner_text()
    assert page.locator("#logout").is_hidden()


def _progress_entry(round_number: int) -> dict[str, Any]:
    """A round's progress entry as the training ServerApp writes it (clear path, 3 sites)."""
    return {
        "round": round_number,
        "answered": ["hospital-a", "hospital-b"],
        "refused": {"hospital-c": "BudgetExceeded: epsilon 8.0 would be exceeded"},
        "missing": [],
        "examples": {"hospital-a": 40, "hospital-b": 32},
        "bytes": {"hospital-a": 52_100, "hospital-b": 52_100},
        "privacy": {"hospital-a": [{"epsilon": 0.9, "delta": 1e-5, "mechanism": "dpsgd-rdp"}]},
        "train_loss": 0.9 / round_number,
        "evaluation_of_received": {
            "pooled": {"dice": 0.3 + 0.2 * round_number, "loss": 0.8 / round_number, "count": 9}
        },
        "aggregated": True,
        "wall_s": 8.4,
    }


def test_an_admin_follows_a_training_run_in_the_dashboard(
    page: Any, consortium: Consortium, shots: Shots
) -> None:
    """A run recorded the way the follower records it, refreshed while it runs; starting a run
    on a coordinator without its SuperLink is refused with the reason."""
    coordinator = consortium.coordinator
    settings = CoordinatorSettings(data_dir=coordinator.data_dir, fsync=False)
    run_dir = coordinator.data_dir / "flower" / "runs" / "train-e2e-1"
    run_dir.mkdir(parents=True)
    (run_dir / "owner.json").write_text(json.dumps({"pid": os.getpid(), "started_by": "e2e"}))
    plan = {"name": "lesion-seg", "task": "segmentation", "labels": ["lesion"]}
    config = {"project": "lesions", "aggregation": "fedavg", "min-sites": 2}
    with open_coordinator(settings) as runtime:
        runtime.models.start_run(
            "train-e2e-1",
            model="lesion-seg",
            plan=plan,
            config={**config, "run-dir": str(run_dir)},
            rounds=3,
        )
        runtime.models.record_round("train-e2e-1", _progress_entry(1))

    _sign_in(page, coordinator.url, coordinator.token)
    training = page.get_by_role("link", name="Training")
    training.focus()
    page.keyboard.press("Enter")  # the keyboard reaches every part of the page
    page.get_by_role("heading", name="Training runs").wait_for()
    assert "train-e2e-1 is in progress" in page.locator("#run-in-progress").inner_text()

    # the start form: a coordinator without --flower refuses with the reason, nothing starts
    page.get_by_label("Project").fill("lesions")
    page.get_by_label("Rounds").fill("1")
    page.get_by_label("Project").press("Enter")
    banner = page.locator("#error-banner")
    banner.wait_for(state="visible")
    assert "serve --flower" in banner.inner_text()
    _shot(shots, page, "training-start-refused")
    assert ui_overflow(page) <= 0

    # the run in progress, round by round; the page follows it without a reload
    page.get_by_role("link", name="Open train-e2e-1").click()
    page.get_by_role("heading", name="Training run train-e2e-1").wait_for()
    status = page.locator("#run-status")
    page.wait_for_function(  # the heading comes first, the run's record with the next fetch
        "() => document.querySelector('#run-status').textContent"
        ".includes('Running: 1 of 3 round(s) done')"
    )
    with open_coordinator(settings) as runtime:
        runtime.models.record_round("train-e2e-1", _progress_entry(2))
    page.wait_for_function(
        "() => document.querySelector('#run-status').textContent.includes('2 of 3')"
    )
    rows = page.locator("section", has_text="Progress per round").locator("tbody tr")
    assert rows.count() == 2
    first = rows.nth(0).inner_text()
    assert "hospital-a, hospital-b" in first
    assert "hospital-c (BudgetExceeded: epsilon 8.0 would be exceeded)" in first  # and why
    assert "0.50" in first and "101.8 KiB" in first  # Dice of round 1, the bytes released
    charts = page.locator("main svg.chart")
    titles = [str(charts.nth(i).locator("title").first.text_content()) for i in range(2)]
    assert titles == ["Evaluation per round", "Loss per round"]
    with open_coordinator(settings) as runtime:
        runtime.models.record_round("train-e2e-1", _progress_entry(3))
        runtime.models.end_run("train-e2e-1", RunStatus.COMPLETED, model_version=1)
    page.wait_for_function(
        "() => document.querySelector('#run-status').textContent.startsWith('Completed')"
    )
    assert "registered as lesion-seg v1" in status.inner_text()
    assert page.locator("section", has_text="Progress per round").locator("tbody tr").count() == 3
    assert ui_overflow(page) <= 0
    _shot(shots, page, "training-run")
