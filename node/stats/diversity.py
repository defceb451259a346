"""Dataset-diversity histograms of a project's tasks, on fixed public bins.

One count per task (series) in each histogram: modality, manufacturer (a
closed list of vendors; the rest ``other``), sex, age bins, slice-thickness
bins, and label prevalence (tasks in which any reader marked the label). The
bins and codes are fixed (``node.egress.payloads``), so no histogram carries a
free-text value out of the node. The manufacturer and, when the study table
lacks a birth date, the age come from the header of the series' first stored
instance (read without pixels).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from node.quality import ProjectData
from node.store.annotation_tables import ProjectRow, TaskRow
from node.store.schema import InstanceRow, SeriesRow, StudyRow

__all__ = [
    "AGE_EDGES",
    "MANUFACTURERS",
    "MODALITIES",
    "SEXES",
    "THICKNESS_EDGES",
    "diversity_payload",
    "empty_diversity",
]

AGE_EDGES = (0.0, 18.0, 40.0, 65.0, 80.0, 130.0)
THICKNESS_EDGES = (0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 1000.0)
MODALITIES = ("CR", "CT", "DX", "MG", "MR", "NM", "OT", "PT", "US", "XA")
SEXES = ("F", "M", "O", "unknown")
MANUFACTURERS = (
    "agfa",
    "canon",
    "carestream",
    "fujifilm",
    "ge",
    "hologic",
    "philips",
    "samsung",
    "siemens",
    "toshiba",
    "other",
    "unknown",
)
_AGE = re.compile(r"^(\d{3})([DWMY])$")
_DAYS = {"D": 1 / 365.25, "W": 7 / 365.25, "M": 1 / 12, "Y": 1.0}


def _manufacturer(value: str) -> str:
    text = value.strip().lower()
    if not text:
        return "unknown"
    if text.startswith(("ge ", "ge_", "gehc", "general electric")) or text == "ge":
        return "ge"
    for vendor in MANUFACTURERS[:-2]:
        if vendor in text:
            return vendor
    return "other"


def _age_years(birth: str, study: str, header_age: str) -> float | None:
    match = _AGE.fullmatch(header_age.strip())
    if match:
        return int(match[1]) * _DAYS[match[2]]
    if len(birth) == 8 and len(study) == 8 and birth.isdigit() and study.isdigit():
        before_birthday = study[4:] < birth[4:]
        return float(int(study[:4]) - int(birth[:4]) - int(before_birthday))
    return None


def _categorical(codes: tuple[str, ...], counter: Counter[str]) -> dict[str, Any]:
    return {
        "categories": np.asarray(codes, dtype=str),
        "counts": np.asarray([counter.get(c, 0) for c in codes], dtype=np.int64),
    }


def _binned(edges: tuple[float, ...], values: list[float]) -> dict[str, Any]:
    array = np.asarray(edges, dtype=np.float64)
    clipped = np.clip(np.asarray(values, dtype=np.float64), array[0], array[-1])
    counts, _ = np.histogram(clipped, bins=array)
    return {"edges": array, "counts": counts.astype(np.int64)}


def diversity_payload(engine: Engine, data: ProjectData, blob_dir: Path) -> dict[str, Any]:
    """``{"guideline": {...}, "histograms": {name: {categories|edges, counts}}}``."""
    modality: Counter[str] = Counter()
    manufacturer: Counter[str] = Counter()
    sex: Counter[str] = Counter()
    ages: list[float] = []
    with Session(engine) as session:
        rows = session.execute(
            select(TaskRow.id, SeriesRow.modality, StudyRow.patient_sex)
            .add_columns(
                StudyRow.patient_birth_date, StudyRow.study_date, TaskRow.series_instance_uid
            )
            .join(ProjectRow, ProjectRow.id == TaskRow.project_id)
            .join(SeriesRow, SeriesRow.series_instance_uid == TaskRow.series_instance_uid)
            .join(StudyRow, StudyRow.study_instance_uid == SeriesRow.study_instance_uid)
            .where(ProjectRow.name == data.name)
        ).all()
        for _task, series_modality, patient_sex, birth, study, series_uid in rows:
            modality[series_modality if series_modality in MODALITIES else "OT"] += 1
            sex[patient_sex if patient_sex in SEXES else "unknown"] += 1
            digest = session.execute(
                select(InstanceRow.content_sha256)
                .where(InstanceRow.series_instance_uid == series_uid)
                .order_by(InstanceRow.instance_number)
                .limit(1)
            ).scalar_one_or_none()
            vendor, header_age = "", ""
            if digest is not None:
                path = blob_dir / digest[:2] / digest[2:4] / digest
                if path.exists():
                    header = pydicom.dcmread(
                        path,
                        stop_before_pixels=True,
                        specific_tags=["Manufacturer", "PatientAge"],
                    )
                    vendor = str(header.get("Manufacturer", "") or "")
                    header_age = str(header.get("PatientAge", "") or "")
            manufacturer[_manufacturer(vendor)] += 1
            age = _age_years(birth or "", study or "", header_age)
            if age is not None:
                ages.append(age)
    thickness = [
        float(task.slices[0].slice_thickness)
        for task in data.tasks.values()
        if task.slices and task.slices[0].slice_thickness
    ]
    labels = tuple(label.name for label in data.guideline.labels)
    present: Counter[str] = Counter()
    seen = {(a.task_id, a.label) for a in data.annotations if not a.cannot_assess}
    for _task_id, label in seen:
        present[label] += 1
    return {
        "guideline": {"name": data.guideline.name, "version": data.guideline.version},
        "histograms": {
            "modality": _categorical(MODALITIES, modality),
            "manufacturer": _categorical(MANUFACTURERS, manufacturer),
            "sex": _categorical(SEXES, sex),
            "age_years": _binned(AGE_EDGES, ages),
            "slice_thickness_mm": _binned(THICKNESS_EDGES, thickness),
            "label_prevalence": _categorical(labels, present),
        },
    }


def empty_diversity(data: ProjectData) -> dict[str, Any]:
    """The diversity payload with every count zero: its layout, the same on every site."""
    labels = tuple(label.name for label in data.guideline.labels)
    return {
        "guideline": {"name": data.guideline.name, "version": data.guideline.version},
        "histograms": {
            "modality": _categorical(MODALITIES, Counter()),
            "manufacturer": _categorical(MANUFACTURERS, Counter()),
            "sex": _categorical(SEXES, Counter()),
            "age_years": _binned(AGE_EDGES, []),
            "slice_thickness_mm": _binned(THICKNESS_EDGES, []),
            "label_prevalence": _categorical(labels, Counter()),
        },
    }
