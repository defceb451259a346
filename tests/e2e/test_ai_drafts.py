"""AI drafts in Chromium: a real model's proposals shown as drafts, accepted, edited, rejected.

A U-Net is trained in this process on phantoms (tests/support/assist_model.py);
``harmonia-node assist run`` (a real subprocess on the serving node's data
directory) predicts the e2e phantom and stores its drafts. A single reader opens
the task, sees the dashed drafts, edits one with the brush and saves, accepts one
with the A key, rejects one with a reason; the node records each, and the quality
dashboard shows the acceptance rate and the edit Dice. Screenshots are kept for
docs/annotator-guide.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from shared.formats.rle import rle_decode
from tests.e2e import ui
from tests.e2e.conftest import ADJUDICATOR, GUIDELINE_VERSION, Shots, Stack
from tests.e2e.stack import admin_client, create_user
from tests.support.assist_model import train_segmenter

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

READER = "ivy"
PROJECT = "e2e-assist"


@dataclass(frozen=True)
class Drafted:
    task_id: int
    run: dict[str, Any]


@pytest.fixture(scope="module")
def drafted(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drafted]:
    create_user(stack.node, READER, "annotator")
    with admin_client(stack.node) as client:
        created = client.post(
            "/api/projects",
            json={
                "name": PROJECT,
                "guideline": {"name": "lung-nodule", "version": GUIDELINE_VERSION},
                "query": {"modality": "CT"},
                "readers_per_task": 1,
                "readers": [READER],
                "reviewers": [ADJUDICATOR],
            },
        )
        assert created.status_code == 201, created.text
        on = client.put(f"/api/projects/{PROJECT}/assist", json={"preannotation": True})
        assert on.status_code == 200 and on.json()["preannotation"] is True, on.text
    weights = tmp_path_factory.mktemp("model") / "nodule-seg-1.weights"
    weights.write_bytes(train_segmenter())
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "node.cli",
            "assist",
            "run",
            "--data-dir",
            str(stack.node.data_dir),
            "--project",
            PROJECT,
            "--weights",
            str(weights),
            "--boxes-from",
            "nodule-mask:nodule-box",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout.strip().splitlines()[-1])
    assert run["proposals"] >= 3, run
    task_id = run["scores"][0]["task_id"]
    yield Drafted(task_id, run)


def _proposals(stack: Stack, task_id: int) -> list[dict[str, Any]]:
    with admin_client(stack.node) as client:
        answer = client.get(f"/api/tasks/{task_id}/proposals")
        assert answer.status_code == 200, answer.text
        return list(answer.json()["proposals"])


def _centre_and_reach(draft: dict[str, Any]) -> tuple[int, float, float, float]:
    """A mask draft's first key slice, centre (x, y) on it and a point well outside it."""
    slice_ = int(draft["geometry"]["key_slices"][0])
    mask = rle_decode(draft["geometry"]["slices"][str(slice_)])
    ys, xs = np.nonzero(mask)
    return slice_, float(xs.mean()), float(ys.mean()), float(xs.max() + 12)


def _status(page: Any, draft_id: int, status: str) -> None:
    page.locator(f'li.draft[data-draft-id="{draft_id}"][data-status="{status}"]').wait_for()


def test_a_reader_accepts_edits_and_rejects_ai_drafts(
    page: Any, stack: Stack, drafted: Drafted, shots: Shots
) -> None:
    drafts = _proposals(stack, drafted.task_id)
    masks = [d for d in drafts if d["kind"] == "mask"]
    boxes = [d for d in drafts if d["kind"] == "box"]
    assert len(masks) >= 2 and boxes, [(d["label"], d["kind"]) for d in drafts]
    to_edit, to_reject, to_accept = masks[0], masks[1], boxes[0]

    ui.login(page, stack.node.url, READER)
    page.goto(f"{stack.node.url}/ui/#/task/{drafted.task_id}")
    ui.wait_for_image(page)
    page.get_by_role("heading", name="AI drafts").wait_for()
    assert page.locator("li.draft").count() == len(drafts)
    assert page.locator('li.draft[data-status="draft"]').count() == len(drafts)
    # a draft alone is not the reader's annotation
    assert ui.items(page) == []

    # edit: open the draft, copy it into my annotations, paint beyond its edge, save
    page.locator(f'li.draft[data-draft-id="{to_edit["id"]}"] .draft-title').click()
    slice_, cx, cy, outside = _centre_and_reach(to_edit)
    page.wait_for_function(f"() => window.harmoniaViewer.viewer.index === {slice_}")
    page.wait_for_timeout(200)
    shots(page, "ai-drafts-shown")
    page.locator(f'li.draft[data-draft-id="{to_edit["id"]}"] button[data-action="edit"]').click()
    _status(page, to_edit["id"], "editing")
    assert [i["kind"] for i in ui.items(page)] == ["mask"]
    ui.drag(page, [(cx, cy), ((cx + outside) / 2, cy), (outside, cy)])
    shots(page, "ai-draft-edited-with-the-brush")
    page.keyboard.press("Control+s")
    _status(page, to_edit["id"], "edited")

    # accept with the keyboard: focus the box draft, press A
    page.locator(f'li.draft[data-draft-id="{to_accept["id"]}"] .draft-title').click()
    page.locator("canvas").first.focus()
    page.keyboard.press("a")
    _status(page, to_accept["id"], "accepted")

    # reject with a reason
    page.get_by_label("Reason for rejecting").fill("calcified granuloma, not a nodule")
    page.locator(
        f'li.draft[data-draft-id="{to_reject["id"]}"] button[data-action="reject"]'
    ).click()
    _status(page, to_reject["id"], "rejected")
    page.wait_for_timeout(200)
    shots(page, "ai-drafts-resolved")

    # what the node recorded
    resolved = {d["id"]: d for d in _proposals(stack, drafted.task_id)}
    edited = resolved[to_edit["id"]]["resolutions"][0]
    assert edited["outcome"] == "edited" and 0.0 < edited["dice"] < 1.0
    assert resolved[to_accept["id"]]["resolutions"][0]["outcome"] == "accepted"
    rejected = resolved[to_reject["id"]]["resolutions"][0]
    assert rejected == {**rejected, "outcome": "rejected", "annotation_id": None}
    assert rejected["reason"] == "calcified granuloma, not a nodule"
    with admin_client(stack.node) as client:
        task = client.get(f"/api/tasks/{drafted.task_id}").json()
    mine = sorted((a["label"], a["kind"]) for a in task["annotations"] if a["reader"] == READER)
    assert mine == [("nodule-box", "box"), ("nodule-mask", "mask")]

    # the quality dashboard shows the acceptance rate and the edit Dice
    ui.logout(page)
    ui.login(page, stack.node.url, ADJUDICATOR)
    page.goto(f"{stack.node.url}/ui/#/dashboard/{PROJECT}")
    panel = page.locator(
        "section", has=page.get_by_role("heading", name="AI drafts: acceptance and edit size")
    )
    panel.get_by_role("table", name="AI drafts per model version", exact=True).wait_for()
    row = (
        panel.get_by_role("table", name="AI drafts per model version", exact=True)
        .locator("tbody tr")
        .first
    )
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "nodule-seg@1"
    assert cells[1:5] == ["3", "1", "1", "1"]  # decided, accepted, edited, rejected
    assert cells[8] == "33%"  # acceptance rate
    assert 0.0 < float(cells[10]) < 1.0  # mean edit Dice
    panel.get_by_role("img", name="Edit Dice of nodule-seg@1").wait_for()
    panel.scroll_into_view_if_needed()
    shots(page, "dashboard-ai-drafts")
