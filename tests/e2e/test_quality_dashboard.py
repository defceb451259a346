"""The quality dashboard in Chromium: charts as accessible SVG, tables, findings, exports.

Three readers read three phantom series through the HTTP API (masks and Lung-RADS
categories, one reader wandering off); a reviewer opens ``#/dashboard/quality`` and
sees every chart with its title and description, the data tables, the finding about
the wandering reader and working CSV export links. A screenshot is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml

from shared.formats.rle import rle_encode
from tests.e2e.stack import (
    PASSWORD,
    admin_client,
    artifacts_dir,
    create_user,
    launch_chromium,
    stow_phantom,
)
from tests.e2e.ui import login
from tests.support.node_process import NodeProcess, running_node

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
GUIDELINE = REPO / "docs" / "examples" / "guideline-lung-nodule.yaml"
SIZE = 64
PLAN = [  # per series: each reader's disc shift and Lung-RADS category
    {"ann": (0, "2"), "ben": (1, "2"), "cleo": (12, "4A")},
    {"ann": (0, "3"), "ben": (1, "3"), "cleo": (-12, "1")},
    {"ann": (1, "4A"), "ben": (0, "4A"), "cleo": (11, "4A")},
]


def _session(node: NodeProcess, username: str) -> dict[str, str]:
    answer = httpx.post(
        f"{node.url}/api/auth/login", json={"username": username, "password": PASSWORD}
    )
    answer.raise_for_status()
    return {
        "Cookie": f"harmonia_session={answer.cookies['harmonia_session']}",
        "X-CSRF-Token": answer.json()["csrf_token"],
    }


def _disc(shift: int) -> dict[str, Any]:
    yy, xx = np.mgrid[:SIZE, :SIZE]
    inside = (xx - 32 - shift) ** 2 + (yy - 32) ** 2 <= 100
    return dict(rle_encode(inside))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    with running_node(tmp_path_factory.mktemp("quality") / "node") as running:
        for seed in range(len(PLAN)):
            stow_phantom(running, slices=3, size=SIZE, seed=40 + seed)
        for reader in PLAN[0]:
            create_user(running, reader, "annotator")
        create_user(running, "rhea", "reviewer")
        with admin_client(running) as admin:
            admin.post(
                "/api/guidelines",
                content=GUIDELINE.read_bytes(),
                headers={"Content-Type": "application/yaml"},
            ).raise_for_status()
            guideline = yaml.safe_load(GUIDELINE.read_text())
            admin.post(
                "/api/projects",
                json={
                    "name": "quality",
                    "guideline": {"name": guideline["name"], "version": guideline["version"]},
                    "query": {"modality": "CT"},
                    "readers_per_task": 3,
                    "readers": list(PLAN[0]),
                },
            ).raise_for_status()
        sessions = {reader: _session(running, reader) for reader in PLAN[0]}
        with httpx.Client(base_url=running.url, timeout=60) as client:
            tasks = client.get("/api/worklist", headers=sessions["ann"]).json()["tasks"]
            for task, plan in zip(sorted(t["id"] for t in tasks), PLAN, strict=True):
                for reader, (shift, category) in plan.items():
                    for payload in (
                        {
                            "label": "nodule-mask",
                            "kind": "mask",
                            "confidence": 4,
                            "geometry": {"slices": {"1": _disc(shift)}},
                        },
                        {
                            "label": "lung-rads",
                            "kind": "classification",
                            "confidence": 3,
                            "geometry": {"value": category},
                        },
                    ):
                        client.post(
                            f"/api/tasks/{task}/annotations", json=payload, headers=sessions[reader]
                        ).raise_for_status()
                for reader in plan:
                    client.post(
                        f"/api/tasks/{task}/complete", headers=sessions[reader]
                    ).raise_for_status()
        yield running


def test_dashboard_shows_accessible_charts_tables_and_findings(node: NodeProcess) -> None:
    shots = artifacts_dir(Path(__file__).resolve().parent / "artifacts")
    errors: list[str] = []
    with playwright_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.on("pageerror", lambda error: errors.append(str(error)))
        login(page, node.url, "rhea")
        page.get_by_role("link", name="Dashboard").click()
        page.get_by_role("link", name="quality").click()
        page.get_by_role("heading", name="Agreement per label").wait_for()
        charts = page.locator("svg[role='img']")
        assert charts.count() == 3  # bars, heat map, lines
        for i in range(charts.count()):
            chart = charts.nth(i)
            labelled = chart.get_attribute("aria-labelledby") or ""
            title_id, desc_id = labelled.split()
            assert page.locator(f"#{title_id}").text_content()
            assert page.locator(f"#{desc_id}").text_content()
        assert page.get_by_role("img", name="Agreement per label against its target").is_visible()
        assert page.locator("table").count() >= 6
        page.get_by_text("cleo agrees").first.wait_for()
        sections = page.locator(".dashboard section")
        for i in range(sections.count()):
            sections.nth(i).screenshot(path=str(shots / f"quality-dashboard-{i}.png"))
        href = page.get_by_role("link", name="Labels (CSV)").get_attribute("href")
        assert href is not None
        answer = page.request.get(f"{node.url}{href}")
        assert answer.status == 200 and answer.text().startswith("label,kind,guideline_version")
        page.get_by_label("Drift windows").select_option("week")
        page.get_by_role("heading", name="Agreement over time (by week)").wait_for()
        browser.close()
    assert errors == []
