"""Federated statistics of a node: agreement sufficient statistics and diversity histograms.

:func:`release_statistics` answers a coordinator's :class:`StatisticsRequest`:
it computes a project's per-label agreement statistics (the quality
dashboard's own summable statistics, :func:`agreement_payload`) and its
diversity histograms (:func:`diversity_payload`), noises them with the
Gaussian mechanism calibrated to each statistic's sensitivity
(:mod:`node.stats.privacy`), charges the site's statistics budget through the
egress gate (composed by :class:`RdpAccountant`, Opacus's RDP analysis) and
returns only the bytes the gate released (:func:`release_statistics`, a
per-site release, only where the site's policy allows it). For a secure sum
(:mod:`node.stats.secure`) it releases the round's public layout
(:func:`describe_statistics`) and then the site's noised, charged
contribution encoded as an exact limb vector (:func:`secure_statistics`).
Mask and detection statistics are noised with a bounded contribution per task
(:mod:`node.stats.bounded`). No Flower and no torch here: the ClientApp
(:mod:`node.clientapp`) is the transport.
"""

from node.stats.agreement import agreement_payload, statistics_of_kind
from node.stats.bounded import DISTANCE_BOUND_MM, UNIT, bounded_detection, bounded_overlap
from node.stats.diversity import diversity_payload, empty_diversity
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
    open_statistics,
    release_statistics,
    statistics_gate,
    statistics_payloads,
)
from node.stats.secure import (
    SECURE_DESTINATION,
    SecureContribution,
    describe_statistics,
    secure_statistics,
    statistics_layout,
)

__all__ = [
    "DISTANCE_BOUND_MM",
    "POLICY_FILE",
    "SECURE_DESTINATION",
    "UNIT",
    "NoisedArray",
    "RdpAccountant",
    "Release",
    "SecureContribution",
    "StatisticsPolicy",
    "StatisticsRequest",
    "agreement_payload",
    "bounded_detection",
    "bounded_overlap",
    "describe_statistics",
    "diversity_payload",
    "empty_diversity",
    "gaussian_charge",
    "gaussian_epsilon",
    "noise_arrays",
    "open_statistics",
    "release_statistics",
    "secure_statistics",
    "statistics_gate",
    "statistics_layout",
    "statistics_of_kind",
    "statistics_payloads",
]
