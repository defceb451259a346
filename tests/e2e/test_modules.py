"""The viewer's pure modules, run in Chromium, agree with the Python side of the contract."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from shared.formats.rle import rle_decode, rle_encode
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _module(page: Any, stack: Stack) -> None:
    page.goto(f"{stack.node.url}/ui/#/login")  # the UI's origin and CSP; no sign-in needed
    page.get_by_label("Username").wait_for()


def test_brush_rle_matches_the_nodes_rle_both_ways(page: Any, stack: Stack) -> None:
    _module(page, stack)
    rng = np.random.default_rng(4)
    mask = rng.random((37, 53)) > 0.7
    mask[0, 0] = True  # a mask that starts with foreground: first count is 0
    from_js = page.evaluate(
        """async ([flat, rows, cols]) => {
          const { encode } = await import('/ui/viewer/rle.js');
          return encode(Uint8Array.from(flat), rows, cols);
        }""",
        [mask.astype(int).ravel().tolist(), 37, 53],
    )
    assert from_js == {"size": [37, 53], "counts": list(rle_encode(mask)["counts"])}
    assert np.array_equal(rle_decode(from_js), mask)
    decoded = page.evaluate(
        """async (rle) => {
          const { decode } = await import('/ui/viewer/rle.js');
          return Array.from(decode(rle));
        }""",
        {"size": [37, 53], "counts": list(rle_encode(mask)["counts"])},
    )
    assert np.array_equal(np.array(decoded, dtype=bool).reshape(37, 53), mask)


def test_window_presets_match_the_node_and_the_drag_preview_is_exact_inside_the_window(
    page: Any, stack: Stack
) -> None:
    from node.dicom.windowing import PRESETS

    _module(page, stack)
    presets = page.evaluate(
        "async () => (await import('/ui/viewer/windowing.js')).PRESETS"
        ".map((p) => [p.name, p.center, p.width])"
    )
    assert {name: (c, w) for name, c, w in presets} == {
        preset.value: (window.center, window.width) for preset, window in PRESETS.items()
    }
    table = page.evaluate(
        """async () => { const w = await import('/ui/viewer/windowing.js');
           return Array.from(w.remapTable({center: 40, width: 400}, {center: 40, width: 400})); }"""
    )
    assert table == list(range(256))
