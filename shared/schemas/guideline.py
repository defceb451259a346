"""Annotation guidelines: the labels readers use, their rules, and agreement targets.

A :class:`Guideline` is one *version* of a guideline (``name`` + ``version``).
It is loaded from JSON or YAML with :meth:`Guideline.from_json`,
:meth:`Guideline.from_yaml` or :func:`load_guideline`; anything malformed raises
a :class:`GuidelineError` naming the field and what to change. Its canonical
form (sorted keys, no whitespace, UTF-8) hashes to :attr:`Guideline.sha256`, so
two nodes holding the same version can prove they hold the same text.

Example
-------
>>> g = Guideline.model_validate({
...     "name": "lung", "version": "1", "title": "Lung nodules",
...     "labels": [{"name": "nodule", "kind": "box", "definition": "a nodule"}]})
>>> g.label("nodule").kind
<LabelKind.BOX: 'box'>
"""

from __future__ import annotations

import enum
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.errors import InvalidInputError
from shared.schemas.training import TrainingPlan

__all__ = [
    "Category",
    "ConfidenceScale",
    "Guideline",
    "GuidelineError",
    "GuidelineFormatError",
    "GuidelineSchemaError",
    "Label",
    "LabelKind",
    "Scale",
    "load_guideline",
]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


class GuidelineError(InvalidInputError):
    """A guideline file that cannot be used.

    ::

        GuidelineError
        ├── GuidelineFormatError   not JSON / YAML at all, or not a mapping
        └── GuidelineSchemaError   parsed, but breaks the guideline schema
    """


class GuidelineFormatError(GuidelineError):
    """The text is not valid JSON or YAML, or its top level is not a mapping."""


class GuidelineSchemaError(GuidelineError):
    """The document parsed but breaks the schema; ``problems`` lists each one."""

    def __init__(self, message: str, *, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class LabelKind(enum.StrEnum):
    """What a reader draws or chooses for a label."""

    CLASSIFICATION = "classification"
    BOX = "box"
    POLYGON = "polygon"
    MASK = "mask"
    KEYPOINT = "keypoint"
    LENGTH = "length"


class Scale(enum.StrEnum):
    """Measurement scale of a classification's categories."""

    NOMINAL = "nominal"
    ORDINAL = "ordinal"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Model):
    """One category of a classification label (e.g. BI-RADS ``"4"``)."""

    code: str = Field(min_length=1, max_length=64)
    meaning: str = Field(min_length=1)
    definition: str = ""


class ConfidenceScale(_Model):
    """The integer confidence scale readers use (default 1–5)."""

    minimum: int = 1
    maximum: int = 5
    labels: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> ConfidenceScale:
        if self.maximum <= self.minimum:
            raise ValueError(
                f"confidence maximum ({self.maximum}) must exceed its minimum ({self.minimum})"
            )
        return self

    def contains(self, value: int) -> bool:
        """Whether ``value`` lies on the scale."""
        return self.minimum <= value <= self.maximum


class Label(_Model):
    """One label of a guideline: what it is, how to draw it, and how readers must agree.

    ``adjudication_threshold`` is the agreement below which a task goes to an
    adjudicator for this label (kappa-like agreement for classifications,
    Dice for masks, F1 of matched objects for boxes, polygons and keypoints,
    F1 of matched endpoints for lengths); ``agreement_target`` is the
    project-level figure the quality dashboard flags labels against.
    """

    name: str = Field(pattern=_NAME)
    kind: LabelKind
    definition: str = Field(min_length=1)
    criteria: str = ""
    categories: tuple[Category, ...] = ()
    scale: Scale | None = None
    boundary_rules: str = ""
    edge_cases: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    required: bool = False
    adjudication_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    agreement_target: float = Field(default=0.8, ge=0.0, le=1.0)
    match_iou: float = Field(default=0.5, gt=0.0, le=1.0)
    match_distance_mm: float = Field(default=5.0, gt=0.0)

    @model_validator(mode="after")
    def _categories_fit_kind(self) -> Label:
        if self.kind is LabelKind.CLASSIFICATION:
            if len(self.categories) < 2:
                raise ValueError(
                    f"classification label {self.name!r} needs at least two categories"
                )
            codes = [c.code for c in self.categories]
            if len(set(codes)) != len(codes):
                raise ValueError(f"label {self.name!r} repeats a category code: {codes}")
            if self.scale is None:
                object.__setattr__(self, "scale", Scale.NOMINAL)
        elif self.categories or self.scale is not None:
            raise ValueError(
                f"label {self.name!r} is a {self.kind.value}; only classification labels "
                "take categories and a scale"
            )
        return self

    def category(self, code: str) -> Category | None:
        """The category with ``code``, or ``None``."""
        return next((c for c in self.categories if c.code == code), None)

    @property
    def category_codes(self) -> tuple[str, ...]:
        """Category codes in the guideline's order (the ordinal order when ordinal)."""
        return tuple(c.code for c in self.categories)


