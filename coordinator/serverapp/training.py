"""The training ServerApp (Flower's Message API): rounds of local training, aggregated.

``harmonia-coordinator round train`` writes the run's folder (``plan.json``,
``initial.weights``) and submits this app with ``flwr run``. Each round:

1. take the connected SuperNodes (waiting up to ``wait-nodes-s`` for
   ``expected-nodes`` in the first round, ``rejoin-wait-s`` later, so a node
   that restarted rejoins);
2. send each a ``train`` message with the global weights and the plan — in
   the clear with a fast pull loop (:mod:`~coordinator.serverapp.training_exchange`),
   or under SecAgg+ (:mod:`~coordinator.serverapp.training_secure`);
3. a site that refuses (budget exceeded, no consensus, plan does not fit) is
   reported with its message; one that does not answer before
   ``reply-timeout-s`` is reported missing. With fewer than ``min-sites``
   updates the run stops (``failed``) and keeps the last global model;
4. aggregate (:mod:`~coordinator.serverapp.training_aggregation`), write the
   round's checkpoint (``round-<n>.weights``) and append its progress entry to
   ``progress.jsonl`` (sites answered, refused, missing, train loss, the
   evaluation of the weights the sites received, bytes per site, privacy
   charges, timings) — the command prints these as they come.

After the last round one ``evaluate`` message per site measures the final
model on each site's local validation consensus. ``result.json`` closes the
run (``completed``, ``failed`` or ``interrupted``, with the reason).
"""

from __future__ import annotations

import json
import time
import traceback
from pathlib import Path
from typing import Any

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp
from flwr.supercore.exit import add_exit_handler

from coordinator.serverapp.training_aggregation import (
    Aggregation,
    AggregationSettings,
    check_aggregation,
)
from coordinator.serverapp.training_exchange import load_registry, wait_for_nodes
from coordinator.serverapp.training_round import RoundRunner, TrainingConfig
from shared.weights import decode_weights, encode_weights

__all__ = ["app", "run_training"]

app = ServerApp()


def _write_json(path: Path, document: dict[str, Any]) -> None:
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
    staging.replace(path)


def run_training(
    grid: Grid, config: dict[str, Any], context: Context | None = None
) -> dict[str, Any]:
    """Run every round of a training run on ``grid``; the run's result document.

    ``context`` (the ServerApp's) is needed for rounds under SecAgg+.
    """
    settings = TrainingConfig.from_run_config(config)
    aggregation = AggregationSettings(
        Aggregation(settings.aggregation), settings.trim_fraction, settings.krum_malicious
    )
    check_aggregation(aggregation.rule, secure_aggregation=settings.secure_aggregation)
    run_dir = settings.run_dir
    weights, _ = decode_weights((run_dir / "initial.weights").read_bytes())
    runner = RoundRunner(
        grid, settings, aggregation, load_registry(settings.registry_path), context
    )
    progress = run_dir / "progress.jsonl"
    history: list[dict[str, Any]] = []
    status, message = "completed", ""
    for server_round in range(1, settings.rounds + 1):
        nodes = wait_for_nodes(
            grid,
            settings.expected_nodes,
            settings.wait_nodes_s if server_round == 1 else settings.rejoin_wait_s,
            settings.poll_s,
        )
        outcome = runner.train_round(server_round, nodes, weights)
        with progress.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(outcome.entry, sort_keys=True) + "\n")
        history.append(outcome.entry)
        if outcome.weights is None:
            status, message = "failed", outcome.entry["message"]
            break
        weights = outcome.weights
        (run_dir / f"round-{server_round}.weights").write_bytes(
            encode_weights(weights, {"round": server_round})
        )
    final: dict[str, Any] = {}
    if status == "completed":
        nodes = wait_for_nodes(
            grid, settings.expected_nodes, settings.rejoin_wait_s, settings.poll_s
        )
        final = runner.evaluate(nodes, weights)
    (run_dir / "final.weights").write_bytes(encode_weights(weights, {"rounds": len(history)}))
    return {
        "run_id": settings.run_id,
        "status": status,
        "message": message,
        "rounds_requested": settings.rounds,
        "rounds_completed": sum(1 for e in history if e.get("aggregated")),
        "history": history,
        "final_evaluation": final,
        "sites": runner.contributions(),
        "guideline": runner.guideline(),
        "aggregation": str(aggregation.rule),
        "secure_aggregation": settings.secure_aggregation,
        "weighting": (
            "equal"
            if settings.secure_aggregation
            else "examples"
            if aggregation.rule is Aggregation.FEDAVG
            else "unweighted"
        ),
        "weights_path": str(run_dir / "final.weights"),
    }


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run the training run and write ``result.json`` in its folder (whatever happens).

    When the process is told to stop (its SuperExec went away with the SuperLink,
    or a signal), Flower runs its exit handlers and ends the process, possibly
    before this function sees an exception (it forces the exit after 5 s): the
    run's interrupted result is written by an exit handler that runs first.
    """
    config = dict(context.run_config)
    run_dir = Path(str(config["run-dir"]))
    started = time.monotonic()
    stopped = _StopRecorder(config, run_dir, started)
    add_exit_handler(stopped, run_before_force_exit=True)
    try:
        result = run_training(grid, config, context)
    except Exception as error:  # the run must end with its state recorded
        result = _interrupted(
            config, f"{type(error).__name__}: {error}", traceback.format_exc(limit=8)
        )
    except BaseException as error:  # SystemExit from Flower's signal handler
        stopped(type(error).__name__)
        raise
    result["wall_time_s"] = round(time.monotonic() - started, 3)
    stopped.done = True
    _write_json(run_dir / "result.json", result)


class _StopRecorder:
    """Writes the run's interrupted result once, unless the run ended first."""

    def __init__(self, config: dict[str, Any], run_dir: Path, started: float) -> None:
        self.config = config
        self.run_dir = run_dir
        self.started = started
        self.done = False

    def __call__(self, why: str = "") -> None:
        if self.done:
            return
        self.done = True
        result = _interrupted(
            self.config,
            f"the ServerApp was stopped{f' ({why})' if why else ''}: the coordinator's "
            f"SuperLink stopped mid-run (coordinator restarted?); round checkpoints are in "
            f"{self.run_dir}",
        )
        result["wall_time_s"] = round(time.monotonic() - self.started, 3)
        _write_json(self.run_dir / "result.json", result)


def _interrupted(config: dict[str, Any], message: str, trace: str = "") -> dict[str, Any]:
    """The result of a run that stopped early: the rounds its progress file holds."""
    run_dir = Path(str(config["run-dir"]))
    progress = run_dir / "progress.jsonl"
    lines = progress.read_text(encoding="utf-8").splitlines() if progress.exists() else []
    history = [json.loads(line) for line in lines if line.strip()]
    result: dict[str, Any] = {
        "run_id": str(config.get("run-id", "")),
        "status": "interrupted",
        "message": message,
        "rounds_requested": int(config.get("rounds", 0)),
        "rounds_completed": sum(1 for e in history if e.get("aggregated")),
    }
    if trace:
        result["traceback"] = trace
    return result
