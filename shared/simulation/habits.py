"""A simulated reader's habits, and the guideline revision that clarifies each away.

:class:`ReaderHabits` describes how one reader departs from ground truth:
over- or under-segmentation (``dilation_mm`` > 0 or < 0), a wobbly boundary
(``boundary_noise_mm``), lesions they miss (``miss_probability``) and
category confusions (``confusion``: true code → probabilities of the codes
they give). ``labels`` limits a habit to some labels; ``clarified_in`` says
the guideline version whose clarified rule the reader follows: from that
version on, the habit is gone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shared.simulation.errors import SimulationError

__all__ = ["ReaderHabits", "ReaderProfile", "version_key"]

_READER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """A sort key for guideline versions: ``"1.10"`` sorts after ``"1.9"``."""
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"[.\-+]", version)
    )


@dataclass(frozen=True)
class ReaderHabits:
    """How a reader departs from ground truth.

    Parameters
    ----------
    dilation_mm
        Grow (> 0) or shrink (< 0) every drawn lesion by this distance in mm
        (masks, boxes, polygons, lengths).
    boundary_noise_mm
        Amplitude (standard deviation, mm) of a smooth random displacement of
        the drawn boundary.
    miss_probability
        Probability of missing each lesion (0..1).
    confusion
        For classification labels: true category code → {given code:
        probability}. Rows must sum to 1; codes not listed are read correctly.
    labels
        The labels the habit applies to; empty means every label.
    clarified_in
        The guideline version that clarified the rule behind this habit: from
        that version on, the reader follows the rule and the habit disappears.
    """

    dilation_mm: float = 0.0
    boundary_noise_mm: float = 0.0
    miss_probability: float = 0.0
    confusion: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    labels: frozenset[str] = frozenset()
    clarified_in: str | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.dilation_mm):
            raise SimulationError(f"dilation_mm must be finite, got {self.dilation_mm!r}")
        if not (math.isfinite(self.boundary_noise_mm) and self.boundary_noise_mm >= 0):
            raise SimulationError(
                f"boundary_noise_mm must be a finite number >= 0, got {self.boundary_noise_mm!r}"
            )
        if not 0.0 <= self.miss_probability <= 1.0:
            raise SimulationError(
                f"miss_probability must lie in 0..1, got {self.miss_probability!r}"
            )
        for true, row in self.confusion.items():
            total = sum(row.values())
            if any(p < 0 for p in row.values()) or abs(total - 1.0) > 1e-6:
                raise SimulationError(
                    f"confusion row {true!r} must hold probabilities that sum to 1, got {total:g}"
                )
        object.__setattr__(self, "labels", frozenset(self.labels))

    def applies(self, label: str, version: str) -> bool:
        """Whether this habit affects ``label`` under guideline ``version``."""
        if self.labels and label not in self.labels:
            return False
        return self.clarified_in is None or version_key(version) < version_key(self.clarified_in)


@dataclass(frozen=True)
class ReaderProfile:
    """A simulated reader: a pseudonym, a seed, and habits.

    Parameters
    ----------
    reader
        The reader's name (a username or pseudonym).
    seed
        Drives every random choice; the same profile, case and guideline
        always give the same annotations.
    habits
        Applied together: dilations add, noise amplitudes add in quadrature,
        miss probabilities combine, the last confusion for a code wins.
    confidence
        The confidence the reader gives (on the guideline's scale).
    """

    reader: str
    seed: int = 0
    habits: tuple[ReaderHabits, ...] = ()
    confidence: int = 4

    def __init__(
        self,
        reader: str,
        seed: int = 0,
        habits: Iterable[ReaderHabits] = (),
        confidence: int = 4,
    ) -> None:
        if not _READER.match(reader):
            raise SimulationError(f"reader name {reader!r} must match {_READER.pattern}")
        if seed < 0:
            raise SimulationError(f"seed must be >= 0, got {seed}")
        object.__setattr__(self, "reader", reader)
        object.__setattr__(self, "seed", int(seed))
        object.__setattr__(self, "habits", tuple(habits))
        object.__setattr__(self, "confidence", int(confidence))

    def effective(self, label: str, version: str) -> ReaderHabits:
        """The combined habits that affect ``label`` under guideline ``version``."""
        active = [h for h in self.habits if h.applies(label, version)]
        keep = 1.0
        confusion: dict[str, Mapping[str, float]] = {}
        for habit in active:
            keep *= 1.0 - habit.miss_probability
            confusion.update(habit.confusion)
        return ReaderHabits(
            dilation_mm=sum(h.dilation_mm for h in active),
            boundary_noise_mm=math.sqrt(sum(h.boundary_noise_mm**2 for h in active)),
            miss_probability=min(max(1.0 - keep, 0.0), 1.0),
            confusion=confusion,
        )
