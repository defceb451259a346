"""A migrated node database, the example guideline's vocabulary and a gate over them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine

from node.egress import (
    EgressGate,
    KindRules,
    PrivacyBudget,
    Purpose,
    Vocabulary,
    vocabulary_of,
)
from node.store import create_database_engine, migrate
from shared.agreement import ConfusionStats, OverlapStats
from shared.schemas import load_guideline

EXAMPLE = Path(__file__).parents[4] / "docs" / "examples" / "guideline-lung-nodule.yaml"
GUIDELINE = load_guideline(EXAMPLE)
VOCABULARY = vocabulary_of(GUIDELINE)
CALIBRATION = {"cal-2026": frozenset({"case-001", "case-002"})}


def vocabulary(name: str, version: str) -> Vocabulary | None:
    if (name, version) == (GUIDELINE.name, GUIDELINE.version):
        return VOCABULARY
    return None


RULES = KindRules(vocabulary=vocabulary, calibration_cases=CALIBRATION.get)


class Clock:
    """A settable clock."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'node.db'}", durable=False)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gate(engine: Engine, clock: Clock) -> EgressGate:
    return EgressGate(
        engine,
        site="hospital-a",
        rules=RULES,
        budgets={
            Purpose.STATISTICS: PrivacyBudget(epsilon=1.0, delta=1e-5),
            Purpose.TRAINING: PrivacyBudget(epsilon=8.0, delta=1e-5),
        },
        clock=clock,
    )


def guideline_ref() -> dict[str, str]:
    return {"name": GUIDELINE.name, "version": GUIDELINE.version}


def agreement_payload() -> dict[str, Any]:
    codes = [c.code for c in GUIDELINE.labels[2].categories]
    confusion = ConfusionStats.from_labels(["1", "2", "2", "3"], ["1", "2", "3", "3"], codes)
    a = np.zeros((4, 8, 8), dtype=bool)
    a[1, 2:5, 2:5] = True
    b = np.zeros_like(a)
    b[1, 3:6, 2:5] = True
    overlap = OverlapStats.from_masks(a, b)
    return {
        "guideline": guideline_ref(),
        "statistics": [
            {"label": "lung-rads", "statistic": "confusion", "arrays": confusion.to_arrays()},
            {"label": "nodule-mask", "statistic": "overlap", "arrays": overlap.to_arrays()},
        ],
    }


def model_payload() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    return {
        "arrays": {
            "conv1.weight": rng.normal(size=(4, 1, 3, 3)).astype(np.float32),
            "conv1.bias": np.zeros(4, dtype=np.float32),
        },
        "metadata": {"num_examples": 12, "train_loss": 0.5, "model": "unet-small"},
    }
