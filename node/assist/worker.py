"""The ``assist`` operation of the node's learning service: drafts with a pulled model.

The learning service (:mod:`node.learn.service`) keeps torch imported; this is
its handler for the background drafts that ``harmonia-node serve`` asks for
(:mod:`node.assist.background`). A request names a project and a pulled
version (``NAME@VERSION``, checked against the SHA-256 recorded when it was
pulled; its training plan from that record, else the guideline it was trained
under) and how many tasks to predict at most; the worker runs
:class:`~node.assist.AssistRunner` with a
:class:`~node.assist.torch_predictor.TorchPredictor` kept loaded between
requests (one per version, so a run in batches loads it once), and answers the
run's summary without its per-task scores. The node's database is opened once,
on the first request.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from node.assist.geometry import ProposalOptions
from node.assist.models import bundle_from_store, guideline_plans
from node.assist.runner import RunOptions
from node.assist.service import AssistService
from node.settings import NodeSettings
from shared.errors import InvalidInputError

if TYPE_CHECKING:
    from node.assist.torch_predictor import TorchPredictor
    from node.runtime import NodeRuntime

__all__ = ["BACKGROUND_ACTOR", "DraftWorker"]

BACKGROUND_ACTOR = "service:background-drafts"
"""Who the background runs are recorded as (assist runs, audit log)."""


class DraftWorker:
    """Serves ``assist`` requests in the learning service.

    Parameters
    ----------
    data_dir
        The node's data directory.
    settings
        The node's settings (default: read from the environment, as ``serve`` passed it).
    """

    def __init__(self, data_dir: Path, *, settings: NodeSettings | None = None) -> None:
        self.data_dir = data_dir
        self.settings = settings or NodeSettings(data_dir=data_dir, ingest_workers=0)
        self._runtime: NodeRuntime | None = None
        self._predictors: dict[str, TorchPredictor] = {}
        self._lock = threading.Lock()

    def _open(self) -> NodeRuntime:
        if self._runtime is None:
            from node.runtime import open_node

            self._runtime = open_node(self.settings)
        return self._runtime

    def _predictor(self, runtime: NodeRuntime, key: str) -> TorchPredictor:
        bundle = bundle_from_store(
            self.data_dir, key, guideline_plan=guideline_plans(runtime.annotation.guidelines)
        )
        cached = self._predictors.get(bundle.ref.sha256)
        if cached is None:
            from node.assist.torch_predictor import TorchPredictor  # torch: the service has it

            cached = TorchPredictor(bundle)
            self._predictors = {bundle.ref.sha256: cached}  # one version kept loaded
        return cached

    def run(self, request: dict[str, Any], _body: bytes) -> tuple[dict[str, Any], bytes]:
        """Predict up to ``limit`` open tasks of ``project`` with ``model``; the summary.

        Raises
        ------
        InvalidInputError
            A request without a project or model, or with a limit below 1.
        AssistError
            The model is not pulled, its bytes changed, it has no plan, or it
            predicts none of the project's labels (the service answers the message).
        """
        project, key = request.get("project"), request.get("model")
        limit = request.get("limit")
        if not isinstance(project, str) or not isinstance(key, str):
            raise InvalidInputError("an assist request names a project and a model")
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise InvalidInputError("an assist request's limit is a whole number above 0")
        with self._lock:
            runtime = self._open()
            predictor = self._predictor(runtime, key)
            service = AssistService(runtime.annotation, runtime.store)
            options = RunOptions(proposals=ProposalOptions(), limit=limit)
            summary = service.runner.run(
                project, predictor, actor=BACKGROUND_ACTOR, options=options
            )
        document = summary.to_json()
        document.pop("scores", None)
        return {"ok": True, "summary": document}, b""

    def close(self) -> None:
        """Release the node's database."""
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
