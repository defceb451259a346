"""Voxels grouped by their vote pattern, so an EM step costs one pass over the patterns.

A voxel's *pattern* is the tuple of labels the readers gave it. Three readers drawing
binary masks produce at most eight patterns however many voxels there are, so STAPLE
runs its iterations on the pattern table and touches the voxels only twice: once to
count the patterns, once to write the result back.

Memory
    When ``labels ** readers`` is small (at most 2²² possible patterns) each voxel's
    pattern is encoded as one integer in the smallest unsigned type that holds it
    (one byte per voxel for up to eight readers of binary masks), built and counted
    block by block, and results are written back through a table indexed by that
    code, also block by block. Extra memory is then one code per voxel plus the
    output. Larger
    pattern spaces fall back to :func:`numpy.unique` on 64-bit codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = ["VotePatterns"]

_DIRECT_CODES = 1 << 22
_CHUNK = 1 << 18  # voxels per block: small temporaries, cache-sized


class VotePatterns:
    """Distinct vote patterns of stacked votes, their counts, and the way back to voxels.

    Build with :meth:`of`. ``patterns[u, r]`` is reader ``r``'s label in pattern ``u``;
    ``counts[u]`` how many voxels show it.
    """

    __slots__ = ("_codes", "_lookup", "counts", "patterns")

    def __init__(
        self,
        patterns: NDArray[np.int64],
        counts: NDArray[np.float64],
        codes: NDArray[Any],
        lookup: NDArray[np.intp] | None,
    ) -> None:
        self.patterns = patterns
        self.counts = counts
        self._codes = codes
        self._lookup = lookup

    @classmethod
    def of(cls, votes: NDArray[Any]) -> VotePatterns:
        """Group the voxels of ``(readers, ...)`` boolean or non-negative integer votes.

        Parameters
        ----------
        votes
            Stacked votes, reader first.

        Returns
        -------
        VotePatterns
            The distinct patterns (sorted by code) and their voxel counts.
        """
        flat = votes.reshape(votes.shape[0], -1)
        readers = flat.shape[0]
        base = 2 if flat.dtype == np.bool_ else int(flat.max()) + 1
        base = max(base, 2)
        fits = float(base) ** readers < 2.0**62  # one int64 code per voxel
        weights = base ** np.arange(readers, dtype=np.int64) if fits else None
        if weights is not None and base**readers <= _DIRECT_CODES:
            n_codes = base**readers
            dtype = np.min_scalar_type(n_codes - 1)
            codes = np.zeros(flat.shape[1], dtype=dtype)
            histogram = np.zeros(n_codes, dtype=np.int64)
            for start in range(0, codes.size, _CHUNK):
                block = codes[start : start + _CHUNK]
                for reader in range(readers):
                    term = flat[reader, start : start + _CHUNK].astype(dtype)
                    if reader:
                        term *= dtype.type(weights[reader])
                    block += term
                histogram += np.bincount(block, minlength=n_codes)
            present = np.flatnonzero(histogram)
            lookup = np.zeros(n_codes, dtype=np.intp)
            lookup[present] = np.arange(present.size)
            patterns = (present[:, None] // weights[None, :]) % base
            return cls(patterns, histogram[present].astype(np.float64), codes, lookup)
        wide = flat.astype(np.int64)
        if weights is not None:
            uniq, inverse, counts = np.unique(
                weights @ wide, return_inverse=True, return_counts=True
            )
            patterns = (uniq[:, None] // weights[None, :]) % base
        else:
            patterns, inverse, counts = np.unique(
                wide.T, axis=0, return_inverse=True, return_counts=True
            )
        return cls(patterns.astype(np.int64), counts.astype(np.float64), inverse.ravel(), None)

    def expand(self, values: NDArray[Any], dtype: DTypeLike = np.float32) -> NDArray[Any]:
        """Write one value per pattern back to every voxel showing that pattern.

        Parameters
        ----------
        values
            ``(patterns,)`` values.
        dtype
            Output dtype.

        Returns
        -------
        numpy.ndarray
            ``(voxels,)`` values.
        """
        table = np.asarray(values, dtype=dtype)
        if self._lookup is not None:
            table = table[self._lookup]
        out = np.empty(self._codes.size, dtype=table.dtype)
        for start in range(0, out.size, _CHUNK):
            stop = start + _CHUNK
            out[start:stop] = table[self._codes[start:stop]]
        return out
