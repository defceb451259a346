"""Site styles: how one simulated hospital's scanners differ from another's.

A :class:`SiteStyle` bundles what makes data non-IID across sites: the
equipment strings and a vendor private block, the noise level, an intensity
shift and scale, the slice thickness, the pixel spacing, the reconstruction
smoothing, signed or unsigned pixel storage and, for MR, a bias field.

The named styles in :data:`SITE_STYLES` imitate the *flavour* of a vendor's
data only. Their manufacturer strings say so plainly (``"Harmonia Phantom
(Siemens-like)"``); nothing here is, or claims to be, a real vendor's output.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from shared.errors import PhantomSpecError

__all__ = ["SITE_STYLES", "SiteStyle"]


@dataclass(frozen=True)
class SiteStyle:
    """How one simulated site's scanner renders a phantom.

    Parameters
    ----------
    name
        Short identifier, also the default site name of a phantom.
    manufacturer
        Value of Manufacturer (0008,0070); must not claim a real vendor.
    model_name
        Value of ManufacturerModelName (0008,1090).
    software_versions
        Value of SoftwareVersions (0018,1020).
    private_creator
        Private creator of the style's vendor-like private block.
    private_group
        Odd group number (0x0009..0xFFFF) of that private block.
    noise_sigma
        Standard deviation of the additive Gaussian noise, in HU for CT and in
        signal units for MR. ``0`` gives a noise-free image.
    intensity_scale
        Multiplies every intensity (after tissue values, before noise).
    intensity_shift
        Added to every intensity after scaling (HU for CT).
    slice_thickness_mm
        SliceThickness; also the spacing between slices unless the spec says
        otherwise.
    pixel_spacing_mm
        Square in-plane pixel spacing.
    kernel_sigma_px
        Gaussian smoothing of the anatomy in pixels (reconstruction kernel and
        partial volume); ``0`` keeps hard edges.
    convolution_kernel
        Value of ConvolutionKernel (0018,1210) for CT.
    signed_pixels
        Store CT pixels as int16 (PixelRepresentation 1) instead of uint16.
    magnetic_field_strength
        MagneticFieldStrength (0018,0087) in tesla for MR.
    bias_field
        Relative amplitude of a smooth multiplicative MR bias field
        (``0.2`` means up to about ±20 %); ignored for CT.
    """

    name: str
    manufacturer: str
    model_name: str
    software_versions: str
    private_creator: str
    private_group: int
    noise_sigma: float
    intensity_scale: float = 1.0
    intensity_shift: float = 0.0
    slice_thickness_mm: float = 1.0
    pixel_spacing_mm: float = 0.75
    kernel_sigma_px: float = 0.0
    convolution_kernel: str = "STANDARD"
    signed_pixels: bool = False
    magnetic_field_strength: float = 1.5
    bias_field: float = 0.0

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 64:
            raise PhantomSpecError(
                f"site style name {self.name!r} must be 1..64 characters; pick a short slug"
            )
        if not self.private_creator or len(self.private_creator) > 64:
            raise PhantomSpecError(
                f"site style {self.name!r}: private_creator must be 1..64 characters (LO)"
            )
        if self.private_group % 2 == 0 or not 0x0009 <= self.private_group <= 0xFFFF:
            raise PhantomSpecError(
                f"site style {self.name!r}: private_group 0x{self.private_group:04X} is not a "
                "private group; use an odd group between 0x0009 and 0xFFFF, e.g. 0x0029"
            )
        _require_finite(self, "noise_sigma", self.noise_sigma, minimum=0.0, inclusive=True)
        _require_finite(self, "intensity_scale", self.intensity_scale, minimum=0.0)
        _require_finite(self, "intensity_shift", self.intensity_shift)
        _require_finite(self, "slice_thickness_mm", self.slice_thickness_mm, minimum=0.0)
        _require_finite(self, "pixel_spacing_mm", self.pixel_spacing_mm, minimum=0.0)
        _require_finite(self, "kernel_sigma_px", self.kernel_sigma_px, minimum=0.0, inclusive=True)
        _require_finite(self, "magnetic_field_strength", self.magnetic_field_strength, minimum=0.0)
        if not 0.0 <= self.bias_field < 1.0:
            raise PhantomSpecError(
                f"site style {self.name!r}: bias_field must be in [0, 1), got {self.bias_field}"
            )


def _require_finite(
    style: SiteStyle,
    field: str,
    value: float,
    *,
    minimum: float | None = None,
    inclusive: bool = False,
) -> None:
    if not math.isfinite(value):
        raise PhantomSpecError(f"site style {style.name!r}: {field} must be finite, got {value}")
    if minimum is None:
        return
    if value < minimum or (value == minimum and not inclusive):
        bound = f">= {minimum}" if inclusive else f"> {minimum}"
        raise PhantomSpecError(f"site style {style.name!r}: {field} must be {bound}, got {value}")


_STYLES = (
    SiteStyle(
        name="reference",
        manufacturer="Harmonia Phantom (reference)",
        model_name="HX-Sim Reference",
        software_versions="harmonia-phantom 1",
        private_creator="HARMONIA PHANTOM REFERENCE",
        private_group=0x0029,
        noise_sigma=0.0,
        slice_thickness_mm=1.0,
        pixel_spacing_mm=0.75,
    ),
    SiteStyle(
        name="siemens-like",
        manufacturer="Harmonia Phantom (Siemens-like)",
        model_name="HX-Sim S (Siemens-like)",
        software_versions="harmonia-phantom 1 s-flavour",
        private_creator="HARMONIA PHANTOM SIEMENS-LIKE",
        private_group=0x0029,
        noise_sigma=12.0,
        slice_thickness_mm=1.0,
        pixel_spacing_mm=0.75,
        kernel_sigma_px=0.6,
        convolution_kernel="BR40-LIKE",
        magnetic_field_strength=3.0,
        bias_field=0.10,
    ),
    SiteStyle(
        name="ge-like",
        manufacturer="Harmonia Phantom (GE-like)",
        model_name="HX-Sim G (GE-like)",
        software_versions="harmonia-phantom 1 g-flavour",
        private_creator="HARMONIA PHANTOM GE-LIKE",
        private_group=0x0043,
        noise_sigma=18.0,
        intensity_scale=1.02,
        intensity_shift=-5.0,
        slice_thickness_mm=1.25,
        pixel_spacing_mm=0.7,
        kernel_sigma_px=0.9,
        convolution_kernel="STANDARD-LIKE",
        signed_pixels=True,
        magnetic_field_strength=1.5,
        bias_field=0.20,
    ),
    SiteStyle(
        name="philips-like",
        manufacturer="Harmonia Phantom (Philips-like)",
        model_name="HX-Sim P (Philips-like)",
        software_versions="harmonia-phantom 1 p-flavour",
        private_creator="HARMONIA PHANTOM PHILIPS-LIKE",
        private_group=0x2001,
        noise_sigma=9.0,
        intensity_scale=0.97,
        intensity_shift=8.0,
        slice_thickness_mm=2.0,
        pixel_spacing_mm=0.8,
        kernel_sigma_px=1.2,
        convolution_kernel="B-LIKE",
        magnetic_field_strength=3.0,
        bias_field=0.15,
    ),
)

SITE_STYLES: Mapping[str, SiteStyle] = MappingProxyType({style.name: style for style in _STYLES})
"""The named styles, read-only: ``reference`` (noise-free), ``siemens-like``,
``ge-like`` and ``philips-like``."""
