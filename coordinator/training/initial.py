"""A fresh model's initial weights for a training plan (imports torch: load it only to build one).

:func:`initial_weights` builds the plan's network (:func:`shared.models.build_model`)
with a seed taken from the plan's canonical JSON, so the same plan always starts
from the same weights. ``python -m coordinator.training.initial RUN_DIR`` writes
``RUN_DIR/initial.weights`` from ``RUN_DIR/plan.json``: a serving coordinator
builds them so, in a child process, and never loads torch itself.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from shared.schemas.training import TrainingPlan
from shared.weights import encode_weights

__all__ = ["initial_weights", "main"]


def initial_weights(plan: TrainingPlan) -> bytes:
    """The plan's freshly initialised network, in :mod:`shared.weights` form."""
    from shared.models import build_model, model_weights, weight_names  # torch: only here

    seed = int.from_bytes(hashlib.sha256(plan.canonical_json()).digest()[:4], "big")
    model = build_model(plan, seed=seed)
    return encode_weights(dict(zip(weight_names(model), model_weights(model), strict=True)))


def main(argv: list[str] | None = None) -> int:
    """Write ``RUN_DIR/initial.weights`` from ``RUN_DIR/plan.json``; the exit status."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m coordinator.training.initial RUN_DIR", file=sys.stderr)
        return 2
    run_dir = Path(args[0])
    plan = TrainingPlan.from_json((run_dir / "plan.json").read_bytes(), source="plan.json")
    partial = run_dir / "initial.weights.partial"
    partial.write_bytes(initial_weights(plan))
    partial.replace(run_dir / "initial.weights")
    return 0


if __name__ == "__main__":
    sys.exit(main())
