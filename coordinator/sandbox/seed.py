"""The sandbox's seed model: its training plan's network pre-trained on public synthetic phantoms.

DP-SGD on the few cases a sandbox site holds cannot teach a network from
random weights anything (each step's noise swamps the clipped signal of one
or two cases); DP fine-tuning of a network that already knows the task is how
DP training is done with little private data. A consortium would start from a
model trained on public data; the sandbox's public data are phantoms from the
same generator as the sites', in every site's scanner style, with seeds no
site uses and their known truth as targets (no readers, no privacy cost).

:func:`pretrain` trains the plan's network on them without DP (Adam at the
plan's learning rate) and scores it on further public phantoms.
``python -m coordinator.sandbox.seed PLAN OUT`` writes the weights file
``OUT`` (imported with ``harmonia-coordinator model import``) and prints the
facts as JSON; the sandbox runs it in a child process while the readers work,
so torch stays out of the sandbox's own process. With ``--score`` it prints
the Dice of the weights file ``OUT`` on the same public held-out phantoms
(:func:`public_dice`): the sandbox scores the fine-tuned model so.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

from shared.schemas.training import TrainingPlan

__all__ = [
    "PUBLIC_SEED_BASE",
    "SEED_EPOCHS",
    "SEED_TRAIN_CASES",
    "main",
    "pretrain",
    "public_dice",
]

PUBLIC_SEED_BASE = 900_000
"""Phantom seeds of the public cases: far above any site's (1000 × (site index + 1) + case)."""

SEED_TRAIN_CASES = 6
"""Public training phantoms (spread over the sites' scanner styles)."""

SEED_EPOCHS = 150
"""Passes over them: this tiny network predicts only background until about 100 (measured),
then finds the lesions; 150 leave a margin and take about 15 CPU seconds."""

_TEST_CASES = 3


def _public_series(styles: int, count: int, first: int) -> list[Any]:
    from coordinator.sandbox.scenario import site_scenarios
    from shared.phantoms import generate_series

    scenarios = site_scenarios(max(styles, 1), 1)
    series = []
    for number in range(first, first + count):
        scenario = dataclasses.replace(scenarios[number % len(scenarios)], name="public")
        spec = dataclasses.replace(scenario.case_spec(0), seed=PUBLIC_SEED_BASE + number)
        series.append(generate_series(spec))
    return series


def pretrain(
    plan: TrainingPlan,
    *,
    styles: int = 3,
    cases: int = SEED_TRAIN_CASES,
    epochs: int = SEED_EPOCHS,
    seed: int = 0,
) -> tuple[bytes, dict[str, Any]]:
    """The plan's network trained on ``cases`` public phantoms; its weights file and facts.

    ``styles`` is how many of the sites' scanner styles the phantoms cycle
    through. The facts: cases, epochs, CPU seconds, and the Dice on
    :data:`_TEST_CASES` further public phantoms.
    """
    import torch

    from node.learn.public import phantom_samples
    from node.learn.training import fit
    from shared.models import build_model, model_weights, weight_names
    from shared.weights import encode_weights

    started = time.process_time()
    torch.manual_seed(seed)
    training = phantom_samples(_public_series(styles, cases, 0), plan)
    model = build_model(plan, seed=seed)
    schedule = plan.model_copy(update={"local_epochs": epochs, "privacy": None})
    fit(model, training, schedule, seed=seed)
    arrays = dict(zip(weight_names(model), model_weights(model), strict=True))
    dice = public_dice(plan, arrays, styles=styles, first=cases)
    facts = {
        "cases": cases,
        "slices": len(training),
        "epochs": epochs,
        "dice_on_public_held_out": round(dice, 4),
        "cpu_s": round(time.process_time() - started, 1),
    }
    return encode_weights(arrays, {"pretrained": facts}), facts


def public_dice(
    plan: TrainingPlan,
    arrays: dict[str, Any],
    *,
    styles: int = 3,
    first: int = SEED_TRAIN_CASES,
) -> float:
    """Dice of ``arrays`` on the public held-out phantoms (those after the ``first`` training ones).

    The same phantoms score the seed and the model fine-tuned from it, so the
    two figures compare; the sites' own evaluation is DP-noised and, on a
    sandbox's one validation case per site, too noisy to read.
    """
    from node.learn.evaluation import evaluate_model
    from node.learn.public import phantom_samples
    from shared.models import build_model, load_weights

    model = build_model(plan)
    load_weights(model, list(arrays.values()))
    held_out = phantom_samples(_public_series(styles, _TEST_CASES, first), plan)
    return float(evaluate_model(model, held_out)["dice"])


def main(argv: list[str] | None = None) -> int:
    """Write the seed model's weights for a plan; print its facts as JSON."""
    parser = argparse.ArgumentParser(prog="python -m coordinator.sandbox.seed")
    parser.add_argument("plan", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--styles", type=int, default=3)
    parser.add_argument("--cases", type=int, default=SEED_TRAIN_CASES)
    parser.add_argument("--epochs", type=int, default=SEED_EPOCHS)
    parser.add_argument(
        "--score", action="store_true", help="score the weights file OUT instead of training"
    )
    args = parser.parse_args(argv)
    import torch

    from shared.weights import decode_weights

    torch.set_num_threads(1)  # beside the sandbox's nodes on a small machine
    plan = TrainingPlan.from_json(args.plan.read_bytes(), source=str(args.plan))
    if args.score:
        arrays, _ = decode_weights(args.out.read_bytes())
        dice = public_dice(plan, arrays, styles=args.styles, first=args.cases)
        print(json.dumps({"dice_on_public_held_out": round(dice, 4)}))
        return 0
    weights, facts = pretrain(plan, styles=args.styles, cases=args.cases, epochs=args.epochs)
    partial = args.out.with_suffix(".partial")
    partial.write_bytes(weights)
    partial.replace(args.out)
    print(json.dumps(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
