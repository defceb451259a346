"""WADO-RS retrieve (PS3.18 §10.4): instances, metadata, frames and bulk data.

Each function resolves what to send and negotiates its encoding *before*
returning, so that a missing instance (404) or an unsatisfiable ``Accept``
(406) is reported cleanly; the parts themselves are produced lazily while
the response streams, one instance in memory at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any, TypeVar

import pydicom
from pydicom import Dataset
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian

from node.dicom.accept import MediaRange
from node.dicom.dicomjson import instance_url
from node.dicom.frames import check_frames, frame_count, iter_frames
from node.dicom.metadata import instance_metadata
from node.dicom.negotiation import AS_STORED, DICOM, negotiate_frames, negotiate_instances
from node.dicom.transcode import to_explicit_vr_little_endian
from node.errors import NotFoundError
from node.store.instance_store import InstanceStore
from node.store.records import InstanceRecord

__all__ = [
    "MultipartRetrieval",
    "retrieve_bulkdata",
    "retrieve_frames",
    "retrieve_instances",
    "retrieve_metadata",
    "select_instances",
]

T = TypeVar("T")
_END = object()


@dataclass(frozen=True)
class MultipartRetrieval:
    """A negotiated multipart answer: the parts' media type and the parts, lazily.

    Parameters
    ----------
    part_type
        The ``type`` parameter of the ``multipart/related`` response.
    parts
        ``(content_type, body)`` of each part, produced as the response streams.
    """

    part_type: str
    parts: Iterator[tuple[str, bytes]]


def select_instances(
    store: InstanceStore,
    study: str,
    series: str | None = None,
    instance: str | None = None,
    *,
    include_quarantined: bool,
) -> list[InstanceRecord]:
    """The instances a WADO-RS URL names, or :class:`NotFoundError`."""
    if instance is None:
        return store.instances(
            study_instance_uid=study,
            series_instance_uid=series,
            include_quarantined=include_quarantined,
        )
    record = store.instance(instance, include_quarantined=include_quarantined)
    if record.study_instance_uid != study or (
        series is not None and record.series_instance_uid != series
    ):
        raise NotFoundError(
            f"no instance {instance} in {'series ' + series if series else 'study ' + study}"
        )
    return [record]


def retrieve_instances(
    store: InstanceStore, records: Sequence[InstanceRecord], ranges: Sequence[MediaRange]
) -> MultipartRetrieval:
    """Part 10 files of ``records``, as stored or transcoded as ``Accept`` asks."""
    syntax = negotiate_instances(ranges, {r.transfer_syntax_uid for r in records})

    def parts() -> Iterator[tuple[str, bytes]]:
        for record in records:
            data = store.read(record)
            if syntax == AS_STORED:
                yield f"{DICOM}; transfer-syntax={record.transfer_syntax_uid}", data
            else:
                yield f"{DICOM}; transfer-syntax={syntax}", to_explicit_vr_little_endian(data)

    return MultipartRetrieval(DICOM, _first_ahead(parts()))


def _first_ahead(items: Iterator[T]) -> Iterator[T]:
    """Produce the first item now, so that a decoding error is still a clean HTTP error.

    The rest stay lazy: once the response has started, a failure can only cut it short.
    """
    first = next(items, _END)
    if first is _END:
        return iter(())
    return itertools.chain([first], items)  # type: ignore[list-item]


def retrieve_metadata(
    store: InstanceStore, records: Sequence[InstanceRecord], base_url: str
) -> list[dict[str, Any]]:
    """The DICOM JSON metadata of each instance in ``records``."""
    results = []
    for record in records:
        ds = pydicom.dcmread(BytesIO(store.read(record)), stop_before_pixels=False)
        url = instance_url(
            base_url, record.study_instance_uid, record.series_instance_uid, record.sop_instance_uid
        )
        results.append(instance_metadata(ds, url))
    return results


def _dataset(store: InstanceStore, record: InstanceRecord) -> Dataset:
    return pydicom.dcmread(BytesIO(store.read(record)))


def retrieve_frames(
    store: InstanceStore,
    record: InstanceRecord,
    numbers: Sequence[int],
    ranges: Sequence[MediaRange],
) -> MultipartRetrieval:
    """Frames ``numbers`` (1-based) of one instance, decoded or as stored."""
    return _frames(_dataset(store, record), record, numbers, ranges)


def _frames(
    ds: Dataset, record: InstanceRecord, numbers: Sequence[int], ranges: Sequence[MediaRange]
) -> MultipartRetrieval:
    check_frames(ds, numbers)
    encoding = negotiate_frames(ranges, record.transfer_syntax_uid)
    part_type = encoding.content_type.split(";")[0]
    chunks = _first_ahead(iter_frames(ds, numbers, decode=encoding.decode))
    return MultipartRetrieval(part_type, ((encoding.content_type, c) for c in chunks))


def retrieve_bulkdata(
    store: InstanceStore, record: InstanceRecord, tag_text: str, ranges: Sequence[MediaRange]
) -> MultipartRetrieval:
    """One top-level bulk attribute; Pixel Data is returned frame by frame."""
    try:
        tag = Tag(int(tag_text, 16)) if len(tag_text) == 8 else None
    except ValueError:
        tag = None
    ds = _dataset(store, record)
    if tag is None or tag not in ds:
        raise NotFoundError(
            f"instance {record.sop_instance_uid} has no bulk data {tag_text!r}; use the "
            "BulkDataURI given by its metadata"
        )
    if tag == 0x7FE00010:
        return _frames(ds, record, range(1, frame_count(ds) + 1), ranges)
    encoding = negotiate_frames(ranges, str(ExplicitVRLittleEndian))
    value = ds[tag].value
    body = value if isinstance(value, bytes) else bytes(str(value), "utf-8")
    return MultipartRetrieval(
        encoding.content_type.split(";")[0], iter([(encoding.content_type, body)])
    )
