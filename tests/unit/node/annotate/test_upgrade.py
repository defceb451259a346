from __future__ import annotations

import pytest

from node.annotate import ProjectUpgrade
from node.annotate.upgrade import REREVIEW_PREFIX
from node.auth.roles import Role
from node.errors import NotFoundError, ProjectSetupError
from tests.unit.node.annotate.conftest import World, box, principal, rads


def _revised(world: World, version: str, **label_changes: dict) -> None:
    labels = [
        label.model_copy(update=label_changes.get(label.name, {}))
        for label in world.guideline.labels
    ]
    revised = world.guideline.model_copy(update={"version": version, "labels": tuple(labels)})
    world.service.guidelines.load(revised, loaded_by="admin")


def _complete(world: World) -> None:
    for reader in ("alice", "bob"):
        world.save(reader, box())
        world.save(reader, rads("2"))
        world.service.tasks.complete(world.task_id, reader)


@pytest.fixture
def upgrades(world: World) -> ProjectUpgrade:
    return ProjectUpgrade(world.service.work, world.service.guidelines)


def test_meaning_change_sends_completed_parts_to_rereview(
    world: World, upgrades: ProjectUpgrade
) -> None:
    _complete(world)
    rita = principal("rita", Role.REVIEWER)
    for reader in ("alice", "bob"):
        world.service.review.review(
            world.task_id, reader=reader, decision="approve", reason="", principal=rita
        )
    assert upgrades.queue(rita) == []
    _revised(world, "1.1", **{"nodule-box": {"definition": "box on the largest slice only"}})
    result = upgrades.upgrade("lung", "lung-nodule", "1.1", by="admin")
    assert result.diff.rereview_labels == ("nodule-box",)
    assert result.tasks == (world.task_id,)
    assert {(p.reader, p.labels) for p in result.rereview} == {
        ("alice", ("nodule-box",)),
        ("bob", ("nodule-box",)),
    }
    queue = upgrades.queue(rita)
    assert {(item.task.id, item.reader) for item in queue} == {
        (world.task_id, "alice"),
        (world.task_id, "bob"),
    }
    assert upgrades.reason(world.task_id, "alice").startswith(REREVIEW_PREFIX)
    assert world.service.projects.get("lung").guideline_version == "1.1"
    # the re-review is an ordinary review: approving clears it
    world.service.review.review(
        world.task_id, reader="alice", decision="approve", reason="still fine", principal=rita
    )
    assert [item.reader for item in upgrades.queue(rita)] == ["bob"]


def test_cosmetic_and_threshold_changes_queue_nothing(
    world: World, upgrades: ProjectUpgrade
) -> None:
    _complete(world)
    _revised(
        world,
        "1.1",
        **{"nodule-box": {"agreement_target": 0.5}, "nodule-mask": {"examples": ("other",)}},
    )
    result = upgrades.upgrade("lung", "lung-nodule", "1.1", by="admin")
    assert result.rereview == ()
    assert upgrades.queue(principal("rita", Role.REVIEWER)) == []


def test_unannotated_changed_label_queues_nothing_but_new_required_label_does(
    world: World, upgrades: ProjectUpgrade
) -> None:
    _complete(world)
    _revised(world, "1.1", **{"nodule-mask": {"boundary_rules": "include vessels"}})
    assert upgrades.upgrade("lung", "lung-nodule", "1.1", by="admin").rereview == ()
    _revised(world, "1.2", **{"nodule-centre": {"required": True}})
    # a label turning required is a threshold change; only brand-new required labels re-review
    assert upgrades.upgrade("lung", "lung-nodule", "1.2", by="admin").rereview == ()


def test_upgrade_refusals(world: World, upgrades: ProjectUpgrade) -> None:
    with pytest.raises(ProjectSetupError, match="already follows"):
        upgrades.upgrade("lung", "lung-nodule", "1.0", by="admin")
    with pytest.raises(NotFoundError):
        upgrades.upgrade("lung", "lung-nodule", "9.9", by="admin")
    with pytest.raises(NotFoundError):
        upgrades.upgrade("nope", "lung-nodule", "1.0", by="admin")
    other = world.guideline.model_copy(update={"name": "other", "version": "2"})
    world.service.guidelines.load(other, loaded_by="admin")
    with pytest.raises(ProjectSetupError, match="only move"):
        upgrades.upgrade("lung", "other", "2", by="admin")
