"""``harmonia-coordinator round train``: a federated training run, with progress, into the registry.

Needs ``harmonia-coordinator serve --flower`` on the same data directory. The
command validates the plan (:class:`shared.schemas.TrainingPlan`), refuses a
robust aggregation together with SecAgg+, writes the run's folder under
``DATA_DIR/flower/runs/<run id>`` (``plan.json``, ``initial.weights``: a fresh
model from :func:`shared.models.build_model`, or a registered version with
``--from-model``), records the run (:class:`coordinator.models.TrainingRun`),
submits the training app (``coordinator/serverapp/training_fab``) to the local
SuperLink with ``flwr run``, and prints one progress line per round as the
ServerApp writes them (sites answered, refused, missing; loss and evaluation;
bytes), recording each in the run's history. A completed run registers the
final weights as the plan's next model version. When the SuperLink goes away
mid-run (the coordinator restarted), the run is recorded ``interrupted`` with
the rounds it completed, and the command exits non-zero.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from coordinator.commands.options import settings_from
from coordinator.exit_codes import ExitCode
from coordinator.models import RunStatus
from coordinator.runtime import open_coordinator
from coordinator.serverapp.training_aggregation import Aggregation, check_aggregation
from coordinator.serverapp.training_secure import secure_parameters
from coordinator.settings import CoordinatorSettings
from coordinator.superlink import CONNECTION, FlowerPaths
from shared.errors import ConfigurationError
from shared.flower_process import flower_environment, flower_executable
from shared.schemas.training import Compression, TrainingPlan
from shared.weights import encode_weights

__all__ = ["run_training", "train"]

_FAB_DIR = Path(__file__).parents[1] / "serverapp" / "training_fab"
_ORPHAN_GRACE_S = 30.0
"""How long a stopped SuperLink's ServerApp has to write its result before the run is
recorded interrupted without it."""


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


def _initial_weights(plan: TrainingPlan) -> bytes:
    from shared.models import build_model, model_weights, weight_names  # torch: only here

    seed = int.from_bytes(hashlib.sha256(plan.canonical_json()).digest()[:4], "big")
    model = build_model(plan, seed=seed)
    return encode_weights(dict(zip(weight_names(model), model_weights(model), strict=True)))


def _superlink_down(home: Path) -> bool:
    """Whether the local SuperLink refuses connections (it stopped).

    A connection that merely times out (a loaded machine) does not count: only a
    refusal (or no address at all) says the SuperLink is gone.
    """
    text = (home / "config.toml").read_text(encoding="utf-8")
    address = next(
        (
            line.split("=", 1)[1].strip().strip('"')
            for line in text.splitlines()
            if "address" in line
        ),
        "",
    )
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return False
    except (ConnectionRefusedError, ValueError):
        return True
    except OSError:
        return False


def run_training(
    settings: CoordinatorSettings,
    *,
    plan: TrainingPlan,
    project: str,
    rounds: int,
    min_sites: int = 1,
    aggregation: Aggregation = Aggregation.FEDAVG,
    secure_aggregation: bool = False,
    from_model: str | None = None,
    expected_nodes: int | None = None,
    extra: dict[str, Any] | None = None,
    progress: Callable[[dict[str, Any]], None] = lambda _entry: None,
) -> dict[str, Any]:
    """Run a training run through the local SuperLink; record it and register its model.

    Raises
    ------
    ConfigurationError
        No SuperLink for the data directory, a robust rule with SecAgg+, bad
        round counts, or a run the SuperLink did not accept.
    """
    check_aggregation(aggregation, secure_aggregation=secure_aggregation)
    if secure_aggregation:
        secure_parameters(plan, 60.0)  # refuses a plan without update_clip_norm, saying why
    if rounds < 1 or min_sites < 1:
        raise ConfigurationError("--rounds and --min-sites must be at least 1", setting="rounds")
    paths = FlowerPaths.of(settings.data_dir)
    if not (paths.home / "config.toml").exists():
        raise ConfigurationError(
            f"no SuperLink for {settings.data_dir}: start 'harmonia-coordinator serve --flower' "
            "first",
            setting="flower",
        )
    registered = json.loads(paths.registrations.read_text()) if paths.registrations.exists() else {}
    run_id = f"train-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    run_dir = (paths.root / "runs" / run_id).resolve()
    run_dir.mkdir(parents=True)
    (run_dir / "plan.json").write_text(plan.model_dump_json(), encoding="utf-8")
    with open_coordinator(settings) as runtime:
        if from_model:
            name, _, version = from_model.partition(":")
            found = runtime.models.get(name, int(version) if version else None)
            initial = runtime.models.weights_of(found)
        else:
            initial = _initial_weights(plan)
        (run_dir / "initial.weights").write_bytes(initial)
        config: dict[str, Any] = {
            "run-id": run_id,
            "run-dir": str(run_dir),
            "project": project,
            "rounds": rounds,
            "min-sites": min_sites,
            "expected-nodes": len(registered) if expected_nodes is None else expected_nodes,
            "registry-path": str(paths.registrations.resolve()),
            "aggregation": str(aggregation),
            "secure-aggregation": secure_aggregation,
            **(extra or {}),
        }
        runtime.models.start_run(
            run_id, model=plan.name, plan=plan.model_dump(mode="json"), config=config, rounds=rounds
        )
    app_dir = paths.root / "app-training"
    shutil.copytree(_FAB_DIR, app_dir, dirs_exist_ok=True)
    started = time.monotonic()
    submitted = subprocess.run(
        [
            *(flower_executable("flwr"), "run", str(app_dir), CONNECTION),
            *("--run-config", " ".join(f"{k}={_toml(v)}" for k, v in config.items())),
            *("--format", "json"),
        ],
        env=flower_environment(paths.home),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if submitted.returncode != 0:
        _end(settings, run_id, RunStatus.FAILED, "the SuperLink did not accept the run")
        raise ConfigurationError(
            f"the SuperLink did not accept the run: {submitted.stdout}{submitted.stderr}",
            setting="flower",
        )
    return _follow(settings, paths, run_dir, run_id, plan, project, started, progress)


def _end(settings: CoordinatorSettings, run_id: str, status: RunStatus, message: str) -> None:
    with open_coordinator(settings) as runtime:
        runtime.models.end_run(run_id, status, message)


def _follow(
    settings: CoordinatorSettings,
    paths: FlowerPaths,
    run_dir: Path,
    run_id: str,
    plan: TrainingPlan,
    project: str,
    started: float,
    progress: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    seen = 0
    down_since: float | None = None  # when the SuperLink was first seen stopped
    result_path = run_dir / "result.json"
    progress_path = run_dir / "progress.jsonl"
    while True:
        finished = result_path.exists()  # written after the last progress line
        lines = (
            progress_path.read_text(encoding="utf-8").splitlines() if progress_path.exists() else []
        )
        for line in lines[seen:]:
            entry = json.loads(line)
            with open_coordinator(settings) as runtime:
                runtime.models.record_round(run_id, entry)
            progress(entry)
        seen = len(lines)
        if finished:
            break
        # A SuperLink that stopped took the run's ServerApp with it (each Flower process
        # watches its parent), even when it is back already: the ServerApp writes its
        # result on the way out; without one after a grace period, the run is interrupted.
        if down_since is None and _superlink_down(paths.home):
            down_since = time.monotonic()
        elif down_since is not None and time.monotonic() - down_since > _ORPHAN_GRACE_S:
            message = (
                f"the SuperLink stopped after {seen} round(s) (coordinator restarted?); the "
                f"run stopped there. Round checkpoints are in {run_dir}"
            )
            _end(settings, run_id, RunStatus.INTERRUPTED, message)
            return {
                "run_id": run_id,
                "status": "interrupted",
                "message": message,
                "rounds_completed": seen,
            }
        time.sleep(0.2)
    result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    result["total_wall_time_s"] = round(time.monotonic() - started, 3)
    status = RunStatus(result.get("status", "failed"))
    with open_coordinator(settings) as runtime:
        version = None
        if status is RunStatus.COMPLETED:
            final = result.get("final_evaluation", {})
            registered = runtime.models.register(
                plan.name,
                run_id=run_id,
                plan=plan.model_dump(mode="json") | {"project": project},
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
        runtime.models.end_run(
            run_id, status, str(result.get("message", "")), model_version=version
        )
    return result


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
