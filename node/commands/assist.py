"""``harmonia-node assist``: run the global model for AI drafts and active learning.

``assist run`` loads one model version once and predicts every open task of a
project not yet scored by it: drafts for tasks nobody has annotated yet, a
score for each, and, with the project's active learning on, each task's
worklist priority. ``--watch SECONDS`` keeps the model loaded and runs again
every SECONDS (new tasks get drafts as studies arrive), until interrupted.
``assist settings`` turns drafts and active learning on or off; ``assist
ranking`` prints the open tasks by score. torch is imported only by ``run``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from node.commands.options import add_data_dir, settings_from
from node.exit_codes import ExitCode
from shared.errors import ConfigurationError

if TYPE_CHECKING:
    from node.assist import RunOptions, RunSummary
    from node.assist.models import ModelBundle
    from node.runtime import NodeRuntime
    from shared.schemas.training import TrainingPlan

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``assist`` subcommand and its actions."""
    parser = subparsers.add_parser(
        "assist",
        help="AI drafts (pre-annotation) and active learning with the global model",
        description="Run a model over a project's open tasks, or change and read its settings.",
    )
    actions = parser.add_subparsers(dest="assist_action", required=True, metavar="ACTION")

    run = actions.add_parser("run", help="predict the project's open tasks with one model")
    add_data_dir(run)
    run.add_argument("--project", required=True, help="the project's name")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--model",
        metavar="NAME@VERSION",
        help="a model version pulled with 'harmonia-node model pull' (SHA-256 checked)",
    )
    which.add_argument(
        "--weights",
        type=Path,
        help="a weights file (shared.weights format) instead of a pulled version",
    )
    run.add_argument(
        "--plan",
        type=Path,
        default=None,
        help="its training plan (JSON or YAML), when the weights file does not carry one",
    )
    run.add_argument(
        "--model-name", default=None, help="with --weights: the model's name (default: the file's)"
    )
    run.add_argument(
        "--model-version",
        default=None,
        help="with --weights: the model's version (default: the file's)",
    )
    run.add_argument(
        "--mc-samples",
        type=int,
        default=0,
        help="MC dropout passes for the uncertainty (default 0: one plain pass)",
    )
    run.add_argument("--threshold", type=float, default=0.5, help="mask probability (0.5)")
    run.add_argument("--min-voxels", type=int, default=4, help="smallest draft mask (4 voxels)")
    run.add_argument(
        "--boxes-from",
        action="append",
        default=[],
        metavar="MASK:BOX",
        help="also propose BOX-label boxes around each MASK-label draft (repeatable)",
    )
    run.add_argument(
        "--weight-uncertainty", type=float, default=1.0, help="ranking weight of uncertainty"
    )
    run.add_argument(
        "--weight-disagreement",
        type=float,
        default=1.0,
        help="ranking weight of predicted disagreement",
    )
    run.add_argument(
        "--refresh", action="store_true", help="predict again tasks this model already scored"
    )
    run.add_argument("--limit", type=int, default=None, help="at most this many tasks")
    run.add_argument(
        "--watch",
        type=float,
        default=None,
        metavar="SECONDS",
        help="keep the model loaded and run again every SECONDS until interrupted",
    )
    run.add_argument("--json", action="store_true", help="print the run summary as JSON")
    run.set_defaults(func=_run)

    settings = actions.add_parser("settings", help="show or change a project's AI settings")
    add_data_dir(settings)
    settings.add_argument("--project", required=True, help="the project's name")
    settings.add_argument("--preannotation", choices=("on", "off"), default=None)
    settings.add_argument("--active-learning", choices=("on", "off"), default=None)
    settings.add_argument(
        "--acknowledge-anchoring",
        action="store_true",
        help="allow drafts on a project with two or more readers per task (they anchor "
        "readers and inflate agreement)",
    )
    settings.set_defaults(func=_settings)

    ranking = actions.add_parser("ranking", help="the project's open tasks by score")
    add_data_dir(ranking)
    ranking.add_argument("--project", required=True, help="the project's name")
    ranking.add_argument("--json", action="store_true", help="print JSON")
    ranking.set_defaults(func=_ranking)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _plan(path: Path | None) -> TrainingPlan | None:
    if path is None:
        return None
    from shared.schemas.training import TrainingPlan, TrainingPlanError

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read --plan {path}: {exc.strerror}", setting="plan"
        ) from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            return TrainingPlan.from_yaml(text)
        return TrainingPlan.from_json(text)
    except TrainingPlanError as exc:
        raise ConfigurationError(f"--plan {path}: {exc}", setting="plan") from None


