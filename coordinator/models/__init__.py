"""The model registry: global model versions, their weights and model cards (Flower-free).

:class:`ModelRegistry` records each training run (:class:`TrainingRun`, kept
up to date round by round) and registers the global models they produce as
numbered :class:`ModelVersion` s with the facts a model card is generated
from (:func:`model_card`, :func:`card_markdown`). Weights are stored
content-addressed by :class:`WeightStore` in :mod:`shared.weights` form.
:func:`import_version` registers weights trained elsewhere (public data) to
start runs from.
"""

from coordinator.models.card import card_markdown, model_card
from coordinator.models.imported import (
    IMPORTED_AGGREGATION,
    check_architecture,
    import_version,
    read_weights,
)
from coordinator.models.registry import ModelRegistry, ModelVersion, RunStatus, TrainingRun
from coordinator.models.weights import WeightStore

__all__ = [
    "IMPORTED_AGGREGATION",
    "ModelRegistry",
    "ModelVersion",
    "RunStatus",
    "TrainingRun",
    "WeightStore",
    "card_markdown",
    "check_architecture",
    "import_version",
    "model_card",
    "read_weights",
]
