"""The volume cache: LRU by bytes, versions, and one build per key under concurrency."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from node.dicom.volume import Volume, VolumeCache

AXES = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


def _volume(slices: int = 4) -> Volume:
    return Volume(
        voxels=np.zeros((slices, 8, 8), np.float32),
        spacing_mm=(1.0, 1.0, 1.0),
        origin_mm=(0.0, 0.0, 0.0),
        row_direction=AXES[0],
        column_direction=AXES[1],
        slice_direction=AXES[2],
        window=None,
        sop_instance_uids=tuple(str(i) for i in range(slices)),
    )


def test_least_recently_used_is_evicted_by_bytes() -> None:
    volume = _volume()
    cache = VolumeCache(max_bytes=int(volume.nbytes * 2.5))
    cache.put(("a", 1), volume)
    cache.put(("b", 1), volume)
    assert cache.get(("a", 1)) is volume  # refreshes a
    cache.put(("c", 1), volume)
    assert ("b", 1) not in cache and ("a", 1) in cache and ("c", 1) in cache
    assert len(cache) == 2 and cache.total_bytes() == 2 * volume.nbytes


def test_a_new_version_replaces_the_old_and_invalidate_drops_a_series() -> None:
    cache = VolumeCache(max_bytes=10**9)
    old, new = _volume(), _volume(5)
    cache.put(("series", 4), old)
    cache.put(("series", 5), new)
    assert cache.get(("series", 4)) is None and cache.get(("series", 5)) is new
    cache.put(("other", 1), old)
    assert cache.invalidate("series") == 1
    assert len(cache) == 1 and cache.total_bytes() == old.nbytes


def test_a_volume_larger_than_the_budget_is_not_kept() -> None:
    cache = VolumeCache(max_bytes=100)
    cache.put(("big", 1), _volume())
    assert len(cache) == 0 and cache.total_bytes() == 0
    with pytest.raises(ValueError):
        VolumeCache(max_bytes=-1)


def test_get_or_build_builds_once_for_concurrent_requests() -> None:
    cache = VolumeCache(max_bytes=10**9)
    calls = 0
    release = threading.Event()
    volume = _volume()

    def build() -> Volume:
        nonlocal calls
        calls += 1
        release.wait(timeout=30)
        return volume

    results: list[Volume] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_build(("s", 1), build)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert calls == 1 and len(results) == 8 and all(r is volume for r in results)
    assert cache.get_or_build(("s", 1), build) is volume and calls == 1
