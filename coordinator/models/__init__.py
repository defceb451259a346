"""The model registry: global model versions, their weights and model cards (Flower-free).

:class:`ModelRegistry` records each training run (:class:`TrainingRun`, kept
up to date round by round) and registers the global models they produce as
numbered :class:`ModelVersion` s with the facts a model card is generated
from (:func:`model_card`, :func:`card_markdown`). Weights are stored
content-addressed by :class:`WeightStore` in :mod:`shared.weights` form.
"""

from coordinator.models.card import card_markdown, model_card
from coordinator.models.registry import ModelRegistry, ModelVersion, RunStatus, TrainingRun
from coordinator.models.weights import WeightStore

__all__ = [
    "ModelRegistry",
    "ModelVersion",
    "RunStatus",
    "TrainingRun",
    "WeightStore",
    "card_markdown",
    "model_card",
]
