"""Agreement by label kind, the adjudication threshold, and consensus methods."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from node.annotate import (
    ProjectSpec,
    ReviewDecision,
    SeriesQuery,
    TaskStatus,
)
from node.annotate.records import AnnotationRecord
from node.auth.roles import Role
from node.errors import InvalidPayloadError, NotAssignedError, TaskStateError
from shared.formats.rle import rle_decode, rle_encode
from tests.unit.node.annotate.conftest import COLUMNS, ROWS, World, box, principal, rads

RITA = principal("rita", Role.REVIEWER)


def square(x0: int, y0: int, size: int) -> np.ndarray:
    mask = np.zeros((ROWS, COLUMNS), dtype=bool)
    mask[y0 : y0 + size, x0 : x0 + size] = True
    return mask


def mask_payload(slices: dict[int, np.ndarray]) -> dict[str, Any]:
    return {
        "label": "nodule-mask",
        "kind": "mask",
        "geometry": {"slices": {str(k): rle_encode(v) for k, v in slices.items()}},
    }


def three_readers(world: World) -> int:
    world.service.projects.create(
        ProjectSpec(
            name="trio",
            guideline_name="lung-nodule",
            guideline_version="1.0",
            query=SeriesQuery(modality="CT"),
            readers=("r1", "r2", "r3"),
            readers_per_task=3,
            reviewers=("rita",),
        ),
        created_by="admin",
    )
    return world.service.tasks.worklist("r1", project="trio").items[0].task.id


def finish(world: World, task_id: int, reader: str, *payloads: dict[str, Any]) -> None:
    for payload in payloads:
        world.service.revisions.create(task_id, reader, payload)
    world.service.tasks.complete(task_id, reader)


def figures(world: World, task_id: int) -> dict[tuple[str, str], float | None]:
    return {(f.label, f.metric): f.value for f in world.service.tasks.agreement(task_id, RITA)}


def test_agreeing_readers_reach_consensus_with_methods(world: World) -> None:
    finish(world, world.task_id, "alice", box(), rads("2"), mask_payload({1: square(10, 10, 10)}))
    finish(
        world, world.task_id, "bob", box(x0=11), rads("2"), mask_payload({1: square(11, 10, 10)})
    )
    task = world.service.tasks.record(world.task_id)
    assert task.status is TaskStatus.CONSENSUS and task.round == 1
    values = figures(world, world.task_id)
    assert values[("lung-rads", "weighted_agreement")] == 1.0
    assert values[("nodule-box", "f1")] == 1.0
    assert values[("nodule-mask", "dice")] == pytest.approx(0.9)
    assert values[("nodule-centre", "f1")] == 1.0  # neither marked one: nothing to disagree on
    consensus = {c.label: c for c in world.service.tasks.consensus(world.task_id, RITA)}
    assert consensus["lung-rads"].method == "majority"
    assert consensus["lung-rads"].payload["annotations"][0]["geometry"] == {"value": "2"}
    assert consensus["nodule-mask"].method == "staple"
    staple_mask = rle_decode(
        consensus["nodule-mask"].payload["annotations"][0]["geometry"]["slices"]["1"]
    )
    assert staple_mask.sum() > 0
    assert set(consensus["nodule-mask"].payload["detail"]["readers"]) == {"alice", "bob"}
    assert consensus["nodule-box"].method == "cluster-majority"
    assert consensus["nodule-box"].payload["annotations"][0]["geometry"]["x0"] == pytest.approx(
        10.5
    )


def test_disagreement_below_threshold_goes_to_adjudication(world: World) -> None:
    finish(world, world.task_id, "alice", rads("1"), mask_payload({1: square(5, 5, 10)}))
    finish(world, world.task_id, "bob", rads("1"), mask_payload({1: square(40, 40, 10)}))
    assert world.service.tasks.record(world.task_id).status is TaskStatus.ADJUDICATION
    assert figures(world, world.task_id)[("nodule-mask", "dice")] == 0.0
    assert world.service.tasks.consensus(world.task_id, RITA) == []
    queue = world.service.adjudication.queue(RITA)
    assert [t.id for t in queue] == [world.task_id]
    assert world.service.adjudication.queue(principal("alice", Role.REVIEWER)) == []
    with pytest.raises(NotAssignedError, match="you are a reader"):
        world.service.adjudication.case(world.task_id, principal("alice", Role.REVIEWER))
    case = world.service.adjudication.case(world.task_id, RITA)
    assert {r: len(a) for r, a in case.annotations_by_reader.items()} == {"alice": 2, "bob": 2}
    with pytest.raises(InvalidPayloadError, match=r"annotations\[0\]"):
        world.service.adjudication.resolve(world.task_id, [{"label": "nodule-mask"}], RITA)
    resolved = world.service.adjudication.resolve(
        world.task_id, [mask_payload({1: square(20, 20, 10)}), rads("1")], RITA
    )
    assert {c.method for c in resolved} == {"adjudicated"}
    assert world.service.tasks.record(world.task_id).status is TaskStatus.CONSENSUS
    with pytest.raises(TaskStateError):
        world.service.adjudication.resolve(world.task_id, [], RITA)


def test_ordinal_classification_weights_distance(world: World) -> None:
    finish(world, world.task_id, "alice", rads("0"))
    finish(world, world.task_id, "bob", rads("4X"))
    assert figures(world, world.task_id)[("lung-rads", "weighted_agreement")] == 0.0
    assert world.service.tasks.record(world.task_id).status is TaskStatus.ADJUDICATION


def test_three_readers_majority_and_cluster_majority(world: World) -> None:
    task_id = three_readers(world)
    finish(world, task_id, "r1", rads("3"), box(), box(x0=40, x1=60))
    finish(world, task_id, "r2", rads("3"), box(x0=11))
    finish(world, task_id, "r3", rads("4A"), box(x0=12))
    task = world.service.tasks.record(task_id)
    # Lung-RADS mean weighted agreement (1 + 5/6 + 5/6) / 3 ≈ 0.89 < 1.0 threshold.
    assert task.status is TaskStatus.ADJUDICATION
    pairs = [f for f in world.service.tasks.agreement(task_id, RITA) if f.label == "lung-rads"]
    assert {f.readers for f in pairs if f.pair} == {("r1", "r2"), ("r1", "r3"), ("r2", "r3")}
    from node.annotate import build_consensus
    from node.annotate.queries import annotations_of

    with world.service.work.read() as session:
        annotations: list[AnnotationRecord] = annotations_of(session, task_id)
    label = world.guideline.label("lung-rads")
    assert label is not None
    method, payload = build_consensus(label, ["r1", "r2", "r3"], annotations, task.slices)
    assert method == "majority"
    assert payload["annotations"][0]["geometry"] == {"value": "3"}
    assert payload["detail"]["support"] == pytest.approx(2 / 3)
    box_label = world.guideline.label("nodule-box")
    assert box_label is not None
    method, payload = build_consensus(box_label, ["r1", "r2", "r3"], annotations, task.slices)
    assert method == "cluster-majority"
    assert len(payload["annotations"]) == 1  # the lone box of r1 has no majority
    assert payload["annotations"][0]["geometry"]["x0"] == pytest.approx(11.0)


def test_review_reject_reopens_and_next_round_replaces(world: World) -> None:
    finish(world, world.task_id, "alice", rads("2"))
    finish(world, world.task_id, "bob", rads("2"))
    review = world.service.review
    assert {i.reader for i in review.queue(RITA)} == {"alice", "bob"}
    assert review.queue(principal("rex", Role.REVIEWER)) == []
    with pytest.raises(InvalidPayloadError, match="reason"):
        review.review(world.task_id, reader="bob", decision="reject", reason=" ", principal=RITA)
    with pytest.raises(InvalidPayloadError, match="approve"):
        review.review(world.task_id, reader="bob", decision="maybe", reason="", principal=RITA)
    review.review(
        world.task_id, reader="alice", decision=ReviewDecision.APPROVE, reason="", principal=RITA
    )
    task = review.review(
        world.task_id, reader="bob", decision="reject", reason="check the nodule", principal=RITA
    )
    assert task.status is TaskStatus.OPEN
    bob = world.service.tasks.worklist("bob").items[0]
    assert bob.my_status == "rejected" and bob.review_reason == "check the nodule"
    assert (
        world.service.tasks.view(world.task_id, principal("bob")).review_reason
        == "check the nodule"
    )
    assert [i.reader for i in review.queue(RITA)] == []
    with pytest.raises(TaskStateError, match="not completed"):
        review.review(world.task_id, reader="bob", decision="approve", reason="", principal=RITA)
    aid = world.service.tasks.view(world.task_id, principal("bob")).annotations[0].annotation_id
    world.service.revisions.revise(aid, "bob", 1, rads("3"))
    world.service.tasks.complete(world.task_id, "bob")
    task = world.service.tasks.record(world.task_id)
    assert task.round == 2 and task.status is TaskStatus.ADJUDICATION
    with pytest.raises(NotAssignedError):
        review.review(
            world.task_id,
            reader="bob",
            decision="approve",
            reason="",
            principal=principal("alice", Role.REVIEWER),
        )
