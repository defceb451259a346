"""Training runs started by the admin API: one at a time, in the background of the service.

:class:`TrainingService` checks a :class:`~coordinator.training.TrainingRequest`
and that the coordinator's SuperLink accepts connections, refuses a second run
while one is in progress (its own, or a ``round train`` whose process still
follows it), records the run and hands it to a background thread that
launches and follows it (:func:`~coordinator.training.launch_run`,
:func:`~coordinator.training.follow_run`); the request returns at once and
the run's progress is read from the registry. :meth:`TrainingService.close`
(the service's shutdown) stops following and records the run
``interrupted`` with the rounds it completed: a run is never left
``running``. A run left ``running`` by a process that is gone (killed) is
recorded ``interrupted`` the next time the service looks for a run in progress
(a start, or the run list).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from coordinator.errors import SuperLinkUnavailableError, TrainingRunActiveError
from coordinator.models import ModelRegistry, RunStatus, TrainingRun
from coordinator.settings import CoordinatorSettings
from coordinator.superlink import FlowerPaths
from coordinator.training.follow import follow_run
from coordinator.training.launch import (
    PreparedRun,
    launch_run,
    prepare_run,
    process_alive,
    run_owner,
    superlink_accepts,
)
from coordinator.training.request import TrainingRequest

__all__ = ["Executor", "TrainingService"]

_log = logging.getLogger(__name__)

Executor = Callable[[PreparedRun, threading.Event], None]
"""What runs a recorded run to its end in the background (stop when the event is set)."""


class TrainingService:
    """The coordinator service's training runs.

    Parameters
    ----------
    settings
        The coordinator's settings (``flower``: whether it runs its SuperLink).
    registry
        Where runs are recorded and models registered.
    superlink_ready
        Whether the SuperLink of a ``FLWR_HOME`` accepts connections now.
    executor
        Runs a recorded run to its end (default: submit it to the SuperLink and
        follow it; the unit tests give one without Flower).
    """

    def __init__(
        self,
        settings: CoordinatorSettings,
        registry: ModelRegistry,
        *,
        superlink_ready: Callable[[Path], bool] = superlink_accepts,
        executor: Executor | None = None,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._superlink_ready = superlink_ready
        self._executor = executor or self._launch_and_follow
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._current: str | None = None

    def _own_active(self) -> str | None:
        thread = self._thread
        return self._current if thread is not None and thread.is_alive() else None

    def in_progress(self) -> TrainingRun | None:
        """The run in progress, if any: this service's, or one a live ``round train`` follows.

        A run recorded ``running`` whose following process is gone is recorded
        ``interrupted`` on the way.
        """
        with self._lock:
            return self._in_progress()

    def _in_progress(self) -> TrainingRun | None:
        own = self._own_active()
        for run in reversed(self._registry.runs()):
            if run.status is not RunStatus.RUNNING:
                continue
            if run.run_id == own:
                return run
            pid = run_owner(run)
            if pid is None:
                continue  # recorded before runs named their process: cannot tell
            if pid != os.getpid() and process_alive(pid):
                return run
            self._registry.end_run(
                run.run_id,
                RunStatus.INTERRUPTED,
                f"the process that followed the run (pid {pid}) is gone; the run stopped after "
                f"{run.rounds_completed} round(s)",
            )
        return None

    def start(self, request: TrainingRequest) -> TrainingRun:
        """Record the run and start it in the background; the run as recorded.

        Raises
        ------
        TrainingRequestError
            See :meth:`TrainingRequest.check`.
        SuperLinkUnavailableError
            The coordinator runs without its SuperLink, it does not accept
            connections, or the service is shutting down.
        TrainingRunActiveError
            Another run is in progress.
        NotFoundError
            ``from_model`` names no registered version.
        """
        request.check()
        if not self._settings.flower:
            raise SuperLinkUnavailableError(
                "this coordinator runs without its SuperLink: restart it with "
                "'harmonia-coordinator serve --flower' (or HARMONIA_COORDINATOR_FLOWER=true) to "
                "run training",
                setting="flower",
            )
        home = FlowerPaths.of(self._settings.data_dir).home
        if self._stop.is_set() or not self._superlink_ready(home):
            raise SuperLinkUnavailableError(
                "the coordinator's SuperLink does not accept connections now (it is starting, "
                "restarting or stopping; see DATA_DIR/flower/superlink.log); try again shortly",
                setting="flower",
            )
        with self._lock:
            active = self._in_progress()
            if active is not None:
                raise TrainingRunActiveError(
                    f"training run {active.run_id} is in progress ({active.rounds_completed} of "
                    f"{active.rounds_requested} round(s) done); runs go one at a time: wait "
                    "for it to end",
                    run_id=active.run_id,
                )
            prepared = prepare_run(self._settings, self._registry, request, started_by="admin API")
            self._current = prepared.run_id
            self._thread = threading.Thread(
                target=self._run, args=(prepared,), name=f"harmonia-{prepared.run_id}", daemon=True
            )
            self._thread.start()
        return self._registry.run(prepared.run_id)

    def _run(self, prepared: PreparedRun) -> None:
        try:
            self._executor(prepared, self._stop)
        except Exception as error:  # recorded, never left running
            _log.warning("training run %s failed: %s", prepared.run_id, error)
            self._registry.end_run(
                prepared.run_id, RunStatus.FAILED, f"{type(error).__name__}: {error}"
            )
        else:
            run = self._registry.run(prepared.run_id)
            if run.status is RunStatus.RUNNING:
                self._registry.end_run(
                    prepared.run_id, RunStatus.FAILED, "the run ended without a result"
                )

    def _launch_and_follow(self, prepared: PreparedRun, stop: threading.Event) -> None:
        started = launch_run(prepared, self._registry, in_child=True, stop=stop)
        if started is not None:  # None: stopped while launching, recorded interrupted
            follow_run(self._registry, prepared, started=started, stop=stop)

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop following (the service shuts down); the run in progress ends ``interrupted``."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        if self._current is not None:
            run = self._registry.run(self._current)
            if run.status is RunStatus.RUNNING:
                self._registry.end_run(
                    run.run_id,
                    RunStatus.INTERRUPTED,
                    f"the coordinator stopped after {run.rounds_completed} round(s) (shut down "
                    "or restarted); the run stopped there",
                )
