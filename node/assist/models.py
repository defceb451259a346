"""A model version ready to run: its reference, training plan and weights (torch-free).

The runner takes a :class:`ModelBundle`. It comes from a weights file
(:mod:`shared.weights`, the format the coordinator's registry stores and nodes
pull) and is named by the SHA-256 of the file's bytes, so a run records
exactly which weights made its drafts. The training plan comes, in this
order, from the caller, the file's ``"plan"`` metadata, the pulled model's
``.json`` record, or the guideline version the model was trained under (its
``training_plans`` entry named like the model).

Pulled models (``harmonia-node model pull``) live in
``DATA_DIR/models/<name>/<version>.weights`` with a ``.json`` record beside it
(name, version, guideline, SHA-256); :func:`bundle_from_store` reads one by
``NAME@VERSION`` and checks the file's SHA-256 against the record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from node.assist.errors import ModelMismatchError, ModelUnavailableError
from node.assist.records import ModelRef
from node.errors import NodeError
from shared.schemas.training import TrainingPlan, TrainingPlanError
from shared.weights import WeightsFormatError, decode_weights, weights_sha256

if TYPE_CHECKING:
    from node.annotate import GuidelineRegistry

__all__ = [
    "ModelBundle",
    "bundle_from_bytes",
    "bundle_from_file",
    "bundle_from_store",
    "guideline_plans",
    "parse_model_key",
    "stored_model_path",
]

_KEY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.\-]{0,127})@([A-Za-z0-9_.\-]{1,64})$")


def parse_model_key(key: str) -> tuple[str, str]:
    """``NAME@VERSION`` → ``(name, version)``; :class:`ModelUnavailableError` when malformed."""
    match = _KEY.fullmatch(key.strip())
    if match is None:
        raise ModelUnavailableError(
            f"{key!r} is not a model reference; write NAME@VERSION, e.g. nodule-seg@3"
        )
    return match.group(1), match.group(2)


@dataclass(frozen=True)
class ModelBundle:
    """A model version's reference, plan and weights (``state_dict`` order)."""

    ref: ModelRef
    plan: TrainingPlan
    weights: tuple[np.ndarray[Any, Any], ...]


def bundle_from_bytes(
    data: bytes,
    *,
    name: str | None = None,
    version: str | None = None,
    plan: TrainingPlan | None = None,
    source: str = "weights file",
) -> ModelBundle:
    """Read a weights file's bytes (plan from ``plan`` or the file's ``"plan"`` metadata).

    Raises
    ------
    ModelMismatchError
        Not a weights file, no usable plan, or a plan that does not parse.
    """
    try:
        arrays, metadata = decode_weights(data)
    except WeightsFormatError as exc:
        raise ModelMismatchError(f"{source}: {exc}") from None
    if plan is None:
        stored = metadata.get("plan")
        if stored is None:
            raise ModelMismatchError(
                f"{source} carries no training plan in its metadata; give the plan beside it "
                "(--plan FILE)"
            )
        try:
            plan = TrainingPlan.from_mapping(stored, source=f"{source}'s plan")
        except TrainingPlanError as exc:
            raise ModelMismatchError(str(exc)) from None
    ref = ModelRef(
        name=name or str(metadata.get("name") or plan.name),
        version=version or str(metadata.get("version") or "local"),
        sha256=weights_sha256(data),
    )
    return ModelBundle(ref, plan, tuple(arrays.values()))


def bundle_from_file(
    path: Path,
    *,
    name: str | None = None,
    version: str | None = None,
    plan: TrainingPlan | None = None,
) -> ModelBundle:
    """Read a weights file from disk (see :func:`bundle_from_bytes`)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelUnavailableError(
            f"cannot read the weights file {path}: {exc.strerror}"
        ) from None
    return bundle_from_bytes(data, name=name, version=version, plan=plan, source=str(path))


def stored_model_path(data_dir: Path, name: str, version: str) -> Path:
    """Where ``model pull`` keeps version ``version`` of model ``name``."""
    return data_dir / "models" / name / f"{version}.weights"


def bundle_from_store(
    data_dir: Path,
    key: str,
    *,
    plan: TrainingPlan | None = None,
    guideline_plan: Callable[[str, str, str], TrainingPlan | None] | None = None,
) -> ModelBundle:
    """A pulled model version by ``NAME@VERSION``, verified against its record's SHA-256.

    ``guideline_plan(guideline_name, guideline_version, model_name)`` looks the
    plan up in a guideline version the node holds, when neither ``plan``, the
    file nor the record carries one.

    Raises
    ------
    ModelUnavailableError
        Not pulled (the message says how to pull it), or its bytes no longer match
        the SHA-256 recorded when it was pulled.
    ModelMismatchError
        No plan could be found for it.
    """
    name, version = parse_model_key(key)
    path = stored_model_path(data_dir, name, version)
    if not path.is_file():
        raise ModelUnavailableError(
            f"model {key} is not on this node; pull it first with 'harmonia-node model pull "
            f"--data-dir {data_dir} --name {name} --version {version}'"
        )
    data = path.read_bytes()
    record: dict[str, Any] = {}
    record_path = path.with_suffix(".json")
    if record_path.is_file():
        try:
            record = dict(json.loads(record_path.read_text(encoding="utf-8")))
        except (ValueError, TypeError):
            record = {}
    expected = record.get("sha256")
    if expected is not None and weights_sha256(data) != expected:
        raise ModelUnavailableError(
            f"the stored weights of {key} no longer match the SHA-256 recorded when they were "
            "pulled; pull the model again"
        )
    if plan is None and isinstance(record.get("plan"), dict):
        try:
            plan = TrainingPlan.from_mapping(record["plan"], source=f"{record_path}'s plan")
        except TrainingPlanError as exc:
            raise ModelMismatchError(str(exc)) from None
    if plan is None and guideline_plan is not None:
        _, metadata = _metadata(data, str(path))
        guideline = record.get("guideline") or {}
        if "plan" not in metadata and guideline.get("name") and guideline.get("version"):
            plan = guideline_plan(str(guideline["name"]), str(guideline["version"]), name)
    return bundle_from_bytes(data, name=name, version=version, plan=plan, source=str(path))


def _metadata(data: bytes, source: str) -> tuple[dict[str, np.ndarray[Any, Any]], dict[str, Any]]:
    try:
        return decode_weights(data)
    except WeightsFormatError as exc:
        raise ModelMismatchError(f"{source}: {exc}") from None


def guideline_plans(
    guidelines: GuidelineRegistry,
) -> Callable[[str, str, str], TrainingPlan | None]:
    """For ``bundle_from_store``: a model's plan in a guideline version the node holds.

    The lookup answers ``None`` for a guideline version the node does not hold
    (or one that declares no plan of that name), so the caller's next source decides.
    """

    def plan(name: str, version: str, model: str) -> TrainingPlan | None:
        try:
            found = guidelines.get(name, version)
        except NodeError:
            return None
        return found.guideline.training_plan(model)

    return plan
