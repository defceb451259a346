"""The viewer in Chromium: wheel scrolling, window/level by right-drag and presets, zoom, MPR."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import ui
from tests.e2e.conftest import KEYBOARD_READER, Shots, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]


def _viewer(page: Any, expression: str) -> Any:
    return page.evaluate(f"() => window.harmoniaViewer.viewer.{expression}")


def test_scroll_window_zoom_and_reformat_a_series(page: Any, stack: Stack, shots: Shots) -> None:
    ui.login(page, stack.node.url, KEYBOARD_READER)
    page.goto(f"{stack.node.url}/ui/#/series/{stack.series.study}/{stack.series.series}")
    ui.wait_for_image(page)
    page.get_by_role("heading", name="Series viewer").wait_for(state="attached")
    centre = ui.to_screen(page, 128, 128)
    page.mouse.move(*centre)

    page.mouse.wheel(0, 100)
    page.wait_for_function("() => window.harmoniaViewer.viewer.index === 1")
    page.mouse.wheel(0, -100)
    page.wait_for_function("() => window.harmoniaViewer.viewer.index === 0")

    page.get_by_label("Window preset").select_option("lung")
    assert _viewer(page, "cache.windowKey") == "preset=lung"
    page.wait_for_timeout(300)
    shots(page, "lung-window")

    page.mouse.down(button="right")
    page.mouse.move(centre[0] + 80, centre[1] + 40, steps=5)
    page.mouse.up(button="right")
    window = _viewer(page, "window")
    assert window["width"] > 1500 and window["center"] < -600  # wider, lower than lung
    assert page.get_by_label("Window preset").input_value() == "custom"
    assert "W " in page.locator(".viewer-readout").inner_text()

    page.get_by_label("Window preset").select_option("")  # back to the file's own window
    assert _viewer(page, "window") is None
    page.mouse.down(button="right")
    page.mouse.move(centre[0] - 40, centre[1] - 20, steps=5)
    page.mouse.up(button="right")
    page.wait_for_function("() => window.harmoniaViewer.viewer.window !== null")
    from_file = _viewer(page, "window")
    assert from_file["width"] >= 1 and page.locator(".viewer-readout").inner_text().count("W ") == 1

    page.keyboard.down("Control")
    page.mouse.wheel(0, -100)
    page.keyboard.up("Control")
    assert _viewer(page, "viewport.zoom") > 1
    page.keyboard.press("0")
    assert _viewer(page, "viewport.zoom") == 1
    page.keyboard.press("+")
    assert _viewer(page, "viewport.zoom") == pytest.approx(1.25)
    shots(page, "custom-window-zoomed")

    page.keyboard.press("PageDown")
    page.wait_for_function("() => window.harmoniaViewer.viewer.index === 10")
    page.keyboard.press("Shift+C")
    page.wait_for_function("() => window.harmoniaViewer.viewer.source.name === 'coronal'")
    page.wait_for_function("() => window.harmoniaViewer.viewer.viewport.image !== null")
    assert _viewer(page, "source.count") == 256  # one coronal slice per row of the 256x256 CT
    page.get_by_label("Sagittal").check()
    page.wait_for_function("() => window.harmoniaViewer.viewer.source.name === 'sagittal'")
    page.wait_for_function("() => window.harmoniaViewer.viewer.viewport.image !== null")
    page.wait_for_timeout(300)
    shots(page, "sagittal")
    page.get_by_label("Axial").check()
    page.wait_for_function("() => window.harmoniaViewer.viewer.source.name === 'axial'")
    assert _viewer(page, "index") == 10  # back on the axial slice the reader left
