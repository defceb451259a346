"""Training plans: which consensus labels train which model, and how.

A :class:`TrainingPlan` is declared in a guideline version (its optional
``training_plans`` list) or stands alone in a round's configuration. It names
the task (``segmentation`` or ``classification``), the guideline labels that
provide the targets, the network (:class:`ModelSpec`), the input geometry
(:class:`InputSpec`: a 2D size, and 2.5D context slices), the local
optimisation, the update clipping and compression applied before an update
leaves a node, and optionally differential privacy (:class:`DpConfig`).

Loading goes through :meth:`TrainingPlan.from_json`, :meth:`TrainingPlan.from_yaml`
or :meth:`TrainingPlan.from_mapping`; anything malformed raises a
:class:`TrainingPlanSchemaError` naming each field and what to change.
:meth:`TrainingPlan.check_against` checks a plan against a guideline version
(labels exist, kinds fit the task, classes are the label's categories).

Example
-------
>>> plan = TrainingPlan.model_validate({
...     "name": "nodule-seg", "task": "segmentation", "labels": ["nodule"]})
>>> plan.model.architecture, plan.input.channels
(<Architecture.UNET: 'unet'>, 1)
"""

from __future__ import annotations

import enum
import json
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.errors import InvalidInputError

if TYPE_CHECKING:
    from shared.schemas.guideline import Guideline

__all__ = [
    "Architecture",
    "Compression",
    "DpConfig",
    "InputSpec",
    "ModelSpec",
    "Norm",
    "Optimizer",
    "PrivacyUnit",
    "SampleWeighting",
    "TrainingPlan",
    "TrainingPlanError",
    "TrainingPlanFormatError",
    "TrainingPlanSchemaError",
    "TrainingTask",
]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


class TrainingPlanError(InvalidInputError):
    """A training plan that cannot be used.

    ::

        TrainingPlanError
        ├── TrainingPlanFormatError   not JSON / YAML at all, or not a mapping
        └── TrainingPlanSchemaError   parsed, but breaks the schema or its guideline
    """


class TrainingPlanFormatError(TrainingPlanError):
    """The text is not valid JSON or YAML, or its top level is not a mapping."""


class TrainingPlanSchemaError(TrainingPlanError):
    """The plan parsed but breaks the schema; ``problems`` lists each one."""

    def __init__(self, message: str, *, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class TrainingTask(enum.StrEnum):
    """What the model learns."""

    SEGMENTATION = "segmentation"
    CLASSIFICATION = "classification"


class Architecture(enum.StrEnum):
    """The network families :func:`shared.models.build_model` builds."""

    UNET = "unet"
    CNN = "cnn"
    DENSENET = "densenet"


class Norm(enum.StrEnum):
    """Normalisation layers Opacus computes per-sample gradients for (never BatchNorm)."""

    GROUP = "group"
    INSTANCE = "instance"


class Optimizer(enum.StrEnum):
    """The local optimiser."""

    ADAM = "adam"
    SGD = "sgd"


class Compression(enum.StrEnum):
    """How an update's arrays travel (see :mod:`shared.compression`)."""

    NONE = "none"
    FP16 = "fp16"
    INT8 = "int8"


class PrivacyUnit(enum.StrEnum):
    """What one DP-SGD guarantee protects.

    ``case``: one task (a series with all its slices) — each sampled case
    contributes one slice to a step, so adding or removing a whole case changes
    one clipped gradient. ``sample``: one training sample (a 2D or 2.5D slice);
    a case of ``k`` slices is then protected only at group level ``k``.
    """

    CASE = "case"
    SAMPLE = "sample"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Model):
    """The network: its family, widths, normalisation and dropout.

    ``features`` are the channel widths per level (U-Net encoder levels, CNN
    stages, DenseNet block input widths); each must be a multiple of
    ``groups`` when ``norm`` is ``group``. ``growth_rate`` and
    ``layers_per_block`` only shape a DenseNet.
    """

    architecture: Architecture = Architecture.UNET
    features: tuple[int, ...] = Field(default=(16, 32, 64), min_length=1, max_length=6)
    norm: Norm = Norm.GROUP
    groups: int = Field(default=8, ge=1, le=64)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    growth_rate: int = Field(default=8, ge=1, le=128)
    layers_per_block: int = Field(default=2, ge=1, le=16)

    @model_validator(mode="after")
    def _widths(self) -> ModelSpec:
        if any(f < 1 or f > 1024 for f in self.features):
            raise ValueError(f"model features {list(self.features)} must each lie in 1..1024")
        if self.norm is Norm.GROUP:
            widths = list(self.features)
            if self.architecture is Architecture.DENSENET:
                widths.append(self.growth_rate)
            bad = [f for f in widths if f % self.groups]
            if bad:
                raise ValueError(
                    f"with group norm every width must be a multiple of groups={self.groups}; "
                    f"{bad} are not (change the widths or the number of groups)"
                )
        return self


