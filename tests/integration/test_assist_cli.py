"""``harmonia-node assist`` as real subprocesses on a real node data directory.

Phantom CT series are ingested into a node (SQLite, blob store) and a project is
built over them; a U-Net trained in this process (tests/support/assist_model.py)
is handed over as a weights file and as a pulled model version
(``DATA_DIR/models/<name>/<version>.weights`` with its ``.json`` record, as
``harmonia-node model pull`` stores it). The CLI turns drafts and active learning
on, runs the model, skips what it already scored, sets worklist priorities and
prints the ranking; a tampered or missing model is refused with a clear message.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from node.annotate import AnnotationService, ProjectSpec, SeriesQuery
from node.assist import AssistService
from node.exit_codes import ExitCode
from node.runtime import open_node
from node.settings import NodeSettings
from shared.schemas import load_guideline
from shared.weights import weights_sha256
from tests.support.assist_model import train_segmenter
from tests.unit.node.annotate.conftest import EXAMPLE
from tests.unit.node.assist.conftest import ingest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROJECT = "lung-solo"


def _settings(data_dir: Path) -> NodeSettings:
    return NodeSettings(data_dir=data_dir, fsync=False, ingest_workers=0)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("assist-node") / "node"
    with open_node(_settings(data_dir)) as runtime:
        for seed in (401, 402, 403):
            ingest(runtime, seed)
        annotation = AnnotationService(runtime.engine, runtime.store, audit=runtime.audit)
        guideline = load_guideline(EXAMPLE)
        annotation.guidelines.load(guideline, loaded_by="admin")
        annotation.projects.create(
            ProjectSpec(
                name=PROJECT,
                guideline_name=guideline.name,
                guideline_version=guideline.version,
                query=SeriesQuery(modality="CT"),
                readers=("sam",),
                readers_per_task=1,
            ),
            created_by="admin",
        )
    return data_dir


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli", "assist", *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_assist_cli_runs_a_model_and_sets_priorities(node: Path, tmp_path: Path) -> None:
    weights = tmp_path / "nodule-seg.weights"
    weights.write_bytes(train_segmenter())
    common = ("--data-dir", str(node), "--project", PROJECT)

    shown = _cli("settings", *common)
    assert shown.returncode == 0, shown.stderr
    assert "drafts off, active learning off" in shown.stdout
    on = _cli("settings", *common, "--preannotation", "on", "--active-learning", "on")
    assert on.returncode == 0 and "drafts on, active learning on" in on.stdout, on.stderr

    first = _cli("run", *common, "--weights", str(weights), "--refresh", "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["run"]["tasks_predicted"] == 3 and summary["proposals"] >= 3
    assert summary["run"]["model"] == {
        "name": "nodule-seg",
        "version": "1",
        "sha256": weights_sha256(weights.read_bytes()),
    }
    assert summary["prioritised"] is True
    again = _cli("run", *common, "--weights", str(weights))
    assert again.returncode == 0, again.stderr
    assert "0 task(s) predicted" in again.stdout and "3 already scored" in again.stdout

    ranking = _cli("ranking", *common, "--json")
    assert ranking.returncode == 0, ranking.stderr
    rows = json.loads(ranking.stdout)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert all(r["task_priority"] == r["priority"] for r in rows)
    with open_node(_settings(node)) as runtime:
        worklist = runtime.annotation.tasks.worklist("sam", project=PROJECT).items
        assert sorted(i.task.priority for i in worklist) == sorted(r["priority"] for r in rows)
        runs = AssistService(runtime.annotation, runtime.store).scores.runs(PROJECT)
        assert [r.tasks_predicted for r in runs][:2] == [0, 3]
        actors = {e.actor for e in runtime.audit.entries() if e.target_type == "assist_run"}
        assert len(actors) == 1 and next(iter(actors)).startswith("cli:")


def test_assist_cli_runs_a_pulled_model_version_and_refuses_a_tampered_one(
    node: Path, tmp_path: Path
) -> None:
    data = train_segmenter()
    stored = node / "models" / "nodule-seg" / "7.weights"
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(data)
    stored.with_suffix(".json").write_text(
        json.dumps(
            {
                "name": "nodule-seg",
                "version": 7,
                "sha256": weights_sha256(data),
                "guideline": {"name": "lung-nodule", "version": "1.0"},
            }
        )
    )
    common = ("--data-dir", str(node), "--project", PROJECT)
    pulled = _cli("run", *common, "--model", "nodule-seg@7", "--refresh", "--json")
    assert pulled.returncode == 0, pulled.stderr
    summary = json.loads(pulled.stdout.strip().splitlines()[-1])
    assert summary["run"]["model"]["version"] == "7"
    assert summary["run"]["model"]["sha256"] == weights_sha256(data)
    assert summary["run"]["tasks_predicted"] == 3
    # scored by these weights (same SHA-256), whatever version name: skipped without --refresh
    again = _cli("run", *common, "--model", "nodule-seg@7", "--json")
    assert again.returncode == 0, again.stderr
    repeat = json.loads(again.stdout.strip().splitlines()[-1])
    assert repeat["run"]["tasks_predicted"] == 0 and repeat["skipped"]["already_scored"] == 3

    missing = _cli("run", *common, "--model", "nodule-seg@8")
    assert missing.returncode == ExitCode.FAILED
    assert "model pull" in missing.stderr and "Traceback" not in missing.stderr
    stored.write_bytes(data[:-4] + b"\x00\x00\x00\x01")
    tampered = _cli("run", *common, "--model", "nodule-seg@7")
    assert tampered.returncode == ExitCode.FAILED
    assert "no longer match" in tampered.stderr and "Traceback" not in tampered.stderr
    unknown = _cli("run", "--data-dir", str(node), "--project", "nope", "--weights", str(stored))
    assert unknown.returncode == ExitCode.FAILED and "Traceback" not in unknown.stderr
    bad_boxes = _cli("run", *common, "--weights", str(tmp_path / "x"), "--boxes-from", "nodule")
    assert bad_boxes.returncode == ExitCode.CONFIGURATION and "MASK:BOX" in bad_boxes.stderr