class Guideline(_Model):
    """One version of an annotation guideline."""

    name: str = Field(pattern=_NAME)
    version: str = Field(pattern=_NAME)
    title: str = Field(min_length=1)
    description: str = ""
    labels: tuple[Label, ...] = Field(min_length=1)
    confidence: ConfidenceScale = Field(default_factory=ConfidenceScale)
    readers_per_task: int = Field(default=2, ge=1, le=20)
    training_plans: tuple[TrainingPlan, ...] = ()

    @model_validator(mode="after")
    def _unique_labels(self) -> Guideline:
        names = [label.name for label in self.labels]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"label names must be unique; repeated: {', '.join(repeated)}")
        plans = [plan.name for plan in self.training_plans]
        if len(set(plans)) != len(plans):
            raise ValueError(f"training plan names must be unique; got {plans}")
        for plan in self.training_plans:
            plan.check_against(self)
        return self

    def training_plan(self, name: str) -> TrainingPlan | None:
        """The training plan called ``name``, or ``None``."""
        return next((plan for plan in self.training_plans if plan.name == name), None)

    @property
    def key(self) -> str:
        """``name@version``."""
        return f"{self.name}@{self.version}"

    def label(self, name: str) -> Label | None:
        """The label called ``name``, or ``None``."""
        return next((label for label in self.labels if label.name == name), None)

    @property
    def required_labels(self) -> tuple[str, ...]:
        """Names of the labels every reader must give before completing a task."""
        return tuple(label.name for label in self.labels if label.required)

    def canonical_json(self) -> bytes:
        """Canonical UTF-8 JSON: sorted keys, no insignificant whitespace.

        A guideline without training plans omits the key, so versions written
        before plans existed keep their hash.
        """
        data = self.model_dump(mode="json")
        if not data.get("training_plans"):
            data.pop("training_plans", None)
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @property
    def sha256(self) -> str:
        """SHA-256 (hex) of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json()).hexdigest()

    @classmethod
    def from_mapping(cls, data: object, *, source: str = "guideline") -> Guideline:
        """Validate an already parsed document, raising :class:`GuidelineSchemaError`."""
        if not isinstance(data, dict):
            raise GuidelineFormatError(
                f"{source}: the top level must be a mapping with name, version, title and "
                f"labels; got {type(data).__name__}"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = tuple(_problem(e) for e in exc.errors())
            raise GuidelineSchemaError(
                f"{source} is not a valid guideline: {'; '.join(problems)}", problems=problems
            ) from None

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "guideline") -> Guideline:
        """Parse and validate a JSON guideline."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise GuidelineFormatError(f"{source} is not valid JSON: {exc}") from None
        return cls.from_mapping(data, source=source)

    @classmethod
    def from_yaml(cls, text: str | bytes, *, source: str = "guideline") -> Guideline:
        """Parse and validate a YAML guideline (safe loader only)."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise GuidelineFormatError(f"{source} is not valid YAML: {exc}") from None
        return cls.from_mapping(data, source=source)


def _problem(error: Any) -> str:
    location = ".".join(str(p) for p in error.get("loc", ())) or "(top level)"
    message = str(error.get("msg", "invalid"))
    return f"{location}: {message.removeprefix('Value error, ')}"


def load_guideline(path: str | Path) -> Guideline:
    """Load a guideline from a ``.json``, ``.yaml`` or ``.yml`` file.

    Raises
    ------
    GuidelineFormatError
        When the file cannot be read or parsed.
    GuidelineSchemaError
        When it parses but breaks the schema.
    """
    file = Path(path)
    try:
        text = file.read_bytes()
    except OSError as exc:
        raise GuidelineFormatError(f"cannot read guideline {file}: {exc.strerror}") from None
    if file.suffix.lower() == ".json":
        return Guideline.from_json(text, source=str(file))
    return Guideline.from_yaml(text, source=str(file))
