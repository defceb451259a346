"""The training ServerApp ends with its state recorded, however it stops."""

import json
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from flwr.app import Context, RecordDict
from flwr.serverapp import Grid

from coordinator.serverapp.training import main
from shared.weights import encode_weights

PLAN = {"name": "seg", "task": "segmentation", "labels": ["lesion"]}


class _StoppedGrid:
    """A grid whose first call raises what Flower's signal handler raises in the ServerApp."""

    def get_node_ids(self) -> list[int]:
        raise SystemExit(1)


def _context(run_dir: Path) -> Context:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "plan.json").write_text(json.dumps(PLAN))
    (run_dir / "initial.weights").write_bytes(encode_weights({"w": np.zeros(2, np.float32)}))
    config: dict[str, Any] = {
        "run-id": "train-1",
        "run-dir": str(run_dir),
        "project": "p",
        "rounds": 3,
        "wait-nodes-s": 0.0,
    }
    return Context(run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config=config)


def test_a_serverapp_stopped_by_a_signal_records_the_rounds_it_completed(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    context = _context(run_dir)
    entries = [{"round": 1, "aggregated": True}, {"round": 2, "aggregated": False}]
    (run_dir / "progress.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    with pytest.raises(SystemExit):  # it still exits
        main(cast(Grid, _StoppedGrid()), context)
    result = json.loads((run_dir / "result.json").read_text())
    assert result["status"] == "interrupted" and result["run_id"] == "train-1"
    assert result["rounds_completed"] == 1 and result["rounds_requested"] == 3
    assert "SuperLink stopped mid-run" in result["message"] and str(run_dir) in result["message"]
    assert not (run_dir / "final.weights").exists()


def test_a_serverapp_that_fails_records_why(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    context = _context(run_dir)
    (run_dir / "initial.weights").unlink()
    main(cast(Grid, _StoppedGrid()), context)
    result = json.loads((run_dir / "result.json").read_text())
    assert result["status"] == "interrupted" and result["rounds_completed"] == 0
    assert result["message"].startswith("FileNotFoundError") and "traceback" in result
