"""Playwright steps the end-to-end tests share: sign in, wait for the viewer, draw in image
coordinates. Page functions are passed as arrow functions: the UI's CSP forbids eval."""

from __future__ import annotations

from typing import Any

from tests.e2e.stack import PASSWORD


def login(page: Any, url: str, username: str) -> None:
    page.goto(f"{url}/ui/#/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#logout").wait_for(state="visible")
    # the sign-in page then moves on to the worklist: wait, so a later goto is not undone
    page.wait_for_function("() => !window.location.hash.startsWith('#/login')")
    page.locator("main h1").first.wait_for()


def logout(page: Any) -> None:
    page.locator("#logout").click()
    page.get_by_label("Username").wait_for()


def wait_for_image(page: Any) -> None:
    page.wait_for_function(
        "() => window.harmoniaViewer && window.harmoniaViewer.viewer.stats.draws.length > 0"
    )


def to_screen(page: Any, x: float, y: float) -> tuple[float, float]:
    """Page coordinates of image pixel (x, y) in the annotator's viewer."""
    point = page.evaluate(
        """([x, y]) => {
          const vp = window.harmoniaViewer.viewer.viewport;
          const rect = vp.canvas.getBoundingClientRect();
          const o = vp.origin(); const s = vp.scale();
          return [rect.left + o.x + x * s, rect.top + o.y + y * s * vp.aspect];
        }""",
        [x, y],
    )
    return float(point[0]), float(point[1])


def drag(page: Any, points: list[tuple[float, float]]) -> None:
    """Press at the first image point, move through the others, release at the last."""
    first = to_screen(page, *points[0])
    page.mouse.move(*first)
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*to_screen(page, *point), steps=4)
    page.mouse.up()


def click(page: Any, x: float, y: float) -> None:
    page.mouse.click(*to_screen(page, x, y))


def items(page: Any) -> list[dict[str, Any]]:
    """The annotator's items: label, kind, and the slices a mask covers."""
    return list(
        page.evaluate(
            """() => window.harmoniaViewer.set.items.map((i) => ({
                label: i.label, kind: i.kind, geometry: i.kind === 'mask'
                  ? {slices: Object.keys(i.geometry.masks)} : i.geometry }))"""
        )
    )


def save_state(page: Any) -> str:
    return str(page.locator("#save-state").inner_text())


def horizontal_overflow(page: Any) -> int:
    return int(
        page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )
