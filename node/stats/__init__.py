"""Federated statistics of a node: agreement sufficient statistics and diversity histograms.

:func:`release_statistics` answers a coordinator's :class:`StatisticsRequest`:
it computes a project's per-label agreement statistics (the quality
dashboard's own summable statistics, :func:`agreement_payload`) and its
diversity histograms (:func:`diversity_payload`), noises them with the
Gaussian mechanism calibrated to each statistic's sensitivity
(:mod:`node.stats.privacy`), charges the site's statistics budget through the
egress gate (composed by :class:`RdpAccountant`, Opacus's RDP analysis) and
returns only the bytes the gate released. No Flower and no torch here: the
ClientApp (:mod:`node.clientapp`) is the transport.
"""

from node.stats.agreement import agreement_payload
from node.stats.diversity import diversity_payload
from node.stats.privacy import (
    NoisedArray,
    RdpAccountant,
    gaussian_charge,
    gaussian_epsilon,
    noise_arrays,
)
from node.stats.release import (
    POLICY_FILE,
    Release,
    StatisticsPolicy,
    StatisticsRequest,
    release_statistics,
)

__all__ = [
    "POLICY_FILE",
    "NoisedArray",
    "RdpAccountant",
    "Release",
    "StatisticsPolicy",
    "StatisticsRequest",
    "agreement_payload",
    "diversity_payload",
    "gaussian_charge",
    "gaussian_epsilon",
    "noise_arrays",
    "release_statistics",
]
