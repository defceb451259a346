"""A bounded, thread-safe LRU of assembled volumes, for MPR requests.

Keys are ``(series_uid, version)``: the version is whatever changes when the
series does (its instance count, the newest ingest time...). Caching a new
version of a series drops the older ones. The cache is bounded by the bytes the
voxels hold; a volume larger than the whole budget is returned but not kept.
The app creates one and passes it in: there is no module-level cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from node.dicom.volume import Volume

__all__ = ["CacheKey", "VolumeCache"]

CacheKey = tuple[str, Hashable]
"""``(series_uid, version)``."""


class VolumeCache:
    """LRU of volumes bounded by total voxel bytes.

    Parameters
    ----------
    max_bytes
        The most voxel bytes kept at once (e.g. 2 GiB).

    Raises
    ------
    ValueError
        ``max_bytes`` is negative.
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._volumes: OrderedDict[CacheKey, Volume] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._building: dict[CacheKey, threading.Lock] = {}

    def get(self, key: CacheKey) -> Volume | None:
        """The cached volume for ``key`` (refreshed as most recently used), or ``None``."""
        with self._lock:
            volume = self._volumes.get(key)
            if volume is not None:
                self._volumes.move_to_end(key)
            return volume

    def put(self, key: CacheKey, volume: Volume) -> None:
        """Cache ``volume``, dropping older versions of its series and the least recently used.

        A volume larger than ``max_bytes`` is not cached.
        """
        with self._lock:
            for stale in [k for k in self._volumes if k[0] == key[0] and k != key]:
                self._drop(stale)
            if key in self._volumes:
                self._drop(key)
            if volume.nbytes > self.max_bytes:
                return
            self._volumes[key] = volume
            self._bytes += volume.nbytes
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._volumes)))

    def get_or_build(self, key: CacheKey, build: Callable[[], Volume]) -> Volume:
        """The cached volume, else ``build()`` once even when many threads ask at once."""
        volume = self.get(key)
        if volume is not None:
            return volume
        with self._lock:
            gate = self._building.setdefault(key, threading.Lock())
        try:
            with gate:
                volume = self.get(key)
                if volume is None:
                    volume = build()
                    self.put(key, volume)
                return volume
        finally:
            with self._lock:
                if self._building.get(key) is gate and not gate.locked():
                    del self._building[key]

    def invalidate(self, series_uid: str) -> int:
        """Drop every cached version of a series; how many were dropped."""
        with self._lock:
            stale = [k for k in self._volumes if k[0] == series_uid]
            for key in stale:
                self._drop(key)
            return len(stale)

    def total_bytes(self) -> int:
        """Bytes held by cached voxels."""
        with self._lock:
            return self._bytes

    def _drop(self, key: CacheKey) -> None:
        self._bytes -= self._volumes.pop(key).nbytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._volumes)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._volumes
