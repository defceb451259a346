"""``harmonia-coordinator round train``: a federated training run, with progress, into the registry.

Needs ``harmonia-coordinator serve --flower`` on the same data directory. The
work is :func:`coordinator.training.run_training` (the admin API starts the
same run in the background: :class:`coordinator.training.TrainingService`):
it validates the plan (:class:`shared.schemas.TrainingPlan`), refuses a robust
aggregation together with SecAgg+, writes the run's folder under
``DATA_DIR/flower/runs/<run id>`` (``plan.json``, ``initial.weights``: a fresh
model from :func:`shared.models.build_model`, or a registered version with
``--from-model``), records the run (:class:`coordinator.models.TrainingRun`),
submits the training app (``coordinator/serverapp/training_fab``) to the local
SuperLink with ``flwr run`` and records each round as the ServerApp writes it.
This command prints one progress line per round (sites answered, refused,
missing; loss and evaluation; bytes) and the result as JSON. A completed run
registers the final weights as the plan's next model version. When the
SuperLink stops mid-run (the coordinator restarted), the run is recorded
``interrupted`` with the rounds it completed, and the command exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from coordinator.commands.options import settings_from
from coordinator.exit_codes import ExitCode
from coordinator.training import Aggregation, run_training
from coordinator.training.initial import initial_weights as _initial_weights  # noqa: F401
from shared.schemas.training import Compression, TrainingPlan

__all__ = ["run_training", "train"]

# ``_initial_weights`` stays importable here for benchmarks/scale.py until it imports
# coordinator.training.initial.initial_weights itself.


def train(args: argparse.Namespace) -> int:
    """``round train``'s handler (its options: :mod:`coordinator.commands.rounds`)."""
    settings = settings_from(args)
    text = args.plan.read_text(encoding="utf-8")
    plan = TrainingPlan.from_yaml(text, source=str(args.plan))
    if args.compression:
        plan = plan.model_copy(update={"compression": Compression(args.compression)})

    def show(entry: dict[str, Any]) -> None:
        evaluation = entry.get("evaluation_of_received", {}).get("pooled", {})
        loss = entry.get("train_loss")
        print(
            f"round {entry['round']}: answered {', '.join(entry['answered']) or 'none'}"
            + (f"; refused {', '.join(entry['refused'])}" if entry["refused"] else "")
            + (f"; missing {', '.join(entry['missing'])}" if entry["missing"] else "")
            + (
                f"; asked again after rejoining {', '.join(entry['asked_again'])}"
                if entry.get("asked_again")
                else ""
            )
            + (f"; train loss {loss:.4f}" if loss is not None else "")
            + "".join(f"; {k} {v:.4f}" for k, v in sorted(evaluation.items()) if k != "count")
            + f"; bytes {sum(entry['bytes'].values())}; {entry.get('wall_s', 0):.1f} s",
            file=sys.stderr,
            flush=True,
        )

    result = run_training(
        settings,
        plan=plan,
        project=args.project,
        rounds=args.rounds,
        min_sites=args.min_sites,
        aggregation=Aggregation(args.aggregation),
        secure_aggregation=args.secure_aggregation,
        from_model=args.from_model,
        expected_nodes=args.expected_nodes,
        extra={
            "trim-fraction": args.trim_fraction,
            "krum-malicious": args.krum_malicious,
            "wait-nodes-s": args.wait_nodes,
            "rejoin-wait-s": args.rejoin_wait,
            "reply-timeout-s": args.reply_timeout,
            "exchange": args.exchange,
            "in-process": args.in_process,
        },
        progress=show,
    )
    print(json.dumps(result, sort_keys=True), flush=True)
    if result.get("status") == "completed":
        return ExitCode.OK
    print(
        f"harmonia-coordinator: training run {result.get('run_id', '')} ended "
        f"{result.get('status')}: {result.get('message') or 'no message'}",
        file=sys.stderr,
        flush=True,
    )
    return ExitCode.FAILED
