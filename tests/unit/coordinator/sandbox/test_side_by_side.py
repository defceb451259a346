"""for_each_site: one thread per site, results in order, an error raised after every site ended."""

from __future__ import annotations

import threading

import pytest

from coordinator.sandbox import for_each_site


def test_results_come_back_in_the_sites_order_from_separate_threads() -> None:
    names: dict[str, str] = {}
    arrived = threading.Barrier(3, timeout=60)  # all three run at once, or this times out

    def work(site: str) -> str:
        arrived.wait()
        names[site] = threading.current_thread().name
        return site.upper()

    assert for_each_site(["a", "b", "c"], work) == ["A", "B", "C"]
    assert len(set(names.values())) == 3


def test_the_first_sites_error_is_raised_once_every_site_has_ended() -> None:
    finished: list[str] = []
    release = threading.Event()

    def work(site: str) -> str:
        if site == "b":
            raise ValueError("site b failed")
        if site == "c":
            release.wait(timeout=60)  # still running when b fails
        finished.append(site)
        return site

    def failing_later(site: str) -> str:
        if site == "a":
            release.set()
        return work(site)

    with pytest.raises(ValueError, match="site b failed"):
        for_each_site(["a", "b", "c"], failing_later)
    assert sorted(finished) == ["a", "c"]


def test_one_site_runs_on_the_callers_thread() -> None:
    assert for_each_site(["a"], lambda site: threading.current_thread().name) == [
        threading.current_thread().name
    ]
