"""A whole training run in the calling process: ``round train``'s work.

:func:`run_training` prepares, launches and follows one run
(:mod:`coordinator.training.launch`, :mod:`coordinator.training.follow`) and
returns its result; the admin API starts the same steps in the background
(:class:`coordinator.training.TrainingService`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from coordinator.runtime import open_coordinator
from coordinator.settings import CoordinatorSettings
from coordinator.training.follow import follow_run
from coordinator.training.launch import launch_run, prepare_run
from coordinator.training.request import Aggregation, TrainingRequest
from shared.schemas.training import TrainingPlan

__all__ = ["run_training"]


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
    extra: Mapping[str, Any] | None = None,
    progress: Callable[[dict[str, Any]], None] = lambda _entry: None,
) -> dict[str, Any]:
    """Run a training run through the local SuperLink; record it and register its model.

    Raises
    ------
    ConfigurationError
        No SuperLink for the data directory, a robust rule with SecAgg+, bad
        round counts (:class:`~coordinator.errors.TrainingRunError` s), or a
        run the SuperLink did not accept.
    """
    request = TrainingRequest(
        plan=plan,
        project=project,
        rounds=rounds,
        min_sites=min_sites,
        aggregation=aggregation,
        secure_aggregation=secure_aggregation,
        from_model=from_model,
        expected_nodes=expected_nodes,
        options=dict(extra or {}),
    )
    with open_coordinator(settings) as runtime:
        prepared = prepare_run(settings, runtime.models, request, started_by="round train")
        started = launch_run(prepared, runtime.models)
        assert started is not None  # only a stop event cuts a launch short
        return follow_run(runtime.models, prepared, started=started, progress=progress)
