"""Runs, drafts and their resolution, settings, blinding and tracking, on a real model's output."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from node.assist import (
    AnchoringNotAcknowledgedError,
    EditMismatchError,
    ModelMismatchError,
    PreannotationOffError,
    ProposalNotFoundError,
    ProposalOptions,
    ProposalResolvedError,
    ProposalStatus,
    RunOptions,
)
from node.assist.models import ModelBundle
from node.assist.tables import ScoreRow
from node.assist.torch_predictor import TorchPredictor
from node.auth.roles import Role
from node.errors import MissingRequiredLabelsError, NotAssignedError, TaskStateError
from node.store.annotation_tables import TaskRow
from shared.formats.rle import rle_decode, rle_encode
from tests.unit.node.annotate.conftest import principal
from tests.unit.node.assist.conftest import World


@pytest.fixture
def predictor(bundle: ModelBundle) -> TorchPredictor:
    return TorchPredictor(bundle)


def _enable(world: World, project: str = "solo", **extra: bool) -> None:
    world.assist.settings.configure(project, actor="admin", preannotation=True, **extra)


def _drafts(world: World, task_id: int, reader: str) -> list:
    enabled, proposals = world.assist.proposals.for_task(task_id, principal(reader))
    assert enabled
    return proposals


def _enlarged(geometry: dict) -> dict:
    """The draft's mask with one more row painted under it on its first slice."""
    key = str(geometry["key_slices"][0])
    mask = rle_decode(geometry["slices"][key]).copy()
    rows = np.flatnonzero(mask.any(axis=1))
    mask[min(rows[-1] + 1, mask.shape[0] - 1)] |= mask[rows[-1]]
    return {**geometry, "slices": {**geometry["slices"], key: dict(rle_encode(mask))}}


def test_settings_are_off_by_default_and_anchoring_needs_acknowledging(world: World) -> None:
    settings = world.assist.settings.get("pair")
    assert (settings.preannotation, settings.active_learning) == (False, False)
    with pytest.raises(AnchoringNotAcknowledgedError, match="anchor"):
        world.assist.settings.configure("pair", actor="admin", preannotation=True)
    assert world.assist.settings.get("pair").preannotation is False  # nothing half-written
    done = world.assist.settings.configure(
        "pair", actor="admin", preannotation=True, anchoring_acknowledged=True
    )
    assert done.preannotation and done.changed_by == "admin"
    single = world.assist.settings.configure("solo", actor="admin", preannotation=True)
    assert single.preannotation and not single.anchoring_acknowledged
    entries = [e for e in world.runtime.audit.entries() if e.target_type == "project"]
    assert any(e.detail.get("assist", {}).get("preannotation") for e in entries)


def test_a_run_scores_every_open_task_and_proposes_drafts(
    world: World, predictor: TorchPredictor
) -> None:
    summary = world.assist.runner.run(
        "solo",
        predictor,
        actor="admin",
        options=RunOptions(),
    )
    assert summary.run.tasks_predicted == 2 and len(summary.scores) == 2
    assert summary.proposals >= 2 and summary.run.model == predictor.model
    for score in summary.scores:
        assert 0.0 < score.uncertainty <= 1.0 and 0.0 < score.disagreement <= 1.0
        assert score.priority == round(1000 * score.score)
        assert score.detail["labels"][0]["label"] == "nodule-mask"
    assert not summary.prioritised  # active learning is off: priorities untouched
    with world.annotation.work.read() as session:
        assert {t.priority for t in session.execute(select(TaskRow)).scalars()} == {0}
    again = world.assist.runner.run("solo", predictor, actor="admin")
    assert again.run.tasks_predicted == 0 and again.skipped["already_scored"] == 2
    runs = world.assist.scores.runs("solo")
    assert [r.tasks_predicted for r in runs] == [0, 2] and runs[1].proposals == summary.proposals


def test_active_learning_sets_worklist_priority_from_the_ranking(
    world: World, predictor: TorchPredictor
) -> None:
    world.assist.settings.configure("solo", actor="admin", active_learning=True)
    summary = world.assist.runner.run("solo", predictor, actor="admin")
    assert summary.prioritised
    ranking = world.assist.scores.ranking("solo")
    scores = [s.score for s, _, _ in ranking]
    assert scores == sorted(scores, reverse=True)
    for score, model, task_priority in ranking:
        assert task_priority == score.priority and model == predictor.model
    worklist = world.annotation.tasks.worklist("sam", project="solo").items
    by_priority = sorted(ranking, key=lambda r: (-r[0].priority, r[0].task_id))
    assert [i.task.id for i in worklist] == [s.task_id for s, _, _ in by_priority]
    assert [i.task.priority for i in worklist] == [s.priority for s, _, _ in by_priority]


