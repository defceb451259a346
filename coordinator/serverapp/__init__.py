"""The coordinator's Flower ServerApp (Flower only; the work is in :mod:`coordinator.rounds`).

``app`` runs a statistics round with Flower's Message API (push, then a fast
pull loop). ``FAB_DIR`` is the hand-written Flower app folder
(``pyproject.toml`` naming this ServerApp and :mod:`node.clientapp`'s
ClientApp) that ``harmonia-coordinator round stats`` runs.
"""

from pathlib import Path

from coordinator.serverapp.app import app, run_round

FAB_DIR = Path(__file__).parent / "fab"
"""The Flower app folder (``pyproject.toml``) of the statistics round."""

__all__ = ["FAB_DIR", "app", "run_round"]
