"""Following a submitted training run to its end, round by round, into the registry.

:func:`follow_run` reads the progress lines the ServerApp appends to the run's
``progress.jsonl`` (one per round: sites answered, refused, missing; loss and
evaluation; bytes), records each in the run's history and hands it to a
``progress`` callback, until the ServerApp writes ``result.json``. A completed
run registers the final weights as the plan's next model version. The run
ends ``interrupted``, with the rounds it completed, when the SuperLink stops
(the coordinator restarted; its ServerApp went with it) and no result follows
within a grace period, or when ``stop`` is set (the serving coordinator shuts
down).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coordinator.models import ModelRegistry, RunStatus
from coordinator.training.launch import PreparedRun, superlink_refuses

__all__ = ["ORPHAN_GRACE_S", "follow_run", "register_result"]

ORPHAN_GRACE_S = 30.0
"""How long a stopped SuperLink's ServerApp has to write its result before the run is
recorded interrupted without it."""


def _interrupted(
    registry: ModelRegistry, prepared: PreparedRun, message: str, seen: int
) -> dict[str, Any]:
    registry.end_run(prepared.run_id, RunStatus.INTERRUPTED, message)
    return {
        "run_id": prepared.run_id,
        "status": "interrupted",
        "message": message,
        "rounds_completed": seen,
    }


def follow_run(
    registry: ModelRegistry,
    prepared: PreparedRun,
    *,
    started: float,
    progress: Callable[[dict[str, Any]], None] = lambda _entry: None,
    stop: threading.Event | None = None,
    poll_s: float = 0.2,
    grace_s: float = ORPHAN_GRACE_S,
) -> dict[str, Any]:
    """Record the run's rounds as they complete, then its ending; the run's result.

    ``grace_s``: how long to await the ServerApp's result once the SuperLink stopped.
    """
    seen = 0
    down_since: float | None = None  # when the SuperLink was first seen stopped
    run_dir = prepared.run_dir
    result_path = run_dir / "result.json"
    progress_path = run_dir / "progress.jsonl"
    while True:
        finished = result_path.exists()  # written after the last progress line
        lines = (
            progress_path.read_text(encoding="utf-8").splitlines() if progress_path.exists() else []
        )
        for line in lines[seen:]:
            entry = json.loads(line)
            registry.record_round(prepared.run_id, entry)
            progress(entry)
        seen = len(lines)
        if finished:
            break
        if stop is not None and stop.is_set():
            return _interrupted(
                registry,
                prepared,
                f"the coordinator stopped after {seen} round(s) (shut down or restarted); the "
                f"run stopped there. Round checkpoints are in {run_dir}",
                seen,
            )
        # A SuperLink that stopped took the run's ServerApp with it (each Flower process
        # watches its parent), even when it is back already: the ServerApp writes its
        # result on the way out; without one after a grace period, the run is interrupted.
        if down_since is None and superlink_refuses(prepared.paths.home):
            down_since = time.monotonic()
        elif down_since is not None and time.monotonic() - down_since > grace_s:
            return _interrupted(
                registry,
                prepared,
                f"the SuperLink stopped after {seen} round(s) (coordinator restarted?); the "
                f"run stopped there. Round checkpoints are in {run_dir}",
                seen,
            )
        if stop is not None:
            stop.wait(poll_s)
        else:
            time.sleep(poll_s)
    result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    result["total_wall_time_s"] = round(time.monotonic() - started, 3)
    return register_result(registry, prepared, result)


def register_result(
    registry: ModelRegistry, prepared: PreparedRun, result: dict[str, Any]
) -> dict[str, Any]:
    """Record the run's ending; a completed run's final weights become a model version."""
    status = RunStatus(result.get("status", "failed"))
    plan = prepared.request.plan
    version = None
    if status is RunStatus.COMPLETED:
        final = result.get("final_evaluation", {})
        registered = registry.register(
            plan.name,
            run_id=prepared.run_id,
            plan=plan.model_dump(mode="json") | {"project": prepared.request.project},
            guideline=tuple(result.get("guideline") or ("", "")),
            aggregation=str(result.get("aggregation", "fedavg")),
            secure_aggregation=bool(result.get("secure_aggregation", False)),
            rounds=int(result.get("rounds_completed", 0)),
            sites=sorted(result.get("sites", {})),
            privacy={
                site: {k: facts[k] for k in ("epsilon", "delta", "releases", "mechanisms")}
                for site, facts in result.get("sites", {}).items()
            },
            metrics={
                "final": final.get("pooled", {}),
                "sites": final.get("sites", {}),
                "withheld": final.get("withheld", []),
                "history": [
                    {
                        "round": e["round"],
                        "train_loss": e.get("train_loss"),
                        "evaluation": e.get("evaluation_of_received", {}).get("pooled", {}),
                    }
                    for e in result.get("history", [])
                ],
            },
            weights=Path(result["weights_path"]).read_bytes(),
        )
        version = registered.version
        result["model"] = {"name": registered.name, "version": version}
    registry.end_run(prepared.run_id, status, str(result.get("message", "")), model_version=version)
    return result
