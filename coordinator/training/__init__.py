"""Federated training runs, Flower-free: the request, the launch, the follow-up, the service.

A :class:`TrainingRequest` (plan and options, checked by
:meth:`~TrainingRequest.check`) becomes a recorded run with
:func:`prepare_run`, is submitted to the coordinator's SuperLink with
:func:`launch_run` (Flower's own ``flwr run``) and followed round by round into
the model registry with :func:`follow_run`. ``round train`` does the three in
its own process (:func:`run_training`); the admin API's
:class:`TrainingService` does them in the background of the serving
coordinator, one run at a time. The Flower side is
:mod:`coordinator.serverapp.training`.

The exports are imported on first use: the ServerApp needs only
:class:`Aggregation`, and must not load the service stack for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from coordinator.training.follow import ORPHAN_GRACE_S, follow_run, register_result
    from coordinator.training.launch import (
        PreparedRun,
        launch_run,
        prepare_run,
        process_alive,
        run_owner,
        superlink_accepts,
        superlink_refuses,
    )
    from coordinator.training.request import (
        Aggregation,
        TrainingRequest,
        check_aggregation,
        guideline_plan,
    )
    from coordinator.training.run import run_training
    from coordinator.training.service import Executor, TrainingService

__all__ = [
    "ORPHAN_GRACE_S",
    "Aggregation",
    "Executor",
    "PreparedRun",
    "TrainingRequest",
    "TrainingService",
    "check_aggregation",
    "follow_run",
    "guideline_plan",
    "launch_run",
    "prepare_run",
    "process_alive",
    "register_result",
    "run_owner",
    "run_training",
    "superlink_accepts",
    "superlink_refuses",
]

_MODULE_OF = {
    "ORPHAN_GRACE_S": "coordinator.training.follow",
    "Aggregation": "coordinator.training.request",
    "Executor": "coordinator.training.service",
    "PreparedRun": "coordinator.training.launch",
    "TrainingRequest": "coordinator.training.request",
    "TrainingService": "coordinator.training.service",
    "check_aggregation": "coordinator.training.request",
    "follow_run": "coordinator.training.follow",
    "guideline_plan": "coordinator.training.request",
    "launch_run": "coordinator.training.launch",
    "prepare_run": "coordinator.training.launch",
    "process_alive": "coordinator.training.launch",
    "register_result": "coordinator.training.follow",
    "run_owner": "coordinator.training.launch",
    "run_training": "coordinator.training.run",
    "superlink_accepts": "coordinator.training.launch",
    "superlink_refuses": "coordinator.training.launch",
}

__getattr__ = lazy_exports(__name__, _MODULE_OF, globals())
