"""Nodes with multi-reader annotations for statistics rounds (integration tests, benchmark).

:func:`prepare_site` fills a node data directory (before ``serve`` opens it)
with phantom CT series, the example guideline, a project ``lung`` and the
Lung-RADS readings of 2–3 readers per task through the node's annotation
domain, then completes the tasks so the agreement results are stored.
:func:`union_figures` computes the pooled figures on the union of several
nodes' data in one process (the reference a stats round must equal).
:func:`write_policy` sets a site's statistics policy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from coordinator.rounds import SiteStatistics, label_figures
from node.annotate import AnnotationService, ProjectSpec, SeriesQuery
from node.quality import ProjectData, load_project, pool_label
from node.runtime import open_node
from node.settings import NodeSettings
from node.stats import POLICY_FILE, agreement_payload
from node.store.database import create_database_engine
from shared.phantoms import SITE_STYLES, PhantomSpec, dataset_to_bytes, generate_series
from shared.schemas import load_guideline

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "guideline-lung-nodule.yaml"
PROJECT = "lung"
CATEGORIES = ("1", "2", "3", "4A", "4B", "4X")

# Per site: the readers and, per task, each reader's Lung-RADS category.
# Site a agrees closely, site b has one reader drifting, site c disagrees a lot.
PLANS: dict[str, list[dict[str, str]]] = {
    "a": [
        {"alice": "2", "bob": "2"},
        {"alice": "3", "bob": "3"},
        {"alice": "4A", "bob": "4A"},
        {"alice": "1", "bob": "2"},
    ],
    "b": [
        {"dana": "2", "eve": "2", "finn": "3"},
        {"dana": "3", "eve": "3", "finn": "3"},
        {"dana": "4A", "eve": "4B", "finn": "4A"},
    ],
    "c": [
        {"gus": "1", "hana": "4A", "ivo": "2"},
        {"gus": "3", "hana": "2", "ivo": "3"},
        {"gus": "4B", "hana": "4A", "ivo": "1"},
        {"gus": "2", "hana": "2", "ivo": "4X"},
    ],
}


def node_settings(data_dir: Path) -> NodeSettings:
    return NodeSettings(data_dir=data_dir, fsync=False, ingest_workers=0)


def prepare_site(data_dir: Path, plan: Sequence[dict[str, str]], *, seed: int = 0) -> None:
    """Ingest one phantom per task and record ``plan``'s readings through the domain."""
    guideline = load_guideline(EXAMPLE)
    with open_node(node_settings(data_dir)) as runtime:
        for index in range(len(plan)):
            spec = PhantomSpec(
                modality="CT",
                rows=64,
                columns=64,
                slices=2,
                seed=seed * 100 + index,
                style=SITE_STYLES["reference"],
            )
            for dataset in generate_series(spec).datasets():
                outcome = runtime.ingest.ingest_bytes(dataset_to_bytes(dataset), source="test")
                assert outcome.accepted, outcome
        service = AnnotationService(runtime.engine, runtime.store, audit=runtime.audit)
        service.guidelines.load(guideline, loaded_by="admin")
        readers = sorted({reader for task in plan for reader in task})
        service.projects.create(
            ProjectSpec(
                name=PROJECT,
                guideline_name=guideline.name,
                guideline_version=guideline.version,
                query=SeriesQuery(modality="CT"),
                readers=tuple(readers),
                readers_per_task=len(plan[0]),
            ),
            created_by="admin",
        )
        task_ids = sorted(
            {item.task.id for reader in readers for item in service.tasks.worklist(reader).items}
        )
        for task_id, readings in zip(task_ids, plan, strict=False):
            for reader, category in readings.items():
                service.revisions.create(
                    task_id,
                    reader,
                    {
                        "label": "lung-rads",
                        "kind": "classification",
                        "confidence": 4,
                        "geometry": {"value": category},
                    },
                )
            for reader in readings:
                service.tasks.complete(task_id, reader)


def write_policy(
    data_dir: Path,
    *,
    epsilon: float = 50.0,
    delta: float = 1e-4,
    allow_noise_free: bool = True,
    allow_per_site_release: bool = True,
) -> None:
    """Set a site's statistics policy (per-site releases allowed unless said otherwise)."""
    (data_dir / POLICY_FILE).write_text(
        json.dumps(
            {
                "epsilon": epsilon,
                "delta": delta,
                "allow_noise_free": allow_noise_free,
                "allow_per_site_release": allow_per_site_release,
            }
        )
    )


def project_data(data_dir: Path) -> ProjectData:
    settings = node_settings(data_dir)
    engine = create_database_engine(settings.resolved_database_url, durable=False)
    try:
        return load_project(engine, PROJECT)
    finally:
        engine.dispose()


def site_statistics(data_dir: Path, site: str) -> SiteStatistics:
    """A node's agreement statistics computed locally (plain, no noise, no gate)."""
    payload = agreement_payload(project_data(data_dir))
    return SiteStatistics(
        site, [(e["label"], e["statistic"], e["arrays"]) for e in payload["statistics"]]
    )


def union_figures(data_dirs: Sequence[Path]) -> dict[str, Any]:
    """Pooled figures on the union of the nodes' pair results, pooled in one pass.

    The nodes' task ids are made distinct first (each task is its own unit), then
    the dashboard's :func:`~node.quality.pool_label` pools all pairs at once.
    """
    projects = [project_data(d) for d in data_dirs]
    guideline = projects[0].guideline
    pairs = [
        replace(pair, task_id=index * 1_000_000 + pair.task_id)
        for index, project in enumerate(projects)
        for pair in project.pairs
    ]
    pooled: dict[str, dict[str, Any]] = {}
    for label in guideline.labels:
        pool = pool_label(label, (p for p in pairs if p.label == label.name))
        statistics = {
            name: value
            for name, value in (
                ("confusion", pool.confusion),
                ("coincidence", pool.coincidence),
                ("overlap", pool.overlap),
                ("detection", pool.detection),
            )
            if value is not None
        }
        if statistics:
            pooled[label.name] = statistics
    return label_figures(pooled)