def test_drafts_are_hidden_until_the_project_turns_them_on(
    world: World, predictor: TorchPredictor
) -> None:
    world.assist.runner.run("solo", predictor, actor="admin")
    task = world.task("solo", "sam")
    assert world.assist.proposals.for_task(task, principal("sam")) == (False, [])
    with world.annotation.work.read() as session:
        proposal_id = session.execute(text("SELECT min(id) FROM assist_proposals")).scalar_one()
    with pytest.raises(PreannotationOffError):
        world.assist.proposals.reject(proposal_id, "sam")
    _enable(world)
    drafts = _drafts(world, task, "sam")
    assert drafts and all(d.status is ProposalStatus.DRAFT for d in drafts)
    assert {d.model.sha256 for d in drafts} == {predictor.model.sha256}


def test_accept_edit_and_reject(world: World, predictor: TorchPredictor) -> None:
    _enable(world)
    world.assist.runner.run(
        "solo",
        predictor,
        actor="admin",
        options=RunOptions(proposals=ProposalOptions(min_voxels=1)),
    )
    task = world.task("solo", "sam")
    drafts = _drafts(world, task, "sam")
    assert len(drafts) >= 3, [d.label for d in drafts]
    first, second, third = drafts[:3]

    accepted, annotation = world.assist.proposals.accept(first.id, "sam", confidence=4)
    assert accepted.status is ProposalStatus.ACCEPTED and accepted.dice == 1.0
    assert annotation.reader == "sam" and annotation.revision == 1
    assert annotation.payload["geometry"] == first.payload["geometry"]
    assert annotation.payload["confidence"] == 4
    with pytest.raises(ProposalResolvedError, match="already accepted"):
        world.assist.proposals.accept(first.id, "sam")

    edited_geometry = _enlarged(second.payload["geometry"])
    mine = world.annotation.revisions.create(
        task, "sam", {"label": second.label, "kind": "mask", "geometry": edited_geometry}
    )
    edited = world.assist.proposals.link_edit(second.id, "sam", mine.annotation_id)
    assert edited.status is ProposalStatus.EDITED
    assert edited.dice is not None and 0.0 < edited.dice < 1.0
    assert edited.iou is not None and edited.iou < edited.dice
    assert edited.annotation_id == mine.annotation_id and edited.revision == 1

    rejected = world.assist.proposals.reject(third.id, "sam", "  a vessel, not a nodule ")
    assert rejected.status is ProposalStatus.REJECTED
    assert rejected.reason == "a vessel, not a nodule"

    statuses = {d.id: d.status for d in _drafts(world, task, "sam")}
    assert statuses[first.id] is ProposalStatus.ACCEPTED
    assert statuses[second.id] is ProposalStatus.EDITED
    assert statuses[third.id] is ProposalStatus.REJECTED
    # resolutions are append-only in the database itself
    with (
        pytest.raises(DatabaseError, match="append-only"),
        world.runtime.engine.begin() as connection,
    ):
        connection.execute(text("UPDATE assist_resolutions SET outcome = 'accepted'"))


def test_an_edit_link_must_be_the_readers_own_annotation_of_the_label(
    world: World, predictor: TorchPredictor
) -> None:
    _enable(world, "pair", anchoring_acknowledged=True)
    world.assist.runner.run("pair", predictor, actor="admin")
    task = world.task("pair", "alice")
    draft = _drafts(world, task, "alice")[0]
    box = {
        "label": "nodule-box",
        "kind": "box",
        "geometry": {"slice": 1, "x0": 1, "y0": 1, "x1": 9, "y1": 9},
    }
    wrong_label = world.annotation.revisions.create(task, "alice", box)
    with pytest.raises(EditMismatchError, match="not an edit"):
        world.assist.proposals.link_edit(draft.id, "alice", wrong_label.annotation_id)
    bobs = world.annotation.revisions.create(
        task, "bob", {"label": draft.label, "kind": "mask", "geometry": draft.payload["geometry"]}
    )
    with pytest.raises(NotAssignedError, match="another reader"):
        world.assist.proposals.link_edit(draft.id, "alice", bobs.annotation_id)
    with pytest.raises(NotAssignedError, match="not a reader"):
        world.assist.proposals.reject(draft.id, "sam")
    with pytest.raises(ProposalNotFoundError):
        world.assist.proposals.reject(10_000, "alice")


def test_blinding_each_reader_sees_only_their_own_resolution(
    world: World, predictor: TorchPredictor
) -> None:
    _enable(world, "pair", anchoring_acknowledged=True)
    world.assist.runner.run("pair", predictor, actor="admin")
    task = world.task("pair", "alice")
    draft = _drafts(world, task, "alice")[0]
    world.assist.proposals.reject(draft.id, "alice", "not a lesion")
    seen_by_bob = next(d for d in _drafts(world, task, "bob") if d.id == draft.id)
    assert seen_by_bob.status is ProposalStatus.DRAFT and seen_by_bob.resolutions == ()
    _, for_rita = world.assist.proposals.for_task(task, principal("rita", Role.REVIEWER))
    overseen = next(d for d in for_rita if d.id == draft.id)
    assert [r["reader"] for r in overseen.resolutions] == ["alice"]
    with pytest.raises(NotAssignedError):
        world.assist.proposals.for_task(task, principal("sam"))


