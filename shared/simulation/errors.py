"""The simulator's one error: a reader or case that cannot be simulated."""

from __future__ import annotations

from shared.errors import InvalidInputError

__all__ = ["SimulationError"]


class SimulationError(InvalidInputError):
    """A reader habit, case or guideline the simulator cannot honour; the message says why."""
