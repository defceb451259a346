"""Admin routes of federated training runs: start one, list them, follow one round by round."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from coordinator.api.deps import Runtime, Trainer, Training, Viewer
from coordinator.errors import TrainingRequestError
from coordinator.training.request import Aggregation, TrainingRequest, guideline_plan
from shared.schemas.training import Compression, TrainingPlan

router = APIRouter(prefix="/api/v1/training", tags=["training"])


class GuidelinePlan(BaseModel):
    """A training plan declared in a published guideline."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="the guideline's name")
    version: str | None = Field(None, description="its version (default: the newest)")
    plan: str = Field(description="the name of the training plan it declares")


class TrainingRunCreate(BaseModel):
    """A training run to start: ``round train``'s options, by name.

    Give the plan itself (``plan``) or name one a guideline declares
    (``guideline``), not both.
    """

    model_config = ConfigDict(extra="forbid")

    plan: dict[str, Any] | None = Field(None, description="a training plan (JSON)")
    guideline: GuidelinePlan | None = None
    project: str = Field(description="the project whose consensus labels train the model")
    rounds: int
    min_sites: int = Field(1, description="updates a round needs")
    aggregation: Aggregation = Aggregation.FEDAVG
    trim_fraction: float = 0.2
    krum_malicious: int = 1
    secure_aggregation: bool = False
    compression: Compression | None = Field(None, description="overrides the plan's")
    from_model: str | None = Field(None, description="NAME or NAME:VERSION to start from")
    expected_nodes: int | None = None
    wait_nodes_s: float = 30.0
    rejoin_wait_s: float = 5.0
    reply_timeout_s: float = 300.0


def _request(body: TrainingRunCreate, runtime: Runtime) -> TrainingRequest:
    if (body.plan is None) == (body.guideline is None):
        raise TrainingRequestError(
            "give the training plan itself ('plan') or the guideline that declares it "
            "('guideline': {name, version, plan}), one of the two",
            setting="plan",
        )
    if body.plan is not None:
        plan = TrainingPlan.from_mapping(body.plan, source="the request's plan")
    else:
        assert body.guideline is not None
        ref = body.guideline
        plan = guideline_plan(runtime.guidelines, ref.name, ref.version, ref.plan)
    if body.compression is not None:
        plan = plan.model_copy(update={"compression": body.compression})
    return TrainingRequest(
        plan=plan,
        project=body.project,
        rounds=body.rounds,
        min_sites=body.min_sites,
        aggregation=body.aggregation,
        secure_aggregation=body.secure_aggregation,
        from_model=body.from_model,
        expected_nodes=body.expected_nodes,
        options={
            "trim-fraction": body.trim_fraction,
            "krum-malicious": body.krum_malicious,
            "wait-nodes-s": body.wait_nodes_s,
            "rejoin-wait-s": body.rejoin_wait_s,
            "reply-timeout-s": body.reply_timeout_s,
        },
    )


@router.post("/runs", status_code=202)
def start_run(
    body: TrainingRunCreate,
    response: Response,
    runtime: Runtime,
    training: Training,
    _principal: Trainer,
) -> dict[str, Any]:
    """Start a training run in the background (202); follow it at its ``Location``.

    422: an invalid plan or option; 409: no SuperLink (the coordinator serves
    without ``--flower``) or a run already in progress; 404: no such guideline
    release or ``from_model``.
    """
    run = training.start(_request(body, runtime))
    response.headers["Location"] = f"/api/v1/training/runs/{run.run_id}"
    return run.to_json()


@router.get("/runs")
def list_runs(runtime: Runtime, training: Training, _principal: Viewer) -> dict[str, Any]:
    """Every training run with its state (running, completed, interrupted, failed)."""
    active = training.in_progress()  # also ends runs whose following process is gone
    return {
        "runs": [run.to_json() for run in runtime.models.runs()],
        "in_progress": active.run_id if active else None,
    }


@router.get("/runs/{run_id}")
def show_run(run_id: str, runtime: Runtime, _principal: Viewer) -> dict[str, Any]:
    """One training run, with its per-round history (sites, loss, evaluation, bytes)."""
    return runtime.models.run(run_id).to_json()
