"""Append-only revisions: history, diff, conflicts, tombstones, and the database triggers."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from node.annotate import diff_payloads
from node.errors import (
    InvalidPayloadError,
    NotAssignedError,
    NotFoundError,
    RevisionConflictError,
    TaskStateError,
)
from tests.unit.node.annotate.conftest import World, box, principal


def test_revise_appends_and_history_keeps_everything(world: World) -> None:
    revisions = world.service.revisions
    first = revisions.create(world.task_id, "alice", box())
    second = revisions.revise(first.annotation_id, "alice", 1, box(x0=12))
    third = revisions.revise(first.annotation_id, "alice", 2, {**box(x0=12), "comment": "firm"})
    assert (second.revision, third.revision) == (2, 3)
    history = revisions.history(first.annotation_id, principal("alice"))
    assert [r.revision for r in history] == [1, 2, 3]
    assert [r.payload["geometry"]["x0"] for r in history] == [10, 12, 12]
    assert all(r.author == "alice" for r in history)
    assert (
        revisions.revision(first.annotation_id, 1, principal("alice")).payload["geometry"]["x0"]
        == 10
    )
    with pytest.raises(NotFoundError, match="no revision 9"):
        revisions.revision(first.annotation_id, 9, principal("alice"))
    diff = revisions.diff(first.annotation_id, 1, 3, principal("alice"))
    assert {c["path"]: (c["from"], c["to"]) for c in diff["changes"]} == {
        "comment": ("", "firm"),
        "geometry.x0": (10, 12),
    }


def test_stale_base_revision_is_a_conflict(world: World) -> None:
    revisions = world.service.revisions
    aid = revisions.create(world.task_id, "alice", box()).annotation_id
    revisions.revise(aid, "alice", 1, box(x0=12))
    with pytest.raises(RevisionConflictError) as info:
        revisions.revise(aid, "alice", 1, box(x0=14))
    assert info.value.head_revision == 2
    assert "base_revision 2" in str(info.value)


def test_tombstone_keeps_the_history(world: World) -> None:
    revisions = world.service.revisions
    aid = revisions.create(world.task_id, "alice", box()).annotation_id
    deleted = revisions.tombstone(aid, "alice", 1)
    assert deleted.deleted and deleted.revision == 2
    history = revisions.history(aid, principal("alice"))
    assert [r.tombstone for r in history] == [False, True]
    assert history[1].payload == history[0].payload
    with pytest.raises(TaskStateError, match="was deleted"):
        revisions.revise(aid, "alice", 2, box(x0=12))
    assert world.service.tasks.view(world.task_id, principal("alice")).annotations == ()


def test_only_the_owner_edits_and_label_is_fixed(world: World) -> None:
    revisions = world.service.revisions
    aid = revisions.create(world.task_id, "alice", box()).annotation_id
    with pytest.raises(NotAssignedError, match="your own"):
        revisions.revise(aid, "bob", 1, box(x0=12))
    with pytest.raises(NotAssignedError, match="not a reader"):
        revisions.create(world.task_id, "mallory", box())
    with pytest.raises(InvalidPayloadError, match="keeps its label"):
        revisions.revise(
            aid,
            "alice",
            1,
            {
                "label": "nodule-centre",
                "kind": "keypoint",
                "geometry": {"slice": 0, "x": 1, "y": 1},
            },
        )


def test_database_refuses_update_and_delete_of_revisions(world: World) -> None:
    world.service.revisions.create(world.task_id, "alice", box())
    engine = world.runtime.engine
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(text("UPDATE annotation_revisions SET payload = '{}'"))
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(text("DELETE FROM annotation_revisions"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM annotation_revisions")).scalar() == 1


def test_duplicate_revision_number_is_refused_by_the_database(world: World) -> None:
    world.service.revisions.create(world.task_id, "alice", box())
    with pytest.raises(DatabaseError), world.runtime.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO annotation_revisions (annotation_id, revision, payload, "
                "guideline_version_id, author, created_at, tombstone) "
                "SELECT annotation_id, revision, payload, guideline_version_id, author, "
                "created_at, tombstone FROM annotation_revisions"
            )
        )


def test_mask_diff_counts_pixels() -> None:
    rle_a = {"size": [2, 2], "counts": [0, 2, 2]}
    rle_b = {"size": [2, 2], "counts": [1, 3]}
    before = {"kind": "mask", "label": "m", "geometry": {"slices": {"0": rle_a}}}
    after = {"kind": "mask", "label": "m", "geometry": {"slices": {"0": rle_b, "1": rle_a}}}
    diff = diff_payloads(before, after)
    assert diff["mask"] == {"0": {"added": 2, "removed": 1}, "1": {"added": 2, "removed": 0}}


def test_every_action_is_audited_in_its_transaction(world: World) -> None:
    audit = world.runtime.audit
    before = audit.count()
    aid = world.service.revisions.create(world.task_id, "alice", box()).annotation_id
    world.service.revisions.revise(aid, "alice", 1, box(x0=12))
    world.service.tasks.view(world.task_id, principal("alice"))
    with pytest.raises(RevisionConflictError):
        world.service.revisions.revise(aid, "alice", 1, box(x0=14))  # refused: nothing audited
    entries = list(audit.entries(after_seq=before))
    assert [(e.actor, e.action, e.target_type) for e in entries] == [
        ("alice", "created", "annotation"),
        ("alice", "changed", "annotation"),
        ("alice", "viewed", "task"),
    ]
    assert entries[1].detail["revision"] == 2


def test_concurrent_saves_lose_nothing_and_duplicate_nothing(world: World) -> None:
    revisions = world.service.revisions
    aid = revisions.create(world.task_id, "alice", box()).annotation_id
    outcomes: list[str] = []

    def edit(x0: int) -> None:
        try:
            revisions.revise(aid, "alice", 1, box(x0=x0))
            outcomes.append("saved")
        except RevisionConflictError:
            outcomes.append("conflict")

    def add(x0: int) -> None:
        revisions.create(world.task_id, "bob", box(x0=x0))

    threads = [threading.Thread(target=edit, args=(11 + i,)) for i in range(8)]
    threads += [threading.Thread(target=add, args=(1 + i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["saved"]
    assert [r.revision for r in revisions.history(aid, principal("alice"))] == [1, 2]
    bob = world.service.tasks.view(world.task_id, principal("bob")).annotations
    assert sorted(a.payload["geometry"]["x0"] for a in bob) == list(range(1, 9))
