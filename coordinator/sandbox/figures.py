"""The headline figures a sandbox run reports, and how the model's Dice is read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Figures", "model_dice"]


@dataclass
class Figures:
    """The headline figures the sandbox reports."""

    agreement_before: float | None = None
    agreement_after: float | None = None
    flagged_labels: list[str] = field(default_factory=list)
    model: str | None = None
    model_dice: float | None = None
    drafts: dict[str, int] = field(default_factory=dict)
    seed_dice: float | None = None
    """The seed model's Dice on public held-out phantoms, before any site's data."""
    model_public_dice: float | None = None
    """The trained model's Dice on the same public held-out phantoms."""

    @property
    def agreement_rose(self) -> bool:
        """Whether the flagged label's agreement went up after the revision."""
        before, after = self.agreement_before, self.agreement_after
        return before is not None and after is not None and after > before


def model_dice(evaluation: dict[str, Any]) -> float | None:
    """The final evaluation's Dice: pooled when there, else the mean of the sites', in [0, 1].

    The sites release their evaluation sums with DP noise; on a sandbox's one
    validation case per site the noise can push the ratio outside [0, 1].
    Clipping it there is post-processing (no privacy cost) and the nearest
    possible Dice.
    """
    pooled = evaluation.get("pooled") or {}
    if isinstance(pooled.get("dice"), int | float):
        return _dice_range(pooled["dice"])
    values = [
        _dice_range(site["dice"])
        for site in (evaluation.get("sites") or {}).values()
        if isinstance(site.get("dice"), int | float)
    ]
    return sum(values) / len(values) if values else None


def _dice_range(value: float) -> float:
    return min(max(float(value), 0.0), 1.0)
