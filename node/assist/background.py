"""Background drafts: ``serve`` runs the newest pulled model on studies not yet annotated.

:class:`BackgroundDrafts` is a thread of ``harmonia-node serve`` (torch-free:
the serve process never imports torch). Every ``interval_s`` it looks, for
each project whose drafts are on (``assist settings --preannotation on``), for
the pulled model version that serves it (:func:`~node.assist.catalog.model_for_project`)
and counts the project's open tasks that version has not scored yet — tasks
of studies that arrived since, or every open task when a newer version was
pulled. It hands that work to the node's learning service (the persistent
process that keeps torch and the model loaded, :mod:`node.assist.worker`) in
batches of ``batch`` tasks, so a training round's request waits for one batch
at most. Drafts then appear to readers as they do after ``assist run``
(never accepted automatically); runs are recorded as
:data:`~node.assist.worker.BACKGROUND_ACTOR`.

A version the service refuses for a project (no plan, no label of the
project's guideline, its bytes changed) is not asked again for that project
until another version is pulled; the refusal is logged. When the learning
service is not up (starting, restarting) the pass is retried at the next
interval. ``background_drafts = false`` in the node's settings turns it off.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.assist.catalog import model_for_project, pulled_versions
from node.assist.records import ModelRef
from node.assist.runner import AssistRunner
from node.consortium.periodic import Periodic
from node.errors import LearnError

__all__ = ["BackgroundDrafts", "DraftPass"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DraftPass:
    """One batch the learning service ran: project, model, and the run's summary."""

    project: str
    model: str
    summary: dict[str, Any]


class BackgroundDrafts:
    """Asks the learning service for drafts whenever a project has unscored open tasks.

    Parameters
    ----------
    data_dir
        The node's data directory (its pulled models).
    runner
        The node's assist runner (projects, settings and scores; no model needed).
    interval_s
        Seconds between passes.
    batch
        Tasks per request to the learning service.
    timeout_s
        How long one batch may take.
    """

    def __init__(
        self,
        data_dir: Path,
        runner: AssistRunner,
        *,
        interval_s: float = 30.0,
        batch: int = 16,
        timeout_s: float = 1800.0,
    ) -> None:
        from node.learn.client import LearningClient  # torch-free

        self.data_dir = data_dir
        self.runner = runner
        self.interval_s = interval_s
        self.batch = batch
        self.client = LearningClient(data_dir, timeout_s=timeout_s)
        self._refused: dict[tuple[str, str], str] = {}
        self._stuck: dict[tuple[str, str], int] = {}
        self._stop = threading.Event()  # also ends a pass between its batches
        # every interval_s, the first pass 1 s after start; a failed pass waits the interval too
        self._schedule = Periodic(
            "background-drafts", self._pass, interval_s=interval_s, retry_s=interval_s, first_s=1.0
        )

    @property
    def refused(self) -> dict[tuple[str, str], str]:
        """``{(project, SHA-256): the service's message}`` of the versions it refused."""
        return dict(self._refused)

    def run_once(self) -> list[DraftPass]:
        """One pass over the projects whose drafts are on; the batches run.

        Raises
        ------
        LearningServiceUnavailableError
            The learning service is not up (the next pass retries).
        """
        versions = pulled_versions(self.data_dir)
        done: list[DraftPass] = []
        if not versions:
            return done
        for project, guideline in self.runner.projects_with_drafts():
            chosen = model_for_project(versions, project, guideline)
            if chosen is None:
                continue
            ref = ModelRef(chosen.name, chosen.version, chosen.sha256)
            key = (project, chosen.sha256)
            if key in self._refused:
                continue
            while not self._stop.is_set():
                pending = self.runner.pending(project, ref)
                if pending == 0 or self._stuck.get(key) == pending:
                    break
                reply = self.client.request(
                    "assist", {"project": project, "model": chosen.key, "limit": self.batch}
                )
                if not reply.ok:
                    message = str(reply.header.get("message", "no reason given"))
                    self._refused[key] = message
                    _log.warning(
                        "background drafts: %s on project %r refused: %s",
                        chosen.key,
                        project,
                        message,
                    )
                    break
                summary = dict(reply.header.get("summary", {}))
                done.append(DraftPass(project, chosen.key, summary))
                predicted = int(summary.get("run", {}).get("tasks_predicted", 0))
                _log.info(
                    "background drafts: %s on project %r: %d task(s) predicted, %s draft(s)",
                    chosen.key,
                    project,
                    predicted,
                    summary.get("proposals", 0),
                )
                if predicted == 0:  # unreadable tasks only: wait until the tasks change
                    self._stuck[key] = pending
                    break
        return done

    def _pass(self) -> bool:
        try:
            self.run_once()
        except LearnError as error:  # the service is starting or restarting
            _log.info("background drafts: %s; trying again in %g s", error, self.interval_s)
            return False
        return True

    def start(self) -> None:
        """Run passes in a background thread until :meth:`stop`."""
        self._schedule.start()

    def stop(self) -> None:
        """Stop after the batch in progress."""
        self._stop.set()
        self._schedule.stop(timeout_s=10)
