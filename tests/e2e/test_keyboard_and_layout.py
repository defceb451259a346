"""The UI works with the keyboard alone, and fits 1366x768 without horizontal scrolling."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import ui
from tests.e2e.conftest import ADJUDICATOR, KEYBOARD_READER, Shots, Stack
from tests.e2e.stack import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]


def _focused(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => { const e = document.activeElement; const s = getComputedStyle(e);
              return {tag: e.tagName, label: e.getAttribute('aria-label') || e.textContent.trim(),
                      outline: s.outlineStyle, type: e.type || ''}; }"""
        )
    )


def _tab_to(page: Any, predicate: Any, limit: int = 60) -> dict[str, Any]:
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if predicate(focused):
            return focused
    raise AssertionError(f"Tab never reached the control; last focus: {_focused(page)}")


def _count(page: Any, kind: str) -> int:
    return sum(1 for item in ui.items(page) if item["kind"] == kind)


def test_keyboard_alone_signs_in_opens_a_task_and_annotates(
    page: Any, stack: Stack, shots: Shots
) -> None:
    page.goto(f"{stack.node.url}/ui/#/login")
    focused = _tab_to(page, lambda f: f["tag"] == "INPUT" and f["type"] == "text")
    assert focused["outline"] != "none"  # focus is visible
    page.keyboard.type(KEYBOARD_READER)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    focused = _tab_to(page, lambda f: f["label"] == "Sign in", limit=3)
    shots(page, "login-by-keyboard")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="My worklist").wait_for()

    focused = _tab_to(page, lambda f: f["label"].startswith("Open task"))
    assert focused["outline"] != "none"
    shots(page, "worklist-open-focused")
    page.keyboard.press("Enter")
    ui.wait_for_image(page)

    # slices by keys
    page.keyboard.press("End")
    page.wait_for_function("() => window.harmoniaViewer.viewer.index === 11")
    page.keyboard.press("Home")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_function("() => window.harmoniaViewer.viewer.index === 2")

    # a keypoint and a length with the keyboard cursor on the focused image
    _tab_to(page, lambda f: f["tag"] == "CANVAS")
    page.keyboard.press("k")
    assert page.get_by_role("button", name="Keypoint (K)").get_attribute("aria-pressed") == "true"
    for _ in range(5):
        page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Space")
    assert _count(page, "keypoint") == 1
    page.keyboard.press("4")  # confidence of the new keypoint
    assert page.evaluate("() => window.harmoniaViewer.set.items[0].confidence") == 4
    page.keyboard.press("l")
    page.keyboard.press("Space")
    for _ in range(6):
        page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Space")
    assert _count(page, "length") == 1
    length = next(i for i in ui.items(page) if i["kind"] == "length")["geometry"]
    assert length["slice"] == 2 and length["y1"] - length["y0"] == pytest.approx(24, abs=0.2)
    shots(page, "keyboard-drawn")

    # undo / redo, brush size, save
    page.keyboard.press("Control+z")
    assert _count(page, "length") == 0
    page.keyboard.press("Control+Shift+z")
    assert _count(page, "length") == 1
    before = int(page.get_by_role("spinbutton", name="Brush size").input_value())
    page.keyboard.press("]")
    assert int(page.get_by_role("spinbutton", name="Brush size").input_value()) == before + 1
    assert ui.save_state(page) == "Unsaved changes"
    page.keyboard.press("Control+s")
    page.wait_for_function("() => document.getElementById('save-state').textContent === 'Saved'")
    shots(page, "keyboard-saved")
    page.reload()
    ui.wait_for_image(page)
    assert _count(page, "keypoint") == 1 and _count(page, "length") == 1


PAGES_AS_READER = ["#/worklist", "#/task/{task}"]
PAGES_AS_OVERSEER = [
    "#/review",
    "#/adjudication",
    "#/dashboard",
    "#/task/{task}",
    "#/review/{task}?reader=" + KEYBOARD_READER,
    "#/adjudication/{task}",
]


def test_every_screen_fits_1366x768_without_horizontal_scrolling(
    page: Any, stack: Stack, shots: Shots
) -> None:
    assert page.viewport_size == {"width": 1366, "height": 768}
    page.goto(f"{stack.node.url}/ui/#/login")
    page.get_by_label("Username").wait_for()
    assert ui.horizontal_overflow(page) <= 0
    shots(page, "login")
    ui.login(page, stack.node.url, KEYBOARD_READER)
    page.get_by_role("heading", name="My worklist").wait_for()
    href = page.get_by_role("link", name="Open task").first.get_attribute("href")
    task = href.rsplit("/", 1)[-1]
    for user, pages in ((KEYBOARD_READER, PAGES_AS_READER), (ADJUDICATOR, PAGES_AS_OVERSEER)):
        if user != KEYBOARD_READER:
            ui.logout(page)
            ui.login(page, stack.node.url, user)
        for hash_route in pages:
            page.goto(f"{stack.node.url}/ui/{hash_route.format(task=task)}")
            page.locator("main h1").first.wait_for()
            if "{task}" in hash_route:
                ui.wait_for_image(page)
            page.wait_for_timeout(200)
            route_name = hash_route.format(task=task).strip("#/").split("?")[0].replace("/", "-")
            name = f"{user}-{route_name}"
            shots(page, name)
            assert ui.horizontal_overflow(page) <= 0, f"{hash_route} scrolls sideways for {user}"
