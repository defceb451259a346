"""Synthetic readers for the agreement and consensus benchmarks: masks and ratings.

Masks: each case holds one lesion-like blob (an ellipse whose radius wobbles with the
angle); every reader draws it with a small shift, scale and wobble of their own, so
readers overlap at Dice ~0.85-0.95 and surfaces differ by a few pixels, as in real
double reads. Ratings: a latent item category seen through per-reader noise.
"""

from __future__ import annotations

import numpy as np


def reader_masks(readers: int, cases: int, size: int, *, seed: int = 0) -> np.ndarray:
    """Boolean masks shaped ``(readers, cases, size, size)``."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((readers, cases, size, size), dtype=bool)
    for case in range(cases):
        radius = rng.uniform(0.06, 0.22, 2) * size
        centre = rng.uniform(0.3, 0.7, 2) * size
        reach = int(radius.max() * 1.4) + 8
        lo = np.maximum((centre - reach).astype(int), 0)
        hi = np.minimum((centre + reach).astype(int), size)
        yy, xx = np.mgrid[lo[0] : hi[0], lo[1] : hi[1]].astype(np.float32)
        for reader in range(readers):
            shift = rng.normal(0.0, 0.012 * size, 2)
            scale = rng.normal(1.0, 0.04, 2)
            fy = (yy - centre[0] - shift[0]) / (radius[0] * scale[0])
            fx = (xx - centre[1] - shift[1]) / (radius[1] * scale[1])
            angle = np.arctan2(fy, fx)
            wobble = np.ones_like(angle)
            for k, (amp, phase) in enumerate(
                zip(rng.normal(0, 0.03, 4), rng.uniform(0, 2 * np.pi, 4), strict=True)
            ):
                wobble += amp * np.cos((k + 2) * angle + phase)
            masks[reader, case, lo[0] : hi[0], lo[1] : hi[1]] = np.hypot(fy, fx) < wobble
    return masks


def reader_ratings(readers: int, items: int, categories: int, *, seed: int = 0) -> np.ndarray:
    """Integer ratings ``(readers, items)`` in ``0 … categories − 1``, mostly agreeing."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, categories, items)
    ratings = np.empty((readers, items), dtype=np.int64)
    for reader in range(readers):
        slip = rng.random(items) < 0.25
        step = rng.choice([-1, 1], items)
        ratings[reader] = np.where(slip, np.clip(truth + step, 0, categories - 1), truth)
    return ratings
