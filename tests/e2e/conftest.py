"""End-to-end fixtures: a real node with a phantom CT, users, the example guideline, projects;
headless Chromium (Debian's) through Playwright; a screenshot folder per test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.stack import (
    StoredSeries,
    admin_client,
    artifacts_dir,
    create_user,
    launch_chromium,
    stow_phantom,
)
from tests.support.node_process import NodeProcess, running_node

playwright_api = pytest.importorskip("playwright.sync_api")

REPO = Path(__file__).resolve().parents[2]
GUIDELINE = REPO / "docs" / "examples" / "guideline-lung-nodule.yaml"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

READERS = ("alice", "bob")
ADJUDICATOR = "carol"
KEYBOARD_READER = "dave"
MASK_READER = "erin"
REVIEWED_READER = "frank"


GUIDELINE_VERSION = "1.0-e2e"


def e2e_guideline() -> dict[str, Any]:
    """The example lung-nodule guideline plus a polygon label (the flow draws every kind)."""
    guideline = yaml.safe_load(GUIDELINE.read_text())
    guideline["version"] = GUIDELINE_VERSION
    guideline["labels"].append(
        {
            "name": "nodule-outline",
            "kind": "polygon",
            "definition": "The nodule's outline on its largest axial slice.",
            "adjudication_threshold": 0.5,
        }
    )
    return dict(guideline)


@dataclass(frozen=True)
class Stack:
    node: NodeProcess
    series: StoredSeries
    flow_project: str
    keyboard_project: str


def _project(node: NodeProcess, name: str, readers: list[str], reviewers: list[str]) -> Any:
    with admin_client(node) as client:
        answer = client.post(
            "/api/projects",
            json={
                "name": name,
                "guideline": {"name": "lung-nodule", "version": GUIDELINE_VERSION},
                "query": {"modality": "CT"},
                "readers_per_task": len(readers),
                "readers": readers,
                "reviewers": reviewers,
            },
        )
        assert answer.status_code == 201, answer.text
        return answer.json()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_node(tmp_path_factory.mktemp("e2e-node") / "data") as node:
        series = stow_phantom(node, slices=12, size=256, seed=21)
        for name in (*READERS, KEYBOARD_READER, MASK_READER, REVIEWED_READER):
            create_user(node, name, "annotator")
        create_user(node, ADJUDICATOR, "reviewer")
        with admin_client(node) as client:
            loaded = client.post("/api/guidelines", json=e2e_guideline())
            assert loaded.status_code == 201, loaded.text
        _project(node, "e2e-flow", list(READERS), [ADJUDICATOR])
        _project(node, "e2e-keyboard", [KEYBOARD_READER], [ADJUDICATOR])
        _project(node, "e2e-masks", [MASK_READER], [ADJUDICATOR])
        _project(node, "e2e-review", [REVIEWED_READER], [ADJUDICATOR])
        yield Stack(node, series, "e2e-flow", "e2e-keyboard")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope: Playwright's sync API allows one instance at a time, and a test module
    # that starts its own must find none running.
    with playwright_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


class Shots:
    """Numbered screenshots of one test, kept as artifacts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def __call__(self, page: Any, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path))
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    folder = artifacts_dir(ARTIFACTS) / re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return Shots(folder)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
