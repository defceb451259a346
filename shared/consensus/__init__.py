"""Consensus between readers: majority vote, STAPLE, and disagreement scores.

* :func:`majority_vote` — labels and masks alike; ties go to the lowest label
  (background, for masks) and are flagged.
* :func:`staple` — binary STAPLE (Warfield et al. 2004): consensus probability and
  per-reader sensitivity and specificity; :func:`staple_multilabel` — per-reader
  confusion matrices.
* :func:`label_disagreement` (normalised vote entropy per item) and
  :func:`mask_disagreement` (1 − mean pairwise Dice per case) rank cases for
  adjudication and active learning.

Errors are rooted at :class:`ConsensusError` (see :mod:`shared.consensus.errors`).
"""

from shared.consensus.disagreement import label_disagreement, mask_disagreement
from shared.consensus.errors import ConsensusError, ConsensusInputError
from shared.consensus.majority import MajorityResult, majority_vote
from shared.consensus.staple import (
    MultiLabelStapleResult,
    StapleResult,
    staple,
    staple_multilabel,
)

__all__ = [
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
