"""Pixels and ground truth of one slice: anatomy + lesions + the site's style.

For each slice the renderer looks up tissue intensities, paints the lesions
(and their labels in the mask), applies the MR bias field, smooths with the
style's kernel, applies the style's intensity scale and shift, adds noise
(Gaussian for CT, Rician for MR) and quantises to the stored pixel type. Each
slice has its own random stream derived from the seed, the site, the series
and the slice index, so slices can be rendered in any order, lazily, and
always come out the same.

CT pixels are stored as ``HU + 1024`` (RescaleIntercept -1024, RescaleSlope 1)
clipped to 0..4095: uint16 with 12 bits stored, or int16 with 16 bits stored
for styles with ``signed_pixels``. MR pixels are uint16, 12 bits, no rescale.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import special

from shared.phantoms.anatomy import Anatomy, fill_ellipse, tissue_lut
from shared.phantoms.identifiers import derive_digest
from shared.phantoms.lesions import Lesion
from shared.phantoms.spec import Modality, PhantomSpec

__all__ = ["CT_RESCALE_INTERCEPT", "MAX_STORED_VALUE", "SliceRenderer", "smooth"]

CT_RESCALE_INTERCEPT = -1024.0
"""RescaleIntercept of every CT phantom (RescaleSlope is 1)."""
MAX_STORED_VALUE = 4095
"""Largest stored pixel value (12-bit range) of every phantom."""


class SliceRenderer:
    """Renders the slices of one series on demand.

    Parameters
    ----------
    spec
        The validated request.
    noise_key
        Distinguishes this series' random streams (e.g. its series UID).
    """

    def __init__(self, spec: PhantomSpec, noise_key: str) -> None:
        self._spec = spec
        self._geometry = spec.geometry
        self._anatomy = Anatomy(self._geometry)
        self._is_ct = spec.modality is Modality.CT
        self._lut = tissue_lut(self._is_ct)
        self._x = self._geometry.x_mm()
        self._y = self._geometry.y_mm()
        self._z = self._geometry.z_mm()
        self._noise_key = noise_key
        self._bias = self._bias_field() if not self._is_ct else None
        # Inverse normal CDF at 65536 evenly spaced quantiles: indexing it with
        # uniform uint16 draws gives standard normal noise (tails cut at 4.3σ)
        # several times faster than Generator.standard_normal.
        quantiles = (np.arange(65536, dtype=np.float64) + 0.5) / 65536.0
        self._normal_lut = special.ndtri(quantiles).astype(np.float32)

    @property
    def pixel_dtype(self) -> type[np.integer]:
        """The NumPy type of the stored pixels."""
        return np.int16 if self._is_ct and self._spec.style.signed_pixels else np.uint16

    def mask_slice(self, index: int) -> npt.NDArray[np.uint8]:
        """Return the ground-truth labels of slice ``index``, shape ``(rows, columns)``."""
        mask = np.zeros((self._geometry.rows, self._geometry.columns), dtype=np.uint8)
        z = float(self._z[index])
        for lesion in self._spec.lesions:
            self._paint(mask, lesion, z, lesion.label)
        return mask

    def intensity_slice(self, index: int) -> npt.NDArray[np.float32]:
        """Return the noise-free intensities of slice ``index`` (HU for CT), before the style."""
        values = self._lut[self._anatomy.tissue_slice(index)]
        z = float(self._z[index])
        for lesion in self._spec.lesions:
            value = lesion.kind.ct_number if self._is_ct else lesion.kind.mr_signal
            self._paint(values, lesion, z, value)
        return values

    def pixel_slice(self, index: int) -> npt.NDArray[np.integer]:
        """Return the stored pixel values of slice ``index``, shape ``(rows, columns)``.

        Parameters
        ----------
        index
            0-based slice index.

        Returns
        -------
        numpy.ndarray
            uint16, or int16 for signed CT styles; convert CT to HU by adding
            :data:`CT_RESCALE_INTERCEPT`.
        """
        style = self._spec.style
        values = self.intensity_slice(index)
        if self._bias is not None:
            values *= self._bias
        if style.kernel_sigma_px > 0.0:
            values = smooth(values, style.kernel_sigma_px)
        offset = style.intensity_shift - (CT_RESCALE_INTERCEPT if self._is_ct else 0.0)
        if style.intensity_scale != 1.0:
            values *= np.float32(style.intensity_scale)
        if style.noise_sigma > 0.0 and self._is_ct:
            values += np.float32(offset)
            values += self._gaussian_noise(index)
        elif style.noise_sigma > 0.0:
            values += np.float32(style.intensity_shift)
            values = self._rician(values, index)
        else:
            values += np.float32(offset)
        np.clip(values, 0.0, float(MAX_STORED_VALUE), out=values)
        values += np.float32(0.5)  # non-negative now: truncation rounds half up
        return values.astype(self.pixel_dtype)

    def _paint(
        self, target: npt.NDArray[np.generic], lesion: Lesion, z: float, value: float | int
    ) -> None:
        semi_axes = lesion.semi_axes_at(z)
        if semi_axes is not None:
            center = (lesion.center_mm[0], lesion.center_mm[1])
            fill_ellipse(target, self._x, self._y, center, semi_axes, value)

    def _random(self, index: int) -> np.random.Generator:
        digest = derive_digest(self._spec.seed, self._spec.site, f"noise/{self._noise_key}/{index}")
        return np.random.default_rng(int.from_bytes(digest[:16], "big"))

    def _normal(self, rng: np.random.Generator) -> npt.NDArray[np.float32]:
        shape = (self._geometry.rows, self._geometry.columns)
        draws = rng.integers(0, 65536, size=shape, dtype=np.uint16)
        noise: npt.NDArray[np.float32] = self._normal_lut[draws]
        noise *= np.float32(self._spec.style.noise_sigma)
        return noise

    def _gaussian_noise(self, index: int) -> npt.NDArray[np.float32]:
        return self._normal(self._random(index))

    def _rician(self, values: npt.NDArray[np.float32], index: int) -> npt.NDArray[np.float32]:
        # MR magnitude images: |signal + complex Gaussian noise|.
        rng = self._random(index)
        real = self._normal(rng)
        real += values
        imaginary = self._normal(rng)
        result: npt.NDArray[np.float32] = np.hypot(real, imaginary, out=real)
        return result

    def _bias_field(self) -> npt.NDArray[np.float32]:
        amplitude = self._spec.style.bias_field
        width, height = self._geometry.field_of_view_mm
        u = (self._x / (width / 2.0)).astype(np.float32)
        v = (self._y / (height / 2.0)).astype(np.float32)
        field = 1.0 + amplitude * (0.6 * u[np.newaxis, :] - 0.4 * v[:, np.newaxis] ** 2)
        return field.astype(np.float32)


def smooth(values: npt.NDArray[np.float32], sigma_px: float) -> npt.NDArray[np.float32]:
    """Return ``values`` blurred by an approximately Gaussian kernel of ``sigma_px``.

    Repeated 3-tap passes ``[a, 1 - 2a, a]`` along each axis (variance ``2a``
    per pass, ``a <= 0.25``), with edge values repeated: close to a true
    Gaussian and several times faster than ``scipy.ndimage.gaussian_filter``
    for the small sigmas of reconstruction kernels.

    Parameters
    ----------
    values
        2-D float32 image; overwritten.
    sigma_px
        Standard deviation in pixels, > 0.

    Returns
    -------
    numpy.ndarray
        The smoothed image (``values`` or a buffer of the same shape).
    """
    passes = max(1, math.ceil(sigma_px * sigma_px / 0.5))
    a = np.float32(sigma_px * sigma_px / (2.0 * passes))
    b = np.float32(1.0 - 2.0 * a)
    source = values
    target = np.empty_like(values)
    scratch = np.empty_like(values)
    for axis in (0, 1):
        for _ in range(passes):
            src = np.moveaxis(source, axis, 0)
            dst = np.moveaxis(target, axis, 0)
            tmp = np.moveaxis(scratch, axis, 0)
            np.multiply(src, b, out=dst)
            np.multiply(src, a, out=tmp)
            dst[1:] += tmp[:-1]
            dst[:-1] += tmp[1:]
            dst[0] += tmp[0]
            dst[-1] += tmp[-1]
            source, target = target, source
    return source
