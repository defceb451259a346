"""Noise and sampling from the operating system's CSPRNG, for production DP-SGD.

Opacus's own ``secure_mode`` needs ``torchcsprng``, which is no longer built
for current torch. Here the randomness comes from :func:`os.urandom`:

* Poisson sampling: one 53-bit uniform per unit per step, compared with the
  sample rate;
* Gaussian noise: Box–Muller on 53-bit uniforms, and, as in Opacus's secure
  mode (Holohan & Braghin 2021, section 5.1, ``n = 2``), each noise value is
  the sum of four standard normals divided by two, which defeats the
  floating-point attacks on a single sample (Jin et al. 2022).

:class:`SecureDPOptimizer` is Opacus's :class:`~opacus.optimizers.DPOptimizer`
with its noise replaced by :func:`secure_normal`.
"""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt
import torch
from opacus.optimizers import DPOptimizer
from opacus.optimizers.optimizer import _check_processed_flag, _mark_as_processed

__all__ = ["SecureDPOptimizer", "secure_coins", "secure_normal", "secure_uniform"]

_TWO_53 = float(2**53)


def secure_uniform(count: int) -> npt.NDArray[np.float64]:
    """``count`` uniforms in [0, 1) with 53 random bits each, from ``os.urandom``."""
    words = np.frombuffer(os.urandom(8 * count), dtype=np.uint64)
    return (words >> np.uint64(11)).astype(np.float64) / _TWO_53


def secure_coins(count: int, probability: float) -> npt.NDArray[np.bool_]:
    """``count`` independent coin flips that come up true with ``probability``."""
    return secure_uniform(count) < probability


def _standard_normal(count: int) -> npt.NDArray[np.float64]:
    pairs = (count + 1) // 2
    u1 = 1.0 - secure_uniform(pairs)  # (0, 1]: log is finite
    u2 = secure_uniform(pairs)
    radius = np.sqrt(-2.0 * np.log(u1))
    angle = 2.0 * np.pi * u2
    return np.concatenate([radius * np.cos(angle), radius * np.sin(angle)])[:count]


def secure_normal(std: float, shape: tuple[int, ...]) -> torch.Tensor:
    """Gaussian noise ``N(0, std²)`` of ``shape`` (float32), hardened against float attacks."""
    count = int(np.prod(shape)) if shape else 1
    total = np.sum([_standard_normal(count) for _ in range(4)], axis=0) / 2.0
    return torch.from_numpy((total * std).astype(np.float32).reshape(shape))


class SecureDPOptimizer(DPOptimizer):  # type: ignore[misc]  # opacus is untyped
    """:class:`~opacus.optimizers.DPOptimizer` whose noise comes from :func:`secure_normal`."""

    def add_noise(self) -> None:
        """Add CSPRNG Gaussian noise to the clipped, summed gradients."""
        std = self.noise_multiplier * self.max_grad_norm
        for p in self.params:
            summed = p.summed_grad
            _check_processed_flag(summed)
            noise = secure_normal(std, tuple(summed.shape)).to(summed.device, summed.dtype)
            p.grad = (summed + noise).view_as(p)
            _mark_as_processed(summed)
