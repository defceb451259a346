"""The node's training data: local consensus labels over de-identified pixels.

:func:`load_training_data` turns a project's work into arrays a model trains on:

Targets
    The consensus of each task's latest round, as stored by the annotation
    domain: adjudicated when an adjudicator decided, else STAPLE (masks) or
    majority (classifications), or a single reader's own annotations. Only
    tasks whose status is ``consensus`` count; a mask label whose consensus
    is empty is a lesion-free case.
Samples
    Segmentation: one sample per slice (2D, or 2.5D with context slices),
    targets one 0/1 map per plan label; lesion-free slices of training cases
    are kept with probability ``plan.background_fraction`` (a deterministic
    draw per slice), validation keeps every slice. Classification: one sample
    per task, the series' central slice (with its context slices), the target
    the index of the consensus category in ``plan.classes`` (tasks whose
    consensus is another category are left out).
Weights
    ``max(minimum, c · a)`` per task (:class:`~shared.schemas.SampleWeighting`):
    ``c`` the consensus's reader confidence over the scale's maximum, ``a`` the
    readers' mean pairwise agreement on the plan's labels in that task (1 for
    adjudicated or single-reader consensus); scaled to mean 1 over training.
Split
    By patient (the de-identified patient pseudonym of the task's study): a
    patient is in validation when a keyed hash of the project and pseudonym
    falls below ``plan.validation_fraction``, so the split is stable across
    rounds and as data grows; with two or more patients and a fraction above
    0, at least one patient validates and at least one trains.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from node.errors import PlanMismatchError, TrainingDataError
from node.learn.samples import TrainingData
from node.learn.volumes import prepare_volume, read_volume, resize_masks, stack_slices
from node.quality import ProjectData, load_project
from node.settings import NodeSettings
from node.store import FileBlobStore, InstanceStore, create_database_engine
from node.store.annotation_tables import TaskRow
from node.store.schema import StudyRow
from shared.formats.rle import rle_decode
from shared.schemas.training import TrainingPlan, TrainingPlanError, TrainingTask

__all__ = ["TrainingData", "load_training_data"]

_ADJUDICATED = "adjudicated"
_SINGLE = "single-reader"


@dataclass
class _Case:
    task_id: int
    patient: str
    weight: float
    volume: npt.NDArray[np.float32]
    masks: npt.NDArray[np.uint8] | None = None  # (slices, L, size, size)
    category: int | None = None


def _open(
    source: NodeSettings | Path | Engine, blob_dir: Path | None
) -> tuple[Engine, InstanceStore, bool]:
    if isinstance(source, Engine):
        if blob_dir is None:
            raise TrainingDataError(
                "pass blob_dir with an engine (the node's instances folder)", project="-", plan="-"
            )
        return source, InstanceStore(source, FileBlobStore(blob_dir, fsync=False)), False
    settings = source if isinstance(source, NodeSettings) else NodeSettings(data_dir=source)
    engine = create_database_engine(settings.resolved_database_url, durable=False)
    store = InstanceStore(engine, FileBlobStore(blob_dir or settings.blob_dir, fsync=False))
    return engine, store, True


def load_training_data(
    source: NodeSettings | Path | Engine,
    project: str,
    plan: TrainingPlan,
    *,
    blob_dir: Path | None = None,
) -> TrainingData:
    """The samples of ``project`` for ``plan`` (see the module docstring).

    Parameters
    ----------
    source
        The node's settings, its data directory, or an open engine (then
        ``blob_dir`` names the instances folder).
    project
        The annotation project.
    plan
        Which labels, input geometry, weighting and split.

    Raises
    ------
    NotFoundError
        No such project, or a task's instance is no longer stored.
    PlanMismatchError
        The plan's labels or classes do not fit the project's guideline.
    TrainingDataError
        No task with a consensus for the plan's labels, or no training sample left.
    """
    engine, store, owned = _open(source, blob_dir)
    try:
        data = load_project(engine, project)
        try:
            plan.check_against(data.guideline)
        except TrainingPlanError as exc:
            raise PlanMismatchError(f"project {project!r}: {exc}") from None
        patients = _patients(engine, [t.id for t in data.tasks.values()])
        cases, skipped = _cases(data, plan, store, patients)
    finally:
        if owned:
            engine.dispose()
    if not cases:
        raise TrainingDataError(
            f"project {project!r} has no task with a consensus for {list(plan.labels)} yet "
            f"({_explain(skipped)}); complete and review tasks first",
            project=project,
            plan=plan.name,
        )
    return _assemble(plan, project, cases, skipped, _fingerprint(data, plan))


def _patients(engine: Engine, task_ids: list[int]) -> dict[int, str]:
    with Session(engine) as session:
        rows = session.execute(
            select(TaskRow.id, StudyRow.patient_id, TaskRow.study_instance_uid)
            .join(StudyRow, StudyRow.study_instance_uid == TaskRow.study_instance_uid, isouter=True)
            .where(TaskRow.id.in_(task_ids))
        )
        return {task: (patient or f"study:{study}") for task, patient, study in rows}


def _mask_planes(
    annotations: list[dict[str, Any]], slice_count: int, shape: tuple[int, int]
) -> npt.NDArray[np.uint8]:
    planes = np.zeros((slice_count, *shape), dtype=np.uint8)
    for annotation in annotations:
        if annotation.get("cannot_assess"):
            continue
        for key, rle in (annotation.get("geometry") or {}).get("slices", {}).items():
            index = int(key)
            if 0 <= index < slice_count:
                plane = rle_decode(rle)
                if plane.shape == shape:
                    planes[index] |= plane.astype(np.uint8)
    return planes


def _agreement(data: ProjectData, task_id: int, labels: tuple[str, ...]) -> float:
    values = [
        p.value
        for p in data.pairs
        if p.task_id == task_id and p.label in labels and p.value is not None
    ]
    return float(np.mean(values)) if values else 1.0


def _cases(
    data: ProjectData, plan: TrainingPlan, store: InstanceStore, patients: dict[int, str]
) -> tuple[list[_Case], dict[str, int]]:
    consensus = {(c.task_id, c.label): c for c in data.consensus}
    scale = data.guideline.confidence.maximum
    skipped = {"not_complete": 0, "no_consensus": 0, "other_category": 0}
    cases: list[_Case] = []
    for task in sorted(data.tasks.values(), key=lambda t: t.id):
        if task.status != "consensus":
            skipped["not_complete"] += 1
            continue
        found = [consensus.get((task.id, label)) for label in plan.labels]
        if any(c is None for c in found):
            skipped["no_consensus"] += 1
            continue
        records = [c for c in found if c is not None]
        annotations = [list(c.payload.get("annotations", [])) for c in records]
        category = None
        if plan.task is TrainingTask.CLASSIFICATION:
            values = [
                (a.get("geometry") or {}).get("value")
                for a in annotations[0]
                if not a.get("cannot_assess")
            ]
            if not values or values[-1] not in plan.classes:
                skipped["other_category"] += 1
                continue
            category = plan.classes.index(values[-1])
        confidences = [
            float(a["confidence"])
            for group in annotations
            for a in group
            if isinstance(a.get("confidence"), int | float)
        ]
        c = (
            min(1.0, float(np.mean(confidences)) / scale)
            if plan.weighting.confidence and confidences
            else 1.0
        )
        decided = all(r.method in (_ADJUDICATED, _SINGLE) for r in records)
        a = (
            _agreement(data, task.id, plan.labels)
            if plan.weighting.agreement and not decided
            else 1.0
        )
        volume = read_volume(store, task.slices)
        case = _Case(
            task_id=task.id,
            patient=patients.get(task.id, f"task:{task.id}"),
            weight=max(plan.weighting.minimum, c * a),
            volume=prepare_volume(volume, plan.input),
            category=category,
        )
        if plan.task is TrainingTask.SEGMENTATION:
            shape = (int(volume.shape[1]), int(volume.shape[2]))
            planes = [_mask_planes(group, volume.shape[0], shape) for group in annotations]
            case.masks = resize_masks(np.stack(planes, axis=1), plan.input.size)
        cases.append(case)
    return cases, skipped


def _unit(key: str) -> float:
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def _validation_patients(project: str, patients: list[str], fraction: float) -> set[str]:
    if fraction <= 0 or len(patients) < 2:
        return set()
    score = {p: _unit(f"split/{project}/{p}") for p in patients}
    chosen = {p for p in patients if score[p] < fraction}
    if not chosen:
        chosen = {min(patients, key=score.__getitem__)}
    if len(chosen) == len(patients):
        chosen.discard(max(patients, key=score.__getitem__))
    return chosen


def _assemble(
    plan: TrainingPlan,
    project: str,
    cases: list[_Case],
    skipped: dict[str, int],
    fingerprint: str,
) -> TrainingData:
    held = _validation_patients(
        project, sorted({c.patient for c in cases}), plan.validation_fraction
    )
    context = plan.input.context_slices
    images: list[npt.NDArray[np.float32]] = []
    targets: list[Any] = []
    weights: list[float] = []
    tasks: list[int] = []
    validation: list[bool] = []
    for case in cases:
        is_validation = case.patient in held
        if case.masks is None:
            middle = case.volume.shape[0] // 2
            images.append(stack_slices(case.volume, middle, context))
            targets.append(case.category)
            weights.append(case.weight)
            tasks.append(case.task_id)
            validation.append(is_validation)
            continue
        for index in range(case.volume.shape[0]):
            target = case.masks[index]
            if (
                not is_validation
                and not target.any()
                and _unit(f"background/{case.task_id}/{index}") >= plan.background_fraction
            ):
                continue
            images.append(stack_slices(case.volume, index, context))
            targets.append(target.astype(np.float32))
            weights.append(case.weight)
            tasks.append(case.task_id)
            validation.append(is_validation)
    mask = np.asarray(validation, dtype=bool)
    weight = np.asarray(weights, dtype=np.float32)
    if (~mask).any():
        weight = weight / np.float32(weight[~mask].mean())
    if not (~mask).any():
        raise TrainingDataError(
            f"project {project!r} has no training sample for plan {plan.name!r} (every patient "
            "is in validation); add cases or lower validation_fraction",
            project=project,
            plan=plan.name,
        )
    dtype = np.float32 if plan.task is TrainingTask.SEGMENTATION else np.int64
    return TrainingData(
        plan=plan,
        images=np.stack(images).astype(np.float32, copy=False),
        targets=np.asarray(np.stack(targets) if targets else [], dtype=dtype),
        weights=weight,
        task_ids=np.asarray(tasks, dtype=np.int64),
        validation=mask,
        fingerprint=fingerprint,
        skipped=dict(skipped),
    )


def _fingerprint(data: ProjectData, plan: TrainingPlan) -> str:
    state = {
        "plan": json.loads(plan.canonical_json()),
        "tasks": sorted((t.id, t.round, t.status) for t in data.tasks.values()),
        "consensus": sorted(
            (
                c.task_id,
                c.label,
                c.method,
                hashlib.sha256(json.dumps(c.payload, sort_keys=True).encode()).hexdigest(),
            )
            for c in data.consensus
        ),
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def _explain(skipped: dict[str, int]) -> str:
    parts = [f"{n} {what.replace('_', ' ')}" for what, n in skipped.items() if n]
    return ", ".join(parts) or "no tasks"
