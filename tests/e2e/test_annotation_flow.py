"""The annotation flow in headless Chromium, as the issue lists it:

1. log in and open a task;
2. draw a box, a polygon and a brush stroke, and set a classification;
3. save, reload, and see them all;
4. a second reader annotates the same task differently;
5. the task lands in adjudication, and the adjudicator resolves it.

A screenshot is kept at each step (tests/e2e/artifacts/ or $HARMONIA_TEST_ARTIFACTS).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.e2e import ui
from tests.e2e.conftest import ADJUDICATOR, READERS, Shots, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]


def _open_my_task(page: Any, stack: Stack) -> None:
    page.goto(f"{stack.node.url}/ui/#/worklist?project={stack.flow_project}")
    page.get_by_role("link", name="Open task").first.click()
    ui.wait_for_image(page)


def _annotate(
    page: Any,
    *,
    box: tuple[float, float, float, float],
    polygon: list[tuple[float, float]],
    stroke: list[tuple[float, float]],
    category: str,
) -> None:
    page.keyboard.press("b")
    x0, y0, x1, y1 = box
    ui.drag(page, [(x0, y0), (x1, y1)])
    page.keyboard.press("p")
    for point in polygon:
        ui.click(page, *point)
    page.keyboard.press("Enter")
    page.keyboard.press("m")
    ui.drag(page, stroke)
    page.get_by_label("lung-rads (required)").select_option(category)


def test_two_readers_disagree_and_the_adjudicator_resolves(
    page: Any, stack: Stack, shots: Shots
) -> None:
    url = stack.node.url
    first, second = READERS

    # 1. log in and open a task
    ui.login(page, url, first)
    page.get_by_role("heading", name="My worklist").wait_for()
    shots(page, "worklist")
    _open_my_task(page, stack)
    page.keyboard.press("PageDown")  # to slice 11 of 12; the drawing lands there
    page.wait_for_function("() => window.harmoniaViewer.viewer.index === 10")
    assert ui.save_state(page) == "Saved"
    shots(page, "task-opened")

    # 2. draw a box, a polygon and a brush stroke, and set a classification
    _annotate(
        page,
        box=(60, 60, 120, 110),
        polygon=[(140, 60), (200, 70), (190, 130), (150, 120)],
        stroke=[(70, 170), (100, 180), (130, 175)],
        category="3",
    )
    page.keyboard.press("3")  # confidence of the selected annotation (the classification)
    assert ui.save_state(page) == "Unsaved changes"
    drawn = ui.items(page)
    assert sorted(i["kind"] for i in drawn) == ["box", "classification", "mask", "polygon"]
    shots(page, "drawn")

    # 3. save, reload, and see them all
    page.keyboard.press("Control+s")
    page.wait_for_function("() => document.getElementById('save-state').textContent === 'Saved'")
    shots(page, "saved")
    page.reload()
    ui.wait_for_image(page)
    reloaded = ui.items(page)
    assert sorted(i["kind"] for i in reloaded) == ["box", "classification", "mask", "polygon"]
    mask = next(i for i in reloaded if i["kind"] == "mask")
    assert mask["geometry"]["slices"] == ["10"]
    box = next(i for i in reloaded if i["kind"] == "box")
    assert box["geometry"]["slice"] == 10
    assert abs(box["geometry"]["x0"] - 60) < 1.5 and abs(box["geometry"]["y1"] - 110) < 1.5
    assert page.get_by_label("lung-rads (required)").input_value() == "3"
    listed = page.get_by_role("list", name="My annotations").inner_text()
    for label in ("nodule-box", "nodule-mask", "lung-rads", "polygon"):
        assert label in listed or label == "polygon"
    page.keyboard.press("PageDown")
    page.wait_for_function("() => window.harmoniaViewer.viewer.index === 10")
    page.wait_for_timeout(300)
    shots(page, "reloaded")
    # a second revision of the box, and its history
    page.get_by_role("list", name="My annotations").get_by_role(
        "button", name=re.compile("^nodule-box")
    ).click()
    page.keyboard.press("4")
    page.keyboard.press("Control+s")
    page.wait_for_function("() => document.getElementById('save-state').textContent === 'Saved'")
    page.get_by_role("button", name="History").click()
    page.get_by_role("list", name="Revisions").get_by_text(f"r2 · {first}").wait_for()
    page.get_by_text(re.compile(r"confidence: null → 4")).wait_for()
    shots(page, "history")
    page.get_by_role("button", name="Mark task done").click()
    page.get_by_role("heading", name="My worklist").wait_for()
    shots(page, "first-reader-done")
    ui.logout(page)

    # 4. a second reader annotates the same task differently
    ui.login(page, url, second)
    _open_my_task(page, stack)
    assert ui.items(page) == []  # blinded: the first reader's work is not shown
    page.keyboard.press("Home")
    _annotate(
        page,
        box=(10, 150, 40, 200),
        polygon=[(20, 20), (50, 20), (40, 50)],
        stroke=[(200, 200), (220, 220)],
        category="4B",
    )
    shots(page, "second-reader-drawn")
    page.get_by_role("button", name="Mark task done").click()  # saves first, then completes
    page.get_by_role("heading", name="My worklist").wait_for()
    shots(page, "second-reader-done")
    ui.logout(page)

    # 5. the task lands in adjudication, and the adjudicator resolves it
    ui.login(page, url, ADJUDICATOR)
    page.get_by_role("link", name="Adjudication").click()
    page.get_by_role("heading", name="Adjudication queue").wait_for()
    shots(page, "adjudication-queue")
    page.locator("ul.queue a").first.click()
    ui.wait_for_image(page)
    page.get_by_role("region", name="Agreement").get_by_text("below").first.wait_for()
    page.get_by_role("button", name=f"Accept {first}'s annotations").click()
    assert sorted(i["kind"] for i in ui.items(page)) == ["box", "classification", "mask", "polygon"]
    page.keyboard.press("ArrowDown")  # the readers' viewers follow the final one
    indices = page.evaluate(
        "() => [...document.querySelectorAll('.viewer input[type=range]')].map((r) => r.value)"
    )
    assert len(set(indices)) == 1 and len(indices) == 3
    shots(page, "adjudication-side-by-side")
    assert ui.horizontal_overflow(page) <= 0
    page.get_by_role("button", name="Resolve with the final annotations").click()
    page.locator(".resolved").wait_for()
    shots(page, "resolved")
    task_id = int(page.evaluate("() => window.location.hash.split('/').pop()") or 0) or None

    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {stack.node.token}"}
    ) as client:
        tasks = client.get("/api/adjudication/queue").json()["tasks"]
        assert tasks == []
        if task_id:
            consensus = client.get(f"/api/tasks/{task_id}/consensus").json()
            assert consensus["status"] == "consensus"