def _options(args: argparse.Namespace) -> RunOptions:
    from node.assist import ProposalOptions, RankingWeights, RunOptions

    boxes: dict[str, str] = {}
    for item in args.boxes_from:
        mask, sep, box = item.partition(":")
        if not sep or not mask or not box:
            raise ConfigurationError(
                f"--boxes-from {item!r} must read MASK:BOX (two label names)", setting="boxes_from"
            )
        boxes[mask] = box
    try:
        return RunOptions(
            proposals=ProposalOptions(
                threshold=args.threshold, min_voxels=args.min_voxels, boxes_from=boxes or None
            ),
            weights=RankingWeights(args.weight_uncertainty, args.weight_disagreement),
            refresh=args.refresh,
            limit=args.limit,
        )
    except ValueError as exc:
        raise ConfigurationError(str(exc), setting="assist") from None


def _report(summary: RunSummary, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary.to_json(), sort_keys=True), flush=True)
        return
    run = summary.run
    skipped = ", ".join(f"{n} {why.replace('_', ' ')}" for why, n in summary.skipped.items() if n)
    print(
        f"run {run.id} of {run.model.key} (sha256 {run.model.sha256[:12]}) on {run.project!r}: "
        f"{run.tasks_predicted} task(s) predicted, {summary.proposals} draft(s)"
        + (f"; skipped: {skipped}" if skipped else "")
        + ("; worklist priorities set" if summary.prioritised else ""),
        flush=True,
    )


def _run(args: argparse.Namespace) -> int:
    options = _options(args)
    if args.mc_samples < 0 or (args.watch is not None and args.watch <= 0):
        raise ConfigurationError(
            "--mc-samples must be 0 or more and --watch above 0", setting="assist"
        )
    from node.assist import AssistService
    from node.runtime import open_node

    stop = threading.Event()
    with open_node(settings_from(args, ingest_workers=0)) as runtime:
        service = AssistService(runtime.annotation, runtime.store)
        bundle = _bundle(args, runtime)
        from node.assist.torch_predictor import TorchPredictor  # torch only here

        predictor = TorchPredictor(bundle, mc_samples=args.mc_samples)
        while True:
            summary = service.runner.run(args.project, predictor, actor=_actor(), options=options)
            _report(summary, args.json)
            if args.watch is None:
                return ExitCode.OK
            try:
                stop.wait(args.watch)
            except KeyboardInterrupt:
                return ExitCode.OK


def _bundle(args: argparse.Namespace, runtime: NodeRuntime) -> ModelBundle:
    from node.assist.models import bundle_from_file, bundle_from_store, guideline_plans

    plan = _plan(args.plan)
    if args.weights is not None:
        return bundle_from_file(
            args.weights, name=args.model_name, version=args.model_version, plan=plan
        )

    return bundle_from_store(
        runtime.settings.data_dir,
        args.model,
        plan=plan,
        guideline_plan=guideline_plans(runtime.annotation.guidelines),
    )


def _switch(value: str | None) -> bool | None:
    return None if value is None else value == "on"


def _settings(args: argparse.Namespace) -> int:
    from node.assist import AssistService
    from node.runtime import open_node

    with open_node(settings_from(args, ingest_workers=0)) as runtime:
        service = AssistService(runtime.annotation, runtime.store)
        changes: dict[str, Any] = {
            "preannotation": _switch(args.preannotation),
            "active_learning": _switch(args.active_learning),
            "anchoring_acknowledged": True if args.acknowledge_anchoring else None,
        }
        if any(v is not None for v in changes.values()):
            current = service.settings.configure(args.project, actor=_actor(), **changes)
        else:
            current = service.settings.get(args.project)
    print(
        f"project {current.project!r}: drafts {'on' if current.preannotation else 'off'}, "
        f"active learning {'on' if current.active_learning else 'off'}"
        + (", anchoring acknowledged" if current.anchoring_acknowledged else "")
    )
    return ExitCode.OK


def _ranking(args: argparse.Namespace) -> int:
    from node.runtime import open_node

    with open_node(settings_from(args, ingest_workers=0)) as runtime:
        rows = _ranked(runtime, args.project)
    if args.json:
        print(json.dumps(rows, sort_keys=True))
        return ExitCode.OK
    if not rows:
        print(f"no open task of {args.project!r} has a score yet: run 'harmonia-node assist run'")
        return ExitCode.OK
    print(f"{'task':>6} {'score':>6} {'uncert.':>7} {'disagr.':>7} {'priority':>8}  model")
    for row in rows:
        print(
            f"{row['task_id']:>6} {row['score']:>6.3f} {row['uncertainty']:>7.3f} "
            f"{row['disagreement']:>7.3f} {row['task_priority']:>8}  {row['model']}"
        )
    return ExitCode.OK


def _ranked(runtime: NodeRuntime, project: str) -> list[dict[str, Any]]:
    from node.assist import AssistService

    service = AssistService(runtime.annotation, runtime.store)
    return [
        {**score.to_json(), "model": model.key, "task_priority": priority}
        for score, model, priority in service.scores.ranking(project)
    ]
