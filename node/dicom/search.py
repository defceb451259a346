"""Running a QIDO-RS search against the store and building its DICOM JSON results.

The index answers the default return attributes. ``includefield`` attributes
it does not hold are read from one representative stored header per result
(the first instance of a study or series, the instance itself at instance
level), so a search that asks for none reads no file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from io import BytesIO
from typing import Any

import pydicom
from pydicom import Dataset
from pydicom.datadict import dictionary_has_tag, dictionary_VR, tag_for_keyword
from pydicom.tag import BaseTag, Tag

from node.dicom.dicomjson import (
    SERIES_ALL_KEYWORDS,
    STUDY_ALL_KEYWORDS,
    header_attributes,
    instance_json,
    series_json,
    sorted_json,
    study_json,
)
from node.dicom.qido import QidoQuery
from node.store.instance_store import InstanceStore
from node.store.records import InstanceRecord

__all__ = ["read_header", "search_instances", "search_series", "search_studies"]

JsonObject = dict[str, Any]


def read_header(store: InstanceStore, record: InstanceRecord) -> Dataset:
    """The stored header of one instance, without its pixel data."""
    return pydicom.dcmread(BytesIO(store.read(record)), stop_before_pixels=True)


def _tags(keywords: Sequence[str]) -> list[BaseTag]:
    return [Tag(number) for k in keywords if (number := tag_for_keyword(k)) is not None]


def _complete(
    result: JsonObject,
    query: QidoQuery,
    all_tags: Sequence[BaseTag] | None,
    representative: Callable[[], Dataset],
) -> JsonObject:
    """Add the requested attributes the index lacks, read from a stored header."""
    wanted = [t for t in query.include_fields if f"{t:08X}" not in result]
    if query.include_all:
        if all_tags is None:
            extra = header_attributes(representative(), None)
            return sorted_json({**extra, **result})
        wanted += [t for t in all_tags if f"{t:08X}" not in result]
    if not wanted:
        return sorted_json(result)
    extra = header_attributes(representative(), list(dict.fromkeys(wanted)))
    for tag in query.include_fields:
        # Asked for but absent from the header: an empty attribute says "no value".
        key = f"{tag:08X}"
        if key not in extra and key not in result and dictionary_has_tag(tag):
            extra[key] = {"vr": dictionary_VR(tag).split(" or ")[0]}
    return sorted_json({**extra, **result})


def search_studies(store: InstanceStore, query: QidoQuery, base_url: str) -> list[JsonObject]:
    """QIDO-RS ``/studies``: one result object per matching study."""
    include_quarantined = query.request.include_quarantined
    results = []
    for study in store.search_studies(query.request):

        def first(uid: str = study.study_instance_uid) -> Dataset:
            records = store.instances(
                study_instance_uid=uid, include_quarantined=include_quarantined
            )
            return read_header(store, records[0])

        results.append(
            _complete(study_json(study, base_url), query, _tags(STUDY_ALL_KEYWORDS), first)
        )
    return results


def search_series(
    store: InstanceStore, query: QidoQuery, base_url: str, *, study_in_url: bool
) -> list[JsonObject]:
    """QIDO-RS ``/series``; study attributes are added unless the URL names the study."""
    include_quarantined = query.request.include_quarantined
    all_tags = _tags(SERIES_ALL_KEYWORDS) + ([] if study_in_url else _tags(STUDY_ALL_KEYWORDS))
    results = []
    for series in store.search_series(query.request):

        def first(
            study_uid: str = series.study.study_instance_uid,
            series_uid: str = series.series_instance_uid,
        ) -> Dataset:
            records = store.instances(
                study_instance_uid=study_uid,
                series_instance_uid=series_uid,
                include_quarantined=include_quarantined,
            )
            return read_header(store, records[0])

        result = series_json(series, base_url, with_study=not study_in_url)
        results.append(_complete(result, query, all_tags, first))
    return results


def search_instances(
    store: InstanceStore,
    query: QidoQuery,
    base_url: str,
    *,
    study_in_url: bool,
    series_in_url: bool,
) -> list[JsonObject]:
    """QIDO-RS ``/instances``; higher levels' attributes are added unless the URL names them."""
    results = []
    for instance, series in store.search_instances(query.request):
        result = instance_json(
            instance,
            series,
            base_url,
            with_series=not series_in_url,
            with_study=not study_in_url,
        )

        def own(record: InstanceRecord = instance) -> Dataset:
            return read_header(store, record)

        results.append(_complete(result, query, None, own))
    return results
