"""Inter-reader agreement metrics computed from summable sufficient statistics.

Every metric here is a function of sufficient statistics that add up across sites
(``stats_a + stats_b`` equals the statistics of the pooled data), so the node's
dashboards, its QA checks and the federated statistics rounds share one code path.
Each statistics type serializes with ``to_arrays()`` / ``from_arrays()``.

Return convention
    Agreement *coefficients* over a set of items return an :class:`Estimate`
    (``value``, ``ci_low``, ``ci_high``, ``method``, ``se``, ``note``):
    :func:`cohen_kappa`, :func:`fleiss_kappa`, :func:`krippendorff_alpha`,
    :func:`percent_agreement`, :func:`icc`; :func:`bland_altman` returns a
    :class:`BlandAltman` of estimates. Per-case geometric measures return ``float``:
    :func:`dice`, :func:`iou`, :func:`hausdorff`, :func:`surface_distance`,
    :func:`volume_difference`. Matching returns a :class:`MatchResult`.
    An undefined coefficient (kappa or alpha when chance agreement is total, ICC when
    every rating is equal) is ``nan`` with the reason in ``Estimate.note``; an
    :class:`Estimate` cannot be built with ``nan`` and no note, and
    ``Estimate.defined`` tells the two apart. Nothing else returns NaN: per-case
    measures and statistics summaries use documented values (1.0 for two empty masks,
    0.0 mm / ``inf`` mm for both / one empty) or raise :class:`EmptyInputError`
    when there is nothing to summarise. ``tests/unit/shared/agreement/
    test_edge_cases.py`` holds the table of every function × edge case.

Statistics types and what they feed
    ========================  ====================================================
    ConfusionStats            Cohen's kappa (all weightings), two-reader % agreement
    CategoryCountStats        Fleiss' kappa, many-reader % agreement
    CoincidenceStats          Krippendorff's alpha (all levels, missing ratings)
    OverlapStats              pooled and mean per-case Dice/IoU per label
    DistanceHistogramStats    pooled ASSD/HD (exact), HD95 quantiles (binned)
    DetectionStats            pooled F1 of matched boxes, polygons, keypoints
    ContinuousStats           ICC forms and Bland–Altman limits
    ========================  ====================================================

Errors are rooted at :class:`AgreementError` (see :mod:`shared.agreement.errors`).
"""

from shared.agreement.alpha import AlphaLevel, CoincidenceStats, krippendorff_alpha
from shared.agreement.confusion import ConfusionStats, KappaWeights, cohen_kappa
from shared.agreement.continuous import BlandAltman, ContinuousStats, bland_altman, icc
from shared.agreement.detection import MatchResult, match_boxes, match_keypoints, match_polygons
from shared.agreement.detection_stats import DetectionStats
from shared.agreement.distance_stats import DistanceHistogramStats
from shared.agreement.errors import (
    AgreementError,
    AgreementInputError,
    EmptyInputError,
    IncompatibleStatsError,
    ShapeMismatchError,
    SpacingError,
)
from shared.agreement.estimate import Estimate
from shared.agreement.fleiss import CategoryCountStats, fleiss_kappa
from shared.agreement.icc import IccForm
from shared.agreement.overlap import OverlapStats, dice, iou, volume_difference
from shared.agreement.percent import percent_agreement
from shared.agreement.polygon import polygon_iou
from shared.agreement.surface import hausdorff, surface_distance

__all__ = [
    "AgreementError",
    "AgreementInputError",
    "AlphaLevel",
    "BlandAltman",
    "CategoryCountStats",
    "CoincidenceStats",
    "ConfusionStats",
    "ContinuousStats",
    "DetectionStats",
    "DistanceHistogramStats",
    "EmptyInputError",
    "Estimate",
    "IccForm",
    "IncompatibleStatsError",
    "KappaWeights",
    "MatchResult",
    "OverlapStats",
    "ShapeMismatchError",
    "SpacingError",
    "bland_altman",
    "cohen_kappa",
    "dice",
    "fleiss_kappa",
    "hausdorff",
    "icc",
    "iou",
    "krippendorff_alpha",
    "match_boxes",
    "match_keypoints",
    "match_polygons",
    "percent_agreement",
    "polygon_iou",
    "surface_distance",
    "volume_difference",
]