def test_a_draft_never_counts_as_an_annotation(world: World, predictor: TorchPredictor) -> None:
    """Drafts alone: completion still needs the reader's own labels, and agreement and
    consensus see only what readers saved."""
    _enable(world, "pair", anchoring_acknowledged=True)
    world.assist.runner.run("pair", predictor, actor="admin")
    task = world.task("pair", "alice")
    assert _drafts(world, task, "alice")
    assert world.annotation.tasks.view(task, principal("alice")).annotations == ()
    with pytest.raises(MissingRequiredLabelsError):
        world.annotation.tasks.complete(task, "alice")
    for reader in ("alice", "bob"):
        world.annotation.revisions.create(
            task,
            reader,
            {"label": "lung-rads", "kind": "classification", "geometry": {"value": "1"}},
        )
        world.annotation.tasks.complete(task, reader)
    figures = world.annotation.tasks.agreement(task, principal("rita", Role.REVIEWER))
    mask = next(f for f in figures if f.label == "nodule-mask" and f.pair)
    assert mask.value == 1.0 and mask.detail == {"voxels_a": 0, "voxels_b": 0}
    consensus = world.annotation.tasks.consensus(task, principal("rita", Role.REVIEWER))
    nodule = next(c for c in consensus if c.label == "nodule-mask")
    assert not nodule.payload.get("geometry", {}).get("slices")
    # completed readers cannot resolve drafts any more; undecided ones count as ignored
    draft = _drafts(world, task, "alice")[0]
    with pytest.raises(TaskStateError):
        world.assist.proposals.reject(draft.id, "alice")
    tracking = world.assist.tracking.project("pair")
    (model,) = tracking["models"]
    assert model["ignored"] == 2 * len(_drafts(world, task, "alice"))
    assert model["decided"] == 0 and model["acceptance_rate"] is None


def test_tracking_follows_the_readers_final_annotation(
    world: World, predictor: TorchPredictor
) -> None:
    _enable(world)
    world.assist.runner.run("solo", predictor, actor="admin")
    task = world.task("solo", "sam")
    first, second = _drafts(world, task, "sam")[:2]
    _, kept = world.assist.proposals.accept(first.id, "sam")
    world.assist.proposals.reject(second.id, "sam")
    report = world.assist.tracking.project("solo")
    (model,) = report["models"]
    assert (model["accepted"], model["rejected"], model["decided"]) == (1, 1, 2)
    assert model["acceptance_rate"] == 0.5 and model["edit_dice_mean"] == 1.0
    assert model["edit_dice_histogram"][-1]["count"] == 1
    assert model["model"]["sha256"] == predictor.model.sha256
    shown = sum(len(_drafts(world, world.task("solo", "sam", i), "sam")) for i in (0, 1))
    assert model["pending"] == shown - 2  # every other draft of the project's two tasks
    # the reader changes the accepted annotation later: it counts as edited, with that Dice
    world.annotation.revisions.revise(
        kept.annotation_id,
        "sam",
        1,
        {"label": first.label, "kind": "mask", "geometry": _enlarged(first.payload["geometry"])},
    )
    (model,) = world.assist.tracking.project("solo")["models"]
    assert (model["accepted"], model["edited"]) == (0, 1)
    assert 0.0 < model["edit_dice_mean"] < 1.0
    world.annotation.revisions.tombstone(kept.annotation_id, "sam", 2)
    (model,) = world.assist.tracking.project("solo")["models"]
    assert (model["edited"], model["discarded"]) == (0, 1) and model["edit_dice_n"] == 0


def test_a_run_stores_no_drafts_on_a_task_readers_have_started(
    world: World, predictor: TorchPredictor
) -> None:
    task = world.task("solo", "sam")
    world.annotation.revisions.create(
        task, "sam", {"label": "lung-rads", "kind": "classification", "geometry": {"value": "1"}}
    )
    summary = world.assist.runner.run("solo", predictor, actor="admin")
    assert summary.run.tasks_predicted == 2
    _enable(world)
    assert _drafts(world, task, "sam") == []  # scored for ranking, but no drafts
    with world.annotation.work.read() as session:
        scored = set(session.execute(select(ScoreRow.task_id)).scalars())
    assert task in scored


def test_a_model_for_other_labels_is_refused(world: World, bundle: ModelBundle) -> None:
    plan = bundle.plan.model_copy(update={"labels": ("liver",)})
    other = TorchPredictor(ModelBundle(bundle.ref, plan, bundle.weights))
    with pytest.raises(ModelMismatchError, match="none of which"):
        world.assist.runner.run("solo", other, actor="admin")
    assert world.assist.scores.runs("solo") == []
    assert json.loads(json.dumps(world.assist.settings.get("solo").to_json()))["project"] == "solo"
