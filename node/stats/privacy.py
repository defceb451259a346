"""Differential privacy for statistics releases: the Gaussian mechanism and its accounting.

Privacy unit
    One **task** (one series with every reader's annotations of it), added or
    removed. Everything a node releases about a project changes by a bounded
    amount when one task is added or removed; that bound is the statistic's
    L2 sensitivity ``Δ``:

    ============================== ========================================
    statistic                      L2 sensitivity (one task, r readers)
    ============================== ========================================
    ``confusion.counts``           ``r(r-1)/2``: one count per reader pair,
                                   at worst all in one cell
    ``coincidence.coincidences``   ``r``: a unit of m values adds total mass
                                   m (upper triangle noised, then mirrored)
    ``overlap`` (masks), bounded   ``sqrt(7)`` in units of each field's
                                   bound: a task adds one averaged,
                                   size-normalised reader pair (at most 1
                                   per field; sizes in fixed point, bound
                                   ``UNIT`` = 1024), see
                                   :mod:`node.stats.bounded`
    ``detection``, bounded         ``sqrt(6)`` likewise (object counts
                                   normalised per pair, matched distances
                                   clipped to 20 mm)
    diversity histogram counts     ``1``: a task falls in one bin
    ``label_prevalence`` counts    ``sqrt(L)``: one count per label present
    ============================== ========================================

    ``r`` is the largest number of readers of any task of the project (a
    design parameter of the guideline, public). Counts have sensitivity 1 per
    item per reader pair. The arrays that describe the layout (category codes,
    values, bin edges) come from the guideline and the fixed bins and are not
    noised. Raw voxel and object sums have no data-free bound: a noised
    release carries the bounded forms instead; only noise-free (development)
    releases carry the raw sums.

    Noised releases are **complete**: every label of the guideline gets every
    statistic of its kind (zeros where the site has none), so which labels a
    site has data for is not revealed either, and a secure sum's layout is the
    same at every site.

Mechanism
    Each noised statistic is one Gaussian mechanism: every array of it gets
    noise with standard deviation ``z·Δ`` (``z``: the round's noise
    multiplier; for the bounded statistics ``z·sqrt(f)·b`` per field of bound
    ``b``). Noised counts are rounded and clipped at 0 (post-processing,
    free). A release of ``k`` statistics is ``k`` Gaussian mechanisms,
    composed by Rényi DP: :func:`gaussian_charge`
    states it as ``(epsilon, delta)`` with Opacus's RDP analysis, and names the
    mechanism ``gaussian-z<z>-k<k>`` so :class:`RdpAccountant` can recompose
    every release a site made from the ledger. Under secure aggregation each
    site adds its own noise before masking and is charged for it alone (the
    other sites' noise in the sum is not counted in its favour).

Accounting
    :class:`RdpAccountant` implements :class:`node.egress.Accountant` with
    ``opacus.accountants.analysis.rdp`` (not hand-rolled): the RDP curves of
    all Gaussian charges add, and are converted once at the sum of their
    deltas; any other charge composes basically (epsilons and deltas add).
    The result is never above basic composition of the same charges.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from node.egress import PrivacyCharge, Spent
from node.stats.opacus_rdp import DEFAULT_ALPHAS, opacus_rdp

__all__ = [
    "NoisedArray",
    "RdpAccountant",
    "gaussian_charge",
    "gaussian_epsilon",
    "noise_arrays",
]

_ORDERS: list[float] = list(DEFAULT_ALPHAS)
_GAUSSIAN = re.compile(r"^gaussian-z(?P<z>[0-9.]+(?:e[+-]?[0-9]+)?)-k(?P<k>[0-9]+)$")


@dataclass(frozen=True)
class NoisedArray:
    """Where to add noise: an array of a payload, its L2 sensitivity, whether it counts."""

    sensitivity: float
    integer: bool = True
    symmetric: bool = False


def gaussian_epsilon(noise_multiplier: float, count: int, delta: float) -> float:
    """The epsilon at ``delta`` of ``count`` Gaussian mechanisms with multiplier ``z``."""
    curve = opacus_rdp.compute_rdp(
        q=1.0, noise_multiplier=noise_multiplier, steps=count, orders=_ORDERS
    )
    epsilon, _order = opacus_rdp.get_privacy_spent(orders=_ORDERS, rdp=curve, delta=delta)
    return float(epsilon)


def gaussian_charge(noise_multiplier: float, count: int, delta: float) -> PrivacyCharge:
    """The charge of one release of ``count`` noised arrays at ``delta``."""
    return PrivacyCharge(
        epsilon=gaussian_epsilon(noise_multiplier, count, delta),
        delta=delta,
        mechanism=f"gaussian-z{noise_multiplier:g}-k{count}",
    )


def noise_arrays(
    arrays: Mapping[str, np.ndarray[Any, Any]],
    plan: Mapping[str, NoisedArray],
    *,
    noise_multiplier: float,
    rng: np.random.Generator,
) -> dict[str, np.ndarray[Any, Any]]:
    """``arrays`` with Gaussian noise ``N(0, (z·Δ)²)`` added to those in ``plan``."""
    out = dict(arrays)
    for name, how in plan.items():
        clean = np.asarray(arrays[name], dtype=np.float64)
        sigma = noise_multiplier * how.sensitivity
        noised = clean + rng.normal(0.0, sigma, size=clean.shape)
        if how.symmetric:
            upper = np.triu(noised)
            noised = upper + np.triu(upper, 1).T
        noised = np.maximum(noised, 0.0)
        if how.integer:
            out[name] = np.rint(noised).astype(np.int64)
        else:
            out[name] = noised
    return out


def _gaussian(charge: PrivacyCharge) -> tuple[float, int] | None:
    match = _GAUSSIAN.fullmatch(charge.mechanism)
    if match is None:
        return None
    return float(match["z"]), int(match["k"])


class RdpAccountant:
    """Rényi-DP composition of Gaussian charges (Opacus's analysis), basic for the rest."""

    def compose(self, charges: Sequence[PrivacyCharge]) -> Spent:
        """The ``(epsilon, delta)`` of all ``charges`` together."""
        basic = Spent(
            epsilon=math.fsum(c.epsilon for c in charges),
            delta=math.fsum(c.delta for c in charges),
        )
        curve = np.zeros(len(_ORDERS))
        gaussian_delta = 0.0
        other_eps = other_delta = 0.0
        found = False
        for charge in charges:
            parsed = _gaussian(charge)
            if parsed is None or charge.delta <= 0:
                other_eps += charge.epsilon
                other_delta += charge.delta
                continue
            z, k = parsed
            curve += np.asarray(
                opacus_rdp.compute_rdp(q=1.0, noise_multiplier=z, steps=k, orders=_ORDERS)
            )
            gaussian_delta += charge.delta
            found = True
        if not found:
            return basic
        epsilon, _order = opacus_rdp.get_privacy_spent(
            orders=_ORDERS, rdp=curve, delta=min(gaussian_delta, 0.5)
        )
        composed = Spent(float(epsilon) + other_eps, gaussian_delta + other_delta)
        if composed.epsilon <= basic.epsilon:
            return composed
        return basic
