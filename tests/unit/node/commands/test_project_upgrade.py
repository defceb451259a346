from __future__ import annotations

import pytest

from node.annotate import ProjectSpec, SeriesQuery
from node.auth import Role
from node.cli import main
from node.runtime import open_node
from node.settings import NodeSettings
from shared.schemas import load_guideline
from tests.unit.node.annotate.conftest import EXAMPLE, ingest_phantom


def test_cli_project_upgrade(node_settings: NodeSettings, capsys: pytest.CaptureFixture) -> None:
    guideline = load_guideline(EXAMPLE)
    with open_node(node_settings) as runtime:
        ingest_phantom(runtime)
        for name in ("alice", "bob"):
            runtime.users.create(name, None, Role.ANNOTATOR)
        service = runtime.annotation
        service.guidelines.load(guideline, loaded_by="admin")
        service.guidelines.load(guideline.model_copy(update={"version": "1.1"}), loaded_by="a")
        service.projects.create(
            ProjectSpec(
                name="lung",
                guideline_name=guideline.name,
                guideline_version="1.0",
                query=SeriesQuery(modality="CT"),
                readers=("alice", "bob"),
                readers_per_task=2,
            ),
            created_by="admin",
        )
    data_dir = str(node_settings.data_dir)
    argv = ["project", "upgrade", "--data-dir", data_dir, "--project", "lung", "--guideline"]
    assert main([*argv, "lung-nodule@1.1"]) == 0
    out = capsys.readouterr().out
    assert "lung-nodule@1.0 -> lung-nodule@1.1" in out
    assert "labels changed in meaning: none" in out
    assert main([*argv, "bad"]) != 0
    assert main([*argv, "lung-nodule@1.1"]) != 0  # already there