class InputSpec(_Model):
    """The input geometry: square 2D slices, optionally 2.5D.

    ``size``: slices are resampled to ``size × size`` pixels. ``context_slices``:
    ``k`` neighbours on each side join the slice as channels (``2k + 1``
    channels, 2.5D); ``0`` is plain 2D. ``window``: ``(centre, width)`` in
    modality values (HU for CT) mapped to [0, 1]; ``None`` standardises each
    slice to zero mean and unit variance instead.
    """

    size: int = Field(default=64, ge=16, le=1024)
    context_slices: int = Field(default=0, ge=0, le=8)
    window: tuple[float, float] | None = (40.0, 400.0)

    @model_validator(mode="after")
    def _window(self) -> InputSpec:
        if self.window is not None and not self.window[1] > 0:
            raise ValueError(f"the window width must be above 0, got {self.window[1]}")
        return self

    @property
    def channels(self) -> int:
        """Input channels: ``2 * context_slices + 1``."""
        return 2 * self.context_slices + 1


class DpConfig(_Model):
    """DP-SGD (Opacus): per-unit gradient clipping plus Gaussian noise.

    ``noise_multiplier`` is the noise's standard deviation over
    ``max_grad_norm``; ``delta`` the round's target delta. ``secure_rng``
    asks for noise and sampling from the operating system's CSPRNG; a
    production-profile node uses it whatever the plan says.
    """

    noise_multiplier: float = Field(gt=0.0, le=100.0)
    max_grad_norm: float = Field(gt=0.0, le=1e6)
    delta: float = Field(default=1e-5, gt=0.0, lt=1.0)
    unit: PrivacyUnit = PrivacyUnit.CASE
    secure_rng: bool = False


class SampleWeighting(_Model):
    """How samples are weighted by their consensus's confidence and agreement.

    A sample's weight is ``max(minimum, c · a)``: ``c`` the consensus's mean
    reader confidence over the scale's maximum (1 when ``confidence`` is off
    or none was given), ``a`` the readers' mean agreement on the label in the
    task (1 when ``agreement`` is off, for a single reader, or when an
    adjudicator decided). Weights are then scaled to average 1.
    """

    confidence: bool = True
    agreement: bool = True
    minimum: float = Field(default=0.1, gt=0.0, le=1.0)


