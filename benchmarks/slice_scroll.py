"""Slice-scroll frame rate of the annotator's viewer in headless Chromium.

A CT phantom (300 slices of 512x512 by default) is stored in a real node by
STOW-RS. Headless Chromium (Debian's) signs in, opens the viewer on the series
and scrolls through every slice with ArrowDown key presses sent at a fixed
rate (30 per second, as a held arrow key repeats, then 60, one per display
frame), each time twice:

* ``baseline``: the viewer with its image cache and prefetch turned off
  (``#/series/...?cache=off``), so every key press fetches the slice from the
  node's ``/rendered`` endpoint and decodes it before it can be drawn;
* ``viewer``: the shipped viewer, which keeps decoded slices and prefetches
  ahead in the direction of travel.

Figures, counted in the page: frames per second in which a new slice was drawn
(requestAnimationFrame frames, from the first key press to the last slice on
screen), the
slices drawn out of those stepped through (a slow viewer skips slices that a
later key press superseded), and key press -> draw latency p50/p95. The ratio
is the viewer's fps over the baseline's, per rate; the top-level ``baseline`` and
``viewer`` figures are the fastest rate's.
Run: ``python benchmarks/slice_scroll.py [--quick]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import emit, percentile, print_table
from playwright.sync_api import Page, sync_playwright

from tests.e2e.stack import PASSWORD, create_user, launch_chromium, stow_phantom
from tests.support.node_process import running_node

USER = "scroller"


def _login(page: Page, url: str) -> None:
    page.goto(f"{url}/ui/#/login")
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#logout:not([hidden])")


def _scroll(
    page: Page, url: str, study: str, series: str, *, cache: bool, rate: float
) -> dict[str, Any]:
    suffix = "" if cache else "?cache=off"
    page.goto("about:blank")  # a fresh page load each time: an empty image cache
    page.goto(f"{url}/ui/#/series/{study}/{series}{suffix}")
    page.wait_for_function(
        "() => window.harmoniaViewer && window.harmoniaViewer.viewer.stats.draws.length > 0"
    )
    page.wait_for_timeout(1000)  # a reader looks at the first slice before scrolling
    count = int(page.evaluate("window.harmoniaViewer.viewer.source.count"))
    page.evaluate(
        "window.harmoniaViewer.viewer.stats.draws = []; window.harmoniaViewer.viewer.canvas.focus()"
    )
    interval = 1.0 / rate
    first_key_ms = float(page.evaluate("() => performance.now()"))
    start = time.perf_counter()
    for step in range(1, count):
        page.keyboard.press("ArrowDown")
        pause = start + step * interval - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    page.wait_for_function(
        "(last) => { const d = window.harmoniaViewer.viewer.stats.draws;"
        " return d.length > 0 && d[d.length - 1].index === last; }",
        arg=count - 1,
        timeout=120_000,
    )
    draws = page.evaluate("window.harmoniaViewer.viewer.stats.draws")
    latencies = [d["drawn"] - d["requested"] for d in draws]
    span_ms = draws[-1]["drawn"] - first_key_ms  # first key press to the last slice drawn
    distinct = len({d["index"] for d in draws})
    return {
        "fps": round(len(draws) / (span_ms / 1000), 1),
        "slices_drawn": distinct,
        "slices_stepped": count - 1,
        "latency_p50_ms": round(percentile(latencies, 50), 1),
        "latency_p95_ms": round(percentile(latencies, 95), 1),
        "scroll_s": round(span_ms / 1000, 2),
    }


def _table(slices: int, size: int, rate: float, runs: dict[str, dict[str, Any]]) -> None:
    rows = [
        [
            name,
            f["fps"],
            f"{f['slices_drawn']}/{f['slices_stepped'] + 1}",
            f["latency_p50_ms"],
            f["latency_p95_ms"],
        ]
        for name, f in runs.items()
    ]
    print_table(
        f"scrolling {slices} slices of {size}x{size} at {rate:g} key presses/s",
        ["viewer", "new-slice fps", "slices drawn", "key->draw p50 ms", "p95 ms"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size: 30 slices of 256x256")
    parser.add_argument(
        "--rates",
        default="30,60",
        help="key presses per second, comma-separated (default 30,60: a held key, one per frame)",
    )
    args = parser.parse_args()
    slices, size = (30, 256) if args.quick else (300, 512)
    rates = [float(r) for r in args.rates.split(",")]

    runs: dict[float, dict[str, dict[str, Any]]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="harmonia-bench-") as tmp,
        running_node(Path(tmp) / "data") as node,
    ):
        stored = stow_phantom(node, slices=slices, size=size, seed=5)
        create_user(node, USER, "annotator")
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                page = browser.new_page(viewport={"width": 1366, "height": 768})
                _login(page, node.url)
                where = (page, node.url, stored.study, stored.series)
                # Warm the node (file cache, the render path) before anything is measured.
                _scroll(*where, cache=False, rate=rates[0])
                for rate in rates:
                    runs[rate] = {
                        "baseline": _scroll(*where, cache=False, rate=rate),
                        "viewer": _scroll(*where, cache=True, rate=rate),
                    }
            finally:
                browser.close()

    for rate, run in runs.items():
        _table(
            slices,
            size,
            rate,
            {
                "baseline (no cache, no prefetch)": run["baseline"],
                "viewer (cache + prefetch)": run["viewer"],
            },
        )
    ratios: dict[str, float] = {}
    for rate, run in runs.items():
        baseline, viewer = run["baseline"], run["viewer"]
        ratios[f"fps_viewer_vs_baseline_{rate:g}hz"] = viewer["fps"] / max(baseline["fps"], 1e-9)
        ratios[f"latency_p95_baseline_vs_viewer_{rate:g}hz"] = baseline["latency_p95_ms"] / max(
            viewer["latency_p95_ms"], 1e-9
        )
    for name, value in ratios.items():
        print(f"ratio {name}: {value:.2f} (higher is better)")
    fastest = runs[max(rates)]
    emit(
        {
            "benchmark": "slice_scroll",
            "slices": slices,
            "size": size,
            "rate_hz": max(rates),
            "baseline": fastest["baseline"],
            "viewer": fastest["viewer"],
            "by_rate": {f"{rate:g}": run for rate, run in runs.items()},
            "ratios": {k: round(v, 3) for k, v in ratios.items()},
            "quick": args.quick,
        }
    )


if __name__ == "__main__":
    main()
