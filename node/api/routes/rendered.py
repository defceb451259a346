"""Rendered images: DICOMweb ``/rendered`` (PS3.18 §10.4.1.1.3) and the viewer's MPR API.

``/rendered`` answers ``image/jpeg`` unless ``Accept`` (or ``?accept=``)
asks for ``image/png``; windows come from ``window=center,width`` or
``preset=``, else from the instance itself. The non-standard MPR endpoints
under ``/api/v1/series`` serve the node's own viewer. Rendering is CPU
work: the routes are plain functions, which FastAPI runs in its threadpool.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from node.api.deps import ImageViewer, Runtime
from node.auth import Permission
from node.dicom import rendered
from node.dicom.frames import parse_frame_numbers
from node.dicom.render import render_reslice
from node.dicom.render_params import parse_render_options
from node.dicom.retrieve import select_instances
from node.dicom.volume import VolumeCache
from node.errors import QueryError

router = APIRouter(tags=["rendered"])

_GiB = 1024**3
VOLUME_CACHE_BYTES = 2 * _GiB
"""Bytes of assembled volumes the app keeps for MPR."""

_INSTANCE = "/dicom-web/studies/{study}/series/{series}/instances/{instance}"


def volume_cache(request: Request) -> VolumeCache:
    """The app's volume cache, created on first use."""
    cache: VolumeCache | None = getattr(request.app.state, "volume_cache", None)
    if cache is None:
        cache = VolumeCache(max_bytes=VOLUME_CACHE_BYTES)
        request.app.state.volume_cache = cache
    return cache


Volumes = Annotated[VolumeCache, Depends(volume_cache)]


def _options(request: Request) -> Any:
    return parse_render_options(request.query_params.multi_items(), request.headers.get("accept"))


def _image(data: bytes, options: Any) -> Response:
    return Response(data, media_type=options.image_format.value)


def _single_frame(frames: str) -> int:
    numbers = parse_frame_numbers(frames)
    if len(numbers) != 1:
        raise QueryError(
            "render one frame per request, e.g. /frames/3/rendered", parameter="frames"
        )
    return numbers[0]


@router.get(_INSTANCE + "/rendered")
def instance_rendered(
    study: str,
    series: str,
    instance: str,
    request: Request,
    runtime: Runtime,
    principal: ImageViewer,
) -> Response:
    """The first frame of an instance as JPEG or PNG."""
    options = _options(request)
    (record,) = select_instances(
        runtime.store,
        study,
        series,
        instance,
        include_quarantined=principal.can(Permission.ADMINISTER),
    )
    return _image(rendered.render_stored_frame(runtime.store, record, 1, options), options)


@router.get(_INSTANCE + "/frames/{frames}/rendered")
def frame_rendered(
    study: str,
    series: str,
    instance: str,
    frames: str,
    request: Request,
    runtime: Runtime,
    principal: ImageViewer,
) -> Response:
    """One frame of an instance as JPEG or PNG."""
    options = _options(request)
    frame = _single_frame(frames)
    (record,) = select_instances(
        runtime.store,
        study,
        series,
        instance,
        include_quarantined=principal.can(Permission.ADMINISTER),
    )
    return _image(rendered.render_stored_frame(runtime.store, record, frame, options), options)


@router.get("/api/v1/series/{series}/volume")
def series_volume(
    series: str, runtime: Runtime, principal: ImageViewer, cache: Volumes
) -> dict[str, Any]:
    """Shape, spacing and slices per plane of a series assembled as a volume."""
    volume = rendered.load_series_volume(
        runtime.store, series, include_quarantined=principal.can(Permission.ADMINISTER), cache=cache
    )
    return rendered.volume_geometry(volume)


@router.get("/api/v1/series/{series}/mpr/{plane}/{index}")
def series_mpr(
    series: str,
    plane: str,
    index: int,
    request: Request,
    runtime: Runtime,
    principal: ImageViewer,
    cache: Volumes,
) -> Response:
    """One axial, coronal or sagittal reslice of a series (0-based ``index``)."""
    options = _options(request)
    volume = rendered.load_series_volume(
        runtime.store, series, include_quarantined=principal.can(Permission.ADMINISTER), cache=cache
    )
    image = render_reslice(volume, rendered.parse_plane(plane), index, options)
    return _image(image, options)
