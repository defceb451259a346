"""Errors the consensus engine raises.

::

    HarmoniaError
    └── ConsensusError                  anything the consensus engine raises
        └── ConsensusInputError         votes or masks that break a documented rule
                                        (also InvalidInputError)

Messages name the rule that was broken and what to do about it.
"""

from __future__ import annotations

from shared.errors import HarmoniaError, InvalidInputError

__all__ = ["ConsensusError", "ConsensusInputError"]


class ConsensusError(HarmoniaError):
    """Root of every error the consensus engine raises."""


class ConsensusInputError(ConsensusError, InvalidInputError):
    """Votes or masks break a documented rule (shape, dtype, too few readers)."""
