"""The dashboard over a real project: three readers through the annotation services."""

from __future__ import annotations

import math

import numpy as np
import pytest

from node.errors import NotFoundError
from node.quality import QualityService, load_project, staple_counts
from shared.agreement import dice
from shared.consensus import staple
from tests.unit.node.quality.conftest import READERS, ReadProject


def test_report_pools_the_stored_figures(read_project: ReadProject) -> None:
    report = QualityService(read_project.runtime.engine).report("lung")
    labels = {f.label: f for f in report.labels}
    mask = labels["nodule-mask"].figure
    # Pooled Dice equals Dice over the union of every task's pair volumes.
    inter = total = 0
    for task_id in read_project.task_ids:
        for i, a in enumerate(READERS):
            for b in READERS[i + 1 :]:
                ma, mb = read_project.masks[(task_id, a)], read_project.masks[(task_id, b)]
                inter += int((ma & mb).sum())
                total += int(ma.sum() + mb.sum())
    assert mask.value == pytest.approx(2 * inter / total)
    assert mask.n == 9 and mask.tasks == 3
    assert labels["lung-rads"].figure.metric == "alpha"
    assert {f.label for f in report.labels} == {lab.name for lab in read_project.guideline.labels}


def test_staple_per_reader_matches_a_direct_run(read_project: ReadProject) -> None:
    report = QualityService(read_project.runtime.engine).report("lung")
    rows = {(r.reader, r.label): r for r in report.readers}
    task_id = read_project.task_ids[0]
    volumes = np.stack([read_project.masks[(task_id, r)] for r in READERS])
    direct = staple(volumes)
    data = load_project(read_project.runtime.engine, "lung")
    assert data.tasks[task_id].status in {"consensus", "adjudication"}
    for reader in READERS:
        soft = rows[(reader, "nodule-mask")].staple
        assert soft is not None and soft.tasks == 3
        assert 0.0 <= soft.sensitivity <= 1.0
    # One task alone: the soft counts reproduce STAPLE's own per-reader estimates.
    single = staple_counts("nodule-mask", data.tasks[task_id], data.annotations)
    for i, reader in enumerate(READERS):
        assert single[reader].sensitivity == pytest.approx(direct.sensitivity[i], abs=1e-6)
        assert single[reader].specificity == pytest.approx(direct.specificity[i], abs=1e-6)


def test_outlying_reader_is_found(read_project: ReadProject) -> None:
    report = QualityService(read_project.runtime.engine).report("lung")
    outliers = {(f.subject, f.label) for f in report.findings if f.check == "reader_outlier"}
    assert ("carol", "nodule-mask") in outliers
    assert not any(subject in {"alice", "bob"} for subject, _ in outliers)
    carol = next(r for r in report.readers if r.reader == "carol" and r.label == "nodule-mask")
    alice_bob = [
        dice(read_project.masks[(t, "alice")], read_project.masks[(t, "bob")])
        for t in read_project.task_ids
    ]
    assert carol.rest_agreement.mean == pytest.approx(float(np.mean(alice_bob)))


def test_classification_against_consensus(read_project: ReadProject) -> None:
    report = QualityService(read_project.runtime.engine).report("lung")
    rows = {(r["reader"], r["label"]): r for r in report.reader_rows()}
    data = load_project(read_project.runtime.engine, "lung")
    closed_with_consensus = {
        c.task_id for c in data.consensus if c.label == "lung-rads" and c.payload["annotations"]
    }
    alice = rows[("alice", "lung-rads")]
    assert alice["consensus_items"] == len(closed_with_consensus)
    if closed_with_consensus:
        assert alice["consensus_agreement"] == pytest.approx(1.0)
        assert not math.isnan(alice["consensus_agreement"])


def test_unknown_project_is_not_found(read_project: ReadProject) -> None:
    with pytest.raises(NotFoundError, match="no project 'nope'"):
        QualityService(read_project.runtime.engine).report("nope")


def test_staple_runs_once_per_closed_task(
    read_project: ReadProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    import node.quality.readers as readers_module

    calls: list[int] = []
    real = readers_module.staple_counts

    def counting(label, task, annotations):  # type: ignore[no-untyped-def]
        calls.append(task.id)
        return real(label, task, annotations)

    monkeypatch.setattr(readers_module, "staple_counts", counting)
    service = QualityService(read_project.runtime.engine)
    first = service.report("lung")
    second = service.report("lung")
    assert sorted(calls) == sorted(read_project.task_ids)
    assert [r.to_row() for r in first.readers] == [r.to_row() for r in second.readers]


def test_category_agreement_reads_the_stored_categories(read_project: ReadProject) -> None:
    from shared.agreement import krippendorff_alpha

    report = QualityService(read_project.runtime.engine).report("lung")
    rads = next(f for f in report.labels if f.label == "lung-rads").figure
    codes = read_project.guideline.label("lung-rads").category_codes  # type: ignore[union-attr]
    data = np.array(
        [[codes.index(read_project.rads[(t, r)]) for t in read_project.task_ids] for r in READERS]
    )
    expected = krippendorff_alpha(data, "ordinal", value_domain=list(range(len(codes))))
    assert rads.metric == "alpha" and rads.value == pytest.approx(expected.value)
    assert rads.n == 9 and rads.tasks == 3