class TrainingPlan(_Model):
    """Which consensus labels train which model, and how.

    ``labels``: the guideline labels whose consensus gives the targets — mask
    labels for segmentation (one output channel each), one classification
    label for classification, whose category codes ``classes`` lists in the
    model's output order (all of them, or a subset: cases whose consensus
    falls in another category are left out). ``update_clip_norm`` caps the L2 norm of the whole
    update (new weights minus the global ones) before it leaves the node.
    """

    name: str = Field(pattern=_NAME)
    task: TrainingTask
    labels: tuple[str, ...] = Field(min_length=1, max_length=32)
    classes: tuple[str, ...] = ()
    model: ModelSpec = Field(default_factory=ModelSpec)
    input: InputSpec = Field(default_factory=InputSpec)
    local_epochs: int = Field(default=1, ge=1, le=1000)
    batch_size: int = Field(default=8, ge=1, le=4096)
    learning_rate: float = Field(default=1e-3, gt=0.0, le=10.0)
    optimizer: Optimizer = Optimizer.ADAM
    update_clip_norm: float | None = Field(default=None, gt=0.0)
    privacy: DpConfig | None = None
    compression: Compression = Compression.NONE
    validation_fraction: float = Field(default=0.2, ge=0.0, lt=1.0)
    background_fraction: float = Field(default=0.5, ge=0.0, le=1.0)
    weighting: SampleWeighting = Field(default_factory=SampleWeighting)

    @model_validator(mode="after")
    def _consistent(self) -> TrainingPlan:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels repeat a name: {list(self.labels)}")
        if self.task is TrainingTask.SEGMENTATION:
            if self.model.architecture is not Architecture.UNET:
                raise ValueError(
                    "a segmentation plan needs the 'unet' architecture, got "
                    f"{self.model.architecture.value!r}"
                )
            if self.classes:
                raise ValueError("only classification plans list classes")
            levels = len(self.model.features) - 1
            if self.input.size % (2**levels):
                raise ValueError(
                    f"input size {self.input.size} must be divisible by 2**{levels} for a "
                    f"U-Net with {levels + 1} levels; pick a multiple of {2**levels}"
                )
        else:
            if self.model.architecture is Architecture.UNET:
                raise ValueError("a classification plan needs the 'cnn' or 'densenet' architecture")
            if len(self.labels) != 1:
                raise ValueError("a classification plan trains exactly one classification label")
            if len(self.classes) < 2 or len(set(self.classes)) != len(self.classes):
                raise ValueError(
                    "a classification plan lists at least two distinct classes (the label's "
                    "category codes, in output order)"
                )
        return self

    @property
    def out_channels(self) -> int:
        """Model outputs: one per label (segmentation), one per class (classification)."""
        if self.task is TrainingTask.SEGMENTATION:
            return len(self.labels)
        return len(self.classes)

    def check_against(self, guideline: Guideline) -> None:
        """Refuse a plan whose labels or classes do not fit ``guideline``.

        Raises
        ------
        TrainingPlanSchemaError
            Naming each label that is missing, of the wrong kind, or whose
            categories differ from ``classes``.
        """
        problems = _guideline_problems(self, guideline)
        if problems:
            raise TrainingPlanSchemaError(
                f"training plan {self.name!r} does not fit guideline {guideline.key}: "
                + "; ".join(problems),
                problems=tuple(problems),
            )

    def canonical_json(self) -> bytes:
        """Canonical UTF-8 JSON: sorted keys, no insignificant whitespace."""
        data = self.model_dump(mode="json")
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_mapping(cls, data: object, *, source: str = "training plan") -> TrainingPlan:
        """Validate an already parsed document, raising :class:`TrainingPlanSchemaError`."""
        if not isinstance(data, dict):
            raise TrainingPlanFormatError(
                f"{source}: the top level must be a mapping with name, task and labels; got "
                f"{type(data).__name__}"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = tuple(_problem(e) for e in exc.errors())
            raise TrainingPlanSchemaError(
                f"{source} is not a valid training plan: {'; '.join(problems)}",
                problems=problems,
            ) from None

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "training plan") -> TrainingPlan:
        """Parse and validate a JSON plan."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TrainingPlanFormatError(f"{source} is not valid JSON: {exc}") from None
        return cls.from_mapping(data, source=source)

    @classmethod
    def from_yaml(cls, text: str | bytes, *, source: str = "training plan") -> TrainingPlan:
        """Parse and validate a YAML plan (safe loader only)."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise TrainingPlanFormatError(f"{source} is not valid YAML: {exc}") from None
        return cls.from_mapping(data, source=source)


def _guideline_problems(plan: TrainingPlan, guideline: Guideline) -> list[str]:
    problems: list[str] = []
    wanted = "mask" if plan.task is TrainingTask.SEGMENTATION else "classification"
    for name in plan.labels:
        label = guideline.label(name)
        if label is None:
            known = ", ".join(label.name for label in guideline.labels)
            problems.append(f"label {name!r} is not in the guideline (it has {known})")
        elif label.kind.value != wanted:
            problems.append(
                f"label {name!r} is a {label.kind.value} label; a {plan.task.value} plan "
                f"trains {wanted} labels"
            )
        elif plan.task is TrainingTask.CLASSIFICATION and not set(plan.classes) <= set(
            label.category_codes
        ):
            unknown = sorted(set(plan.classes) - set(label.category_codes))
            problems.append(
                f"classes {unknown} are not categories of {name!r} ({list(label.category_codes)})"
            )
    return problems


def _problem(error: Any) -> str:
    location = ".".join(str(p) for p in error.get("loc", ())) or "(top level)"
    message = str(error.get("msg", "invalid"))
    return f"{location}: {message.removeprefix('Value error, ')}"
