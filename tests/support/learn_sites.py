"""Synthetic hospital sites for federated learning: phantom lesions read by simulated readers.

:func:`prepare_learning_site` fills a node data directory with phantom CT
series of one site style, a guideline with one mask label (``lesion``), a
project over the series, and each task read by the site's simulated readers
(:mod:`shared.simulation`) through the node's annotation domain; completing
the tasks stores the consensus (STAPLE), which is what the node trains on.
A :class:`SiteRecipe` makes sites non-IID: scanner style, which kinds of
lesion the site sees (and where), their sizes, and the readers' habits.
:func:`test_cases` draws held-out cases with their ground truth.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from node.annotate import AnnotationService, ProjectSpec, SeriesQuery
from node.runtime import open_node
from node.settings import NodeSettings
from shared.phantoms import (
    SITE_STYLES,
    Lesion,
    LesionKind,
    PhantomSeries,
    PhantomSpec,
    SiteStyle,
    dataset_to_bytes,
    generate_series,
)
from shared.schemas import Guideline
from shared.simulation import CaseTruth, ReaderHabits, ReaderProfile, simulate_annotations

PROJECT = "lesions"


def tiny_plan(**overrides: Any) -> dict[str, Any]:
    """A training plan small enough for rounds on real processes (a 2-level U-Net on 32 px).

    DP-SGD (z = 1, max grad norm 1) and an update clip norm of 5 unless
    ``overrides`` change them (``privacy=None`` leaves DP out).
    """
    plan: dict[str, Any] = {
        "name": "lesion-seg",
        "task": "segmentation",
        "labels": ["lesion"],
        "model": {"features": [4, 8], "groups": 4},
        "input": {"size": 32},
        "batch_size": 16,
        "learning_rate": 0.05,
        "update_clip_norm": 5.0,
        "privacy": {"noise_multiplier": 1.0, "max_grad_norm": 1.0, "delta": 1e-5},
    }
    plan.update(overrides)
    return {k: v for k, v in plan.items() if v is not None}


LABEL = "lesion"
ROWS = 64
PIXEL_MM = 5.0

# Where each lesion type sits: (x, y) centre as fractions of the field of view, the
# jitter around it, and the range of the series fraction f (0 inferior, 1 superior).
SITES_OF_LESIONS: Mapping[str, tuple[tuple[float, float], float, tuple[float, float]]] = {
    "lung-nodule": ((0.17, 0.0), 0.05, (0.72, 0.92)),
    "liver-cyst": ((-0.15, 0.0), 0.05, (0.25, 0.45)),
    "abdominal-mass": ((0.12, -0.10), 0.04, (0.12, 0.35)),
}
KIND_OF: Mapping[str, LesionKind] = {
    "lung-nodule": LesionKind.SOLID,
    "liver-cyst": LesionKind.CYST,
    "abdominal-mass": LesionKind.SOLID,
}


def lesion_guideline() -> Guideline:
    """One mask label; a low adjudication threshold so every task reaches a consensus."""
    return Guideline.model_validate(
        {
            "name": "lesion-seg",
            "version": "1",
            "title": "Focal lesions",
            "labels": [
                {
                    "name": LABEL,
                    "kind": "mask",
                    "definition": "every focal lesion (nodule, cyst, mass), its whole extent",
                    "adjudication_threshold": 0.05,
                }
            ],
            "readers_per_task": 3,
        }
    )


@dataclass(frozen=True)
class SiteRecipe:
    """What makes one synthetic site: scanner, lesion mix and sizes, readers."""

    name: str
    style: SiteStyle
    lesion_mix: Mapping[str, float]
    radius_mm: tuple[float, float]
    readers: Sequence[ReaderProfile]
    seed: int
    lesions_per_case: tuple[int, int] = (1, 2)
    slices: int = 16
    slice_mm: float = 4.0
    extra: Mapping[str, str] = field(default_factory=dict)


def _rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def case_spec(recipe: SiteRecipe, index: int, *, series_number: int = 1) -> PhantomSpec:
    """Case ``index`` of the site: its phantom with 1–2 lesions drawn from the site's mix."""
    rng = _rng(recipe.name, recipe.seed, index)
    fov = ROWS * PIXEL_MM
    z_span = (recipe.slices - 1) * recipe.slice_mm
    z0 = -z_span / 2.0
    kinds = sorted(recipe.lesion_mix)
    weights = np.array([recipe.lesion_mix[k] for k in kinds], dtype=float)
    lesions = []
    count = int(rng.integers(recipe.lesions_per_case[0], recipe.lesions_per_case[1] + 1))
    for label in range(1, count + 1):
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        (fx, fy), jitter, (f0, f1) = SITES_OF_LESIONS[kind]
        side = -1.0 if kind == "lung-nodule" and rng.random() < 0.5 else 1.0
        x = side * (fx + rng.uniform(-jitter, jitter)) * fov
        y = (fy + rng.uniform(-jitter, jitter)) * fov
        z = z0 + rng.uniform(f0, f1) * z_span
        radius = float(rng.uniform(*recipe.radius_mm))
        radii = (radius, radius * rng.uniform(0.8, 1.2), max(radius * 0.8, recipe.slice_mm))
        lesions.append(Lesion((x, y, z), radii, label, KIND_OF[kind], kind))
    return PhantomSpec(
        modality="CT",
        rows=ROWS,
        columns=ROWS,
        slices=recipe.slices,
        seed=recipe.seed * 10_000 + index,
        style=recipe.style,
        lesions=lesions,
        site=recipe.name,
        series_number=series_number,
        pixel_spacing_mm=PIXEL_MM,
        slice_thickness_mm=recipe.slice_mm,
    )


