"""Rendered-resource query parameters (PS3.18 §8.3.5.1) parsed into :class:`RenderOptions`.

Supported: ``window=center,width[,function]`` (function ``linear`` or
``linear-exact``, PS3.18 spells it ``linear`` by default), ``preset=`` one of
the node's window presets, ``quality=1..100``, ``viewport=width,height``
(the image is scaled to fit, never cropped) and ``accept=`` to pick the media
type where a client cannot set the ``Accept`` header. The default media type
is ``image/jpeg``, as PS3.18 prescribes; ``image/png`` is the lossless
alternative.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from node.dicom.accept import MediaRange, parse_accept
from node.dicom.render import ImageFormat, RenderOptions
from node.dicom.windowing import WindowPreset
from node.errors import QueryError, UnsupportedTransferSyntaxError

__all__ = ["choose_image_format", "parse_render_options"]

_PARAMETERS = ("accept", "preset", "quality", "viewport", "window")
_FUNCTIONS = ("linear", "linear-exact", "linear_exact")


def choose_image_format(ranges: Sequence[MediaRange]) -> ImageFormat:
    """The first image format the ranges accept; JPEG for wildcards.

    Raises
    ------
    UnsupportedTransferSyntaxError
        Neither JPEG nor PNG is acceptable (HTTP 406).
    """
    # JPEG first: a wildcard range gets the PS3.18 default.
    formats = [ImageFormat.JPEG, *(f for f in ImageFormat if f is not ImageFormat.JPEG)]
    for media_range in ranges:
        for image_format in formats:
            if media_range.matches(image_format.value):
                return image_format
    raise UnsupportedTransferSyntaxError(
        "rendered images are available as "
        f"{' or '.join(f.value for f in formats)}; send one in Accept or ?accept="
    )


def _number(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise QueryError(f"{name}: {text!r} is not a number", parameter=name) from None


def _window(value: str) -> tuple[float, float]:
    pieces = [p.strip() for p in value.split(",")]
    if len(pieces) not in (2, 3):
        raise QueryError(
            f"window={value!r}: write window=center,width[,linear], e.g. window=40,400,linear",
            parameter="window",
        )
    if len(pieces) == 3 and pieces[2].lower() not in _FUNCTIONS:
        raise QueryError(
            f"window function {pieces[2]!r} is not supported; use linear", parameter="window"
        )
    center, width = _number("window", pieces[0]), _number("window", pieces[1])
    if width <= 0:
        raise QueryError("window width must be positive", parameter="window")
    return center, width


def _preset(value: str) -> WindowPreset:
    try:
        return WindowPreset(value.lower())
    except ValueError:
        names = ", ".join(p.value for p in WindowPreset)
        raise QueryError(
            f"preset {value!r} is unknown; use one of {names}", parameter="preset"
        ) from None


def _quality(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise QueryError(f"quality must be an integer 1-100, got {value!r}", parameter="quality")
    return int(value)


def _viewport(value: str) -> int:
    pieces = [p.strip() for p in value.split(",")]
    if len(pieces) != 2 or not all(p.isdigit() and int(p) > 0 for p in pieces):
        raise QueryError(
            f"viewport={value!r}: write viewport=width,height in pixels (cropping is not "
            "supported)",
            parameter="viewport",
        )
    return max(int(p) for p in pieces)


def parse_render_options(params: Iterable[tuple[str, str]], accept: str | None) -> RenderOptions:
    """Parse the rendered-resource query and ``Accept`` header.

    Raises
    ------
    QueryError
        An unknown or malformed parameter, or both ``window`` and ``preset``.
    UnsupportedTransferSyntaxError
        The requested media type is neither JPEG nor PNG (HTTP 406).
    """
    values: dict[str, str] = {}
    for name, value in params:
        if name not in _PARAMETERS:
            raise QueryError(
                f"unknown parameter {name!r} for a rendered image; use {', '.join(_PARAMETERS)}",
                parameter=name,
            )
        values[name] = value
    if "window" in values and "preset" in values:
        raise QueryError("give window or preset, not both", parameter="preset")
    center, width = _window(values["window"]) if "window" in values else (None, None)
    options: dict[str, object] = {
        "window_center": center,
        "window_width": width,
        "preset": _preset(values["preset"]) if "preset" in values else None,
        "image_format": choose_image_format(parse_accept(values.get("accept", accept))),
    }
    if "quality" in values:
        options["quality"] = _quality(values["quality"])
    if "viewport" in values:
        options["max_size"] = _viewport(values["viewport"])
    return RenderOptions(**options)  # type: ignore[arg-type]
