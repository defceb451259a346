"""The public API of shared.agreement is exactly this list."""

import shared.agreement as agreement

EXPECTED = [
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


def test_export_list_is_exact_and_sorted() -> None:
    assert agreement.__all__ == EXPECTED
    assert sorted(agreement.__all__) == agreement.__all__


def test_every_export_resolves() -> None:
    for name in agreement.__all__:
        assert getattr(agreement, name) is not None


def test_error_tree_roots() -> None:
    from shared.errors import HarmoniaError, InvalidInputError

    assert issubclass(agreement.AgreementError, HarmoniaError)
    for err in (
        agreement.AgreementInputError,
        agreement.EmptyInputError,
        agreement.ShapeMismatchError,
        agreement.SpacingError,
        agreement.IncompatibleStatsError,
    ):
        assert issubclass(err, agreement.AgreementError)
        assert issubclass(err, InvalidInputError)
