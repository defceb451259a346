"""Rendered images out of the store: DICOMweb ``/rendered`` frames and MPR reslices.

A frame is windowed and encoded by :func:`node.dicom.render.render_frame`.
For multiplanar reformatting the instances of a series are assembled into
one volume once and kept in a :class:`VolumeCache` (LRU by bytes) keyed by
``(series UID, number of instances)``, so a series that grows is rebuilt.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pydicom

from node.dicom.frames import check_frames
from node.dicom.render import RenderOptions, render_frame
from node.dicom.volume import Plane, Volume, VolumeCache, assemble_volume
from node.errors import NotFoundError, QueryError
from node.store.criteria import Level, Match, MatchKind, SearchRequest
from node.store.instance_store import InstanceStore
from node.store.records import InstanceRecord

__all__ = [
    "load_series_volume",
    "parse_plane",
    "render_stored_frame",
    "series_instances",
    "volume_geometry",
]


def render_stored_frame(
    store: InstanceStore, record: InstanceRecord, frame: int, options: RenderOptions
) -> bytes:
    """Render frame ``frame`` (1-based) of a stored instance."""
    ds = pydicom.dcmread(BytesIO(store.read(record)))
    check_frames(ds, [frame])
    return render_frame(ds, frame, options)


def parse_plane(name: str) -> Plane:
    """The plane named in an MPR URL, or :class:`QueryError`."""
    try:
        return Plane(name.lower())
    except ValueError:
        names = ", ".join(p.value for p in Plane)
        raise QueryError(
            f"plane {name!r} is unknown; use one of {names}", parameter="plane"
        ) from None


def series_instances(
    store: InstanceStore, series_uid: str, *, include_quarantined: bool
) -> list[InstanceRecord]:
    """Every visible instance of a series, or :class:`NotFoundError`."""
    request = SearchRequest(
        Level.INSTANCE,
        (Match("SeriesInstanceUID", MatchKind.SINGLE_VALUE, (series_uid,)),),
        include_quarantined=include_quarantined,
    )
    records = [instance for instance, _ in store.search_instances(request)]
    if not records:
        raise NotFoundError(f"no series {series_uid} on this node")
    return records


def load_series_volume(
    store: InstanceStore, series_uid: str, *, include_quarantined: bool, cache: VolumeCache
) -> Volume:
    """The series as one volume, from ``cache`` when it was assembled before."""
    # A count is the version key: a series that grows is reassembled, and a cache
    # hit costs one COUNT query instead of loading every instance record.
    count = store.count_series_instances(series_uid, include_quarantined=include_quarantined)
    if count == 0:
        raise NotFoundError(f"no series {series_uid} on this node")
    key = (series_uid, count)

    def build() -> Volume:
        records = series_instances(store, series_uid, include_quarantined=include_quarantined)
        return assemble_volume([pydicom.dcmread(BytesIO(store.read(r))) for r in records])

    return cache.get_or_build(key, build)


def volume_geometry(volume: Volume) -> dict[str, Any]:
    """The geometry a viewer needs to page through a volume's planes."""
    return {
        "shape": list(volume.shape),
        "spacing": [float(s) for s in volume.spacing],
        "slices": {plane.value: volume.slice_count(plane) for plane in Plane},
    }