def prepare_learning_site(data_dir: Path, recipe: SiteRecipe, cases: int) -> list[PhantomSeries]:
    """Ingest ``cases`` phantoms, have the readers read them, complete every task."""
    settings = NodeSettings(data_dir=data_dir, fsync=False, ingest_workers=0)
    guideline = lesion_guideline()
    series_of: dict[str, PhantomSeries] = {}
    with open_node(settings) as runtime:
        for index in range(cases):
            series = generate_series(case_spec(recipe, index))
            stored = None
            for dataset in series.datasets():
                outcome = runtime.ingest.ingest_bytes(dataset_to_bytes(dataset), source="test")
                assert outcome.accepted, outcome
                stored = outcome.stored_series_instance_uid
            assert stored is not None
            series_of[stored] = series
        service = AnnotationService(runtime.engine, runtime.store, audit=runtime.audit)
        service.guidelines.load(guideline, loaded_by="admin")
        readers = [r.reader for r in recipe.readers]
        service.projects.create(
            ProjectSpec(
                name=PROJECT,
                guideline_name=guideline.name,
                guideline_version=guideline.version,
                query=SeriesQuery(modality="CT"),
                readers=tuple(readers),
                readers_per_task=len(readers),
            ),
            created_by="admin",
        )
        tasks = {
            item.task.id: item.task
            for reader in readers
            for item in service.tasks.worklist(reader).items
        }
        for task in tasks.values():
            truth = CaseTruth.from_phantom(series_of[task.series_instance_uid])
            for profile in recipe.readers:
                for payload in simulate_annotations(profile, truth, guideline):
                    service.revisions.create(task.id, profile.reader, payload)
            for reader in readers:
                service.tasks.complete(task.id, reader)
    return list(series_of.values())


def default_recipes(seed: int = 0) -> list[SiteRecipe]:
    """Three non-IID sites.

    ========  =============  ====================================  ===========  ===============
    site      scanner        lesions (share)                       radius (mm)  readers
    ========  =============  ====================================  ===========  ===============
    north     siemens-like   lung nodules 75 %, liver cysts 25 %   6–11         one over-draws
                                                                                (+5 mm), one
                                                                                wobbles (2.5 mm)
    south     ge-like        liver cysts 75 %, abdominal masses    9–15         one under-draws
                             25 %                                               (−5 mm), one
                                                                                wobbles (3 mm)
    east      philips-like   abdominal masses 75 %, lung           13–20        one misses 20 %,
                             nodules 25 %                                       one over-draws

    Pixels are 5 mm and slices 4 mm apart, so habits below a pixel would not show.
    ========  =============  ====================================  ===========  ===============
    """
    return [
        SiteRecipe(
            name="north",
            style=SITE_STYLES["siemens-like"],
            lesion_mix={"lung-nodule": 0.75, "liver-cyst": 0.25},
            radius_mm=(6.0, 11.0),
            readers=(
                ReaderProfile("n1", seed=seed + 1, habits=[ReaderHabits(dilation_mm=5.0)]),
                ReaderProfile("n2", seed=seed + 2, habits=[ReaderHabits(boundary_noise_mm=2.5)]),
                ReaderProfile("n3", seed=seed + 3),
            ),
            seed=seed * 3 + 1,
        ),
        SiteRecipe(
            name="south",
            style=SITE_STYLES["ge-like"],
            lesion_mix={"liver-cyst": 0.75, "abdominal-mass": 0.25},
            radius_mm=(9.0, 15.0),
            readers=(
                ReaderProfile("s1", seed=seed + 4, habits=[ReaderHabits(dilation_mm=-5.0)]),
                ReaderProfile("s2", seed=seed + 5, habits=[ReaderHabits(boundary_noise_mm=3.0)]),
                ReaderProfile("s3", seed=seed + 6, confidence=3),
            ),
            seed=seed * 3 + 2,
        ),
        SiteRecipe(
            name="east",
            style=SITE_STYLES["philips-like"],
            lesion_mix={"abdominal-mass": 0.75, "lung-nodule": 0.25},
            radius_mm=(13.0, 20.0),
            readers=(
                ReaderProfile("e1", seed=seed + 7, habits=[ReaderHabits(miss_probability=0.2)]),
                ReaderProfile("e2", seed=seed + 8, habits=[ReaderHabits(dilation_mm=5.0)]),
                ReaderProfile("e3", seed=seed + 9, confidence=5),
            ),
            seed=seed * 3 + 3,
        ),
    ]


def test_cases(recipes: Sequence[SiteRecipe], per_site: int) -> list[PhantomSeries]:
    """Held-out phantoms: every site's scanner with lesions of every kind and size.

    Each held-out case uses one site's style and an even mix of all lesion
    kinds over the union of the sites' radius ranges; it is never ingested
    by any node.
    """
    low = min(r.radius_mm[0] for r in recipes)
    high = max(r.radius_mm[1] for r in recipes)
    even = {kind: 1.0 for kind in SITES_OF_LESIONS}
    cases = []
    for recipe in recipes:
        held = SiteRecipe(
            name=f"test-{recipe.name}",
            style=recipe.style,
            lesion_mix=even,
            radius_mm=(low, high),
            readers=(),
            seed=recipe.seed + 7919,
        )
        cases += [generate_series(case_spec(held, i)) for i in range(per_site)]
    return cases
