"""Brush masks across slices: key slices painted in the browser, interpolated by the node."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import ui
from tests.e2e.conftest import MASK_READER, Shots, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]


def test_key_slices_are_interpolated_on_save_and_the_eraser_removes_paint(
    page: Any, stack: Stack, shots: Shots
) -> None:
    ui.login(page, stack.node.url, MASK_READER)
    page.get_by_role("link", name="Open task").first.click()
    ui.wait_for_image(page)
    page.keyboard.press("m")
    page.keyboard.press("]")
    page.keyboard.press("]")
    ui.drag(page, [(100, 100), (120, 104), (140, 100)])
    for _ in range(4):
        page.keyboard.press("ArrowDown")
    page.wait_for_function("() => window.harmoniaViewer.viewer.index === 4")
    ui.drag(page, [(106, 104), (126, 108), (146, 104)])
    page.get_by_label("Interpolate key slices").check()
    (mask,) = ui.items(page)
    assert sorted(mask["geometry"]["slices"], key=int) == ["0", "4"]
    page.keyboard.press("Control+s")
    page.wait_for_function("() => document.getElementById('save-state').textContent === 'Saved'")
    (mask,) = ui.items(page)
    assert sorted(mask["geometry"]["slices"], key=int) == ["0", "1", "2", "3", "4"]
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    page.wait_for_function("() => window.harmoniaViewer.viewer.index === 2")
    page.wait_for_timeout(200)
    shots(page, "interpolated-slice-3")

    # the eraser wipes the paint of slice 3; undo brings it back
    page.keyboard.press("e")
    page.get_by_role("spinbutton", name="Brush size").fill("30")
    ui.drag(page, [(80, 95), (170, 95), (170, 115), (80, 115)])
    (mask,) = ui.items(page)
    assert "2" not in mask["geometry"]["slices"]
    shots(page, "erased")
    page.keyboard.press("Control+z")
    (mask,) = ui.items(page)
    assert "2" in mask["geometry"]["slices"]
    assert ui.save_state(page) == "Saved"


def test_a_refused_save_shows_the_nodes_reason_and_undo_recovers(
    page: Any, stack: Stack, shots: Shots
) -> None:
    ui.login(page, stack.node.url, MASK_READER)
    page.get_by_role("link", name="Open task").first.click()
    ui.wait_for_image(page)
    page.keyboard.press("p")
    for point in [(60, 60), (120, 120), (120, 60), (60, 120)]:  # a bow tie crosses itself
        ui.click(page, *point)
    page.keyboard.press("Enter")
    page.keyboard.press("Control+s")
    page.wait_for_function(
        "() => document.getElementById('save-state').textContent.startsWith('Save failed')"
    )
    state = ui.save_state(page)
    assert "cross" in state, state
    shots(page, "save-failed")
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+s")
    page.wait_for_function("() => document.getElementById('save-state').textContent === 'Saved'")
