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

    @property
    def agreement_rose(self) -> bool:
        """Whether the flagged label's agreement went up after the revision."""
        before, after = self.agreement_before, self.agreement_after
        return before is not None and after is not None and after > before


def model_dice(evaluation: dict[str, Any]) -> float | None:
    """The final evaluation's Dice: pooled when there, else the mean of the sites'."""
    pooled = evaluation.get("pooled") or {}
    if isinstance(pooled.get("dice"), int | float):
        return float(pooled["dice"])
    values = [
        float(site["dice"])
        for site in (evaluation.get("sites") or {}).values()
        if isinstance(site.get("dice"), int | float)
    ]
    return sum(values) / len(values) if values else None
