"""AI assistance: pre-annotation drafts, their accept / edit / reject, active learning.

The global model runs over a project's open tasks (:class:`AssistRunner`, one
loaded :class:`Predictor` per run); what it proposes appears to each reader as
drafts that only the reader can turn into their own annotation
(:class:`ProposalService`); how readers received the drafts is tracked per
model version (:class:`TrackingService`); tasks are ranked by model
uncertainty and predicted disagreement (:mod:`node.assist.ranking`), which
sets worklist priority when the project asks for it (:class:`SettingsService`).
``harmonia-node serve`` makes drafts in the background with the newest pulled
model (:class:`BackgroundDrafts`, which hands the work to the learning
service's :class:`DraftWorker`).
No FastAPI and no torch here: :mod:`node.assist.torch_predictor` is the one
module that imports torch, and only the runner's callers import it.
"""

from node.assist.background import BackgroundDrafts, DraftPass
from node.assist.catalog import PulledVersion, model_for_project, pulled_versions
from node.assist.errors import (
    AnchoringNotAcknowledgedError,
    AssistError,
    EditMismatchError,
    ModelMismatchError,
    ModelUnavailableError,
    PreannotationOffError,
    ProposalNotFoundError,
    ProposalResolvedError,
)
from node.assist.geometry import DraftPayload, ProposalOptions, edit_overlap, proposals_from
from node.assist.predictor import ModelOutput, Predictor
from node.assist.project_settings import SettingsService
from node.assist.proposals import ProposalService
from node.assist.ranking import (
    LabelFigures,
    RankingWeights,
    class_disagreement,
    class_uncertainty,
    mask_disagreement,
    mask_uncertainty,
    priority_of,
    score_task,
)
from node.assist.records import (
    AssistSettings,
    ModelRef,
    Outcome,
    ProposalRecord,
    ProposalStatus,
    RunRecord,
    TaskScore,
)
from node.assist.runner import AssistRunner, RunOptions, RunSummary, label_figures
from node.assist.scores import ScoreService
from node.assist.service import AssistService
from node.assist.tracking import ModelTracking, TrackingService
from node.assist.volumes import task_volume
from node.assist.worker import DraftWorker

__all__ = [
    "AnchoringNotAcknowledgedError",
    "AssistError",
    "AssistRunner",
    "AssistService",
    "AssistSettings",
    "BackgroundDrafts",
    "DraftPass",
    "DraftPayload",
    "DraftWorker",
    "EditMismatchError",
    "LabelFigures",
    "ModelMismatchError",
    "ModelOutput",
    "ModelRef",
    "ModelTracking",
    "ModelUnavailableError",
    "Outcome",
    "PreannotationOffError",
    "Predictor",
    "ProposalNotFoundError",
    "ProposalOptions",
    "ProposalRecord",
    "ProposalResolvedError",
    "ProposalService",
    "ProposalStatus",
    "PulledVersion",
    "RankingWeights",
    "RunOptions",
    "RunRecord",
    "RunSummary",
    "ScoreService",
    "SettingsService",
    "TaskScore",
    "TrackingService",
    "class_disagreement",
    "class_uncertainty",
    "edit_overlap",
    "label_figures",
    "mask_disagreement",
    "mask_uncertainty",
    "model_for_project",
    "priority_of",
    "proposals_from",
    "pulled_versions",
    "score_task",
    "task_volume",
]
