"""The coordinator's Flower ServerApp (Flower only; the work is in :mod:`coordinator.rounds`).

``app`` runs a statistics round with Flower's Message API (push, then a fast
pull loop) and sums the sites' statistics under SecAgg+
(:func:`secure_sum`). :func:`secure_aggregate` runs SecAgg+ once from any
Message-API ServerApp (for model updates as well): it returns the aggregate,
the survivors and the dropped nodes with their stage. ``FAB_DIR`` is the
hand-written Flower app folder (``pyproject.toml`` naming this ServerApp and
:mod:`node.clientapp`'s ClientApp) that ``harmonia-coordinator round stats``
runs.
"""

from pathlib import Path

from coordinator.serverapp.app import app, run_round
from coordinator.serverapp.fast_grid import FastGrid
from coordinator.serverapp.secure_aggregation import (
    SecAggParameters,
    SecureAggregate,
    secure_aggregate,
    secure_sum,
)

FAB_DIR = Path(__file__).parent / "fab"
"""The Flower app folder (``pyproject.toml``) of the statistics round."""

__all__ = [
    "FAB_DIR",
    "FastGrid",
    "SecAggParameters",
    "SecureAggregate",
    "app",
    "run_round",
    "secure_aggregate",
    "secure_sum",
]
