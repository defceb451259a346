"""The public API of shared.consensus is exactly this list."""

import shared.consensus as consensus

EXPECTED = [
    "ConsensusError",
    "ConsensusInputError",
    "MajorityResult",
    "MultiLabelStapleResult",
    "StapleResult",
    "label_disagreement",
    "majority_vote",
    "mask_disagreement",
    "staple",
    "staple_multilabel",
]


def test_export_list_is_exact_and_sorted() -> None:
    assert consensus.__all__ == EXPECTED
    assert sorted(consensus.__all__) == consensus.__all__


def test_error_tree() -> None:
    from shared.errors import HarmoniaError, InvalidInputError

    assert issubclass(consensus.ConsensusError, HarmoniaError)
    assert issubclass(consensus.ConsensusInputError, consensus.ConsensusError)
    assert issubclass(consensus.ConsensusInputError, InvalidInputError)
