"""Worklists, blinding, slice order, completion and the lifecycle of a task."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydicom import Dataset

from node.annotate import ReaderStatus, TaskStatus, assign_readers
from node.annotate.records import TaskSlice
from node.annotate.slices import _slices, order_slices
from node.auth.roles import Role
from node.errors import NotAssignedError, QueryError, TaskStateError
from node.store import InstanceRecord
from tests.unit.node.annotate.conftest import SLICES, World, box, principal, rads


def test_assignment_is_balanced_and_distinct() -> None:
    assignments = assign_readers(["a", "b", "c"], tasks=6, k=2)
    assert all(len(set(readers)) == 2 for readers in assignments)
    load = {r: sum(r in readers for readers in assignments) for r in "abc"}
    assert load == {"a": 4, "b": 4, "c": 4}
    uneven = assign_readers(["a", "b", "c", "d"], tasks=3, k=3)
    counts = sorted(sum(r in x for x in uneven) for r in "abcd")
    assert counts[-1] - counts[0] <= 1


def test_slices_follow_the_normal_then_instance_number() -> None:
    def s(uid: str, z: float | None, number: int) -> tuple[TaskSlice, float | None]:
        return TaskSlice(0, uid, 4, 4, None, None, None, number), z

    by_position = order_slices([s("a", 3.0, 1), s("b", -1.0, 2), s("c", 1.0, 3)])
    assert [x.sop_instance_uid for x in by_position] == ["b", "c", "a"]
    assert [x.index for x in by_position] == [0, 1, 2]
    by_number = order_slices([s("a", 3.0, 3), s("b", None, 1), s("c", 1.0, 2)])
    assert [x.sop_instance_uid for x in by_number] == ["b", "c", "a"]


def test_task_slices_are_ordered_along_the_normal(world: World) -> None:
    task = world.service.tasks.view(world.task_id, principal("alice")).task
    assert len(task.slices) == SLICES
    positions = [s.position for s in task.slices]
    assert all(p is not None for p in positions)
    assert [p[2] for p in positions] == sorted(p[2] for p in positions)  # type: ignore[index]
    assert task.slices[0].pixel_spacing is not None


def test_blinding_until_every_reader_completes(world: World) -> None:
    world.save("alice", box())
    world.save("alice", rads("1"))
    world.save("bob", box(x0=12))
    world.save("bob", rads("1"))
    alice = world.service.tasks.view(world.task_id, principal("alice"))
    assert alice.blinded and {a.reader for a in alice.annotations} == {"alice"}
    reviewer = world.service.tasks.view(world.task_id, principal("rita", Role.REVIEWER))
    assert not reviewer.blinded and {a.reader for a in reviewer.annotations} == {"alice", "bob"}
    with pytest.raises(NotAssignedError):
        world.service.tasks.view(world.task_id, principal("mallory"))
    with pytest.raises(NotAssignedError):  # a reviewer of another project sees nothing
        world.service.tasks.view(world.task_id, principal("rex", Role.REVIEWER))
    admin = world.service.tasks.view(world.task_id, principal("root", Role.ADMIN))
    assert not admin.blinded
    with pytest.raises(TaskStateError, match="still open"):
        world.service.tasks.consensus(world.task_id, principal("alice"))
    world.service.tasks.complete(world.task_id, "alice")
    assert world.service.tasks.view(world.task_id, principal("alice")).blinded
    world.service.tasks.complete(world.task_id, "bob")
    after = world.service.tasks.view(world.task_id, principal("alice"))
    assert not after.blinded and {a.reader for a in after.annotations} == {"alice", "bob"}


def test_worklist_progress_filters_and_states(world: World) -> None:
    tasks = world.service.tasks
    listed = tasks.worklist("alice")
    assert (listed.done, listed.total) == (0, 1)
    assert listed.items[0].my_status is ReaderStatus.ASSIGNED
    world.save("alice", rads("1"))
    assert tasks.worklist("alice").items[0].my_status is ReaderStatus.IN_PROGRESS
    assert tasks.worklist("alice").items[0].my_annotations == 1
    tasks.complete(world.task_id, "alice")
    with pytest.raises(TaskStateError, match="already completed"):
        tasks.complete(world.task_id, "alice")
    with pytest.raises(TaskStateError, match="completed task"):
        world.save("alice", box())
    done = tasks.worklist("alice", status="done")
    assert (done.done, done.total, len(done.items)) == (1, 1, 1)
    assert tasks.worklist("alice", status="assigned").items == ()
    assert tasks.worklist("alice", project="other").total == 0
    assert tasks.worklist("nobody").items == ()
    with pytest.raises(QueryError):
        tasks.worklist("alice", sort="random")
    tasks.set_priority(world.task_id, 5, actor="admin")
    assert tasks.worklist("bob").items[0].task.priority == 5
    assert tasks.record(world.task_id).status is TaskStatus.OPEN


def test_multi_frame_instance_gives_one_slice_per_frame() -> None:
    ds = Dataset()
    ds.NumberOfFrames = 3
    ds.Rows, ds.Columns = 16, 32
    frames = []
    for z in (4.0, 0.0, 2.0):
        item = Dataset()
        position, orientation, measures = Dataset(), Dataset(), Dataset()
        position.ImagePositionPatient = [0.0, 0.0, z]
        orientation.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        measures.PixelSpacing = [0.7, 0.7]
        measures.SliceThickness = 2.0
        item.PlanePositionSequence = [position]
        item.PlaneOrientationSequence = [orientation]
        item.PixelMeasuresSequence = [measures]
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = frames
    record = InstanceRecord(
        "1.2.3",
        "1.2",
        "1",
        "1.2.840.10008.5.1.4.1.1.4.1",
        "1.2.840.10008.1.2.1",
        1,
        16,
        32,
        16,
        3,
        "0" * 64,
        10,
        "test",
        datetime.now(UTC),
        None,
        None,
        None,
    )
    ordered = order_slices(_slices(record, ds))
    assert [(s.frame, s.position[2]) for s in ordered] == [(2, 0.0), (3, 2.0), (1, 4.0)]  # type: ignore[index]
    assert ordered[0].pixel_spacing == (0.7, 0.7) and ordered[0].slice_thickness == 2.0
    assert ordered[0].to_json()["frame"] == 2
    assert TaskSlice.from_json(ordered[0].to_json()) == ordered[0]
