"""The node's SuperNode command: Harmonia's launcher by default, Flower's own when asked."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from node.consortium import MembershipFiles
from node.settings import NodeSettings
from node.supernode import DEFAULT_POLL_S, SuperNode
from shared.crypto import KeyAlgorithm, generate_private_key, save_private_key


def _files(folder: Path) -> MembershipFiles:
    files = MembershipFiles(folder)
    folder.mkdir(parents=True)
    save_private_key(generate_private_key(KeyAlgorithm.EC_P256), files.supernode_key)
    files.ca_bundle.write_text("")
    return files


def _supernode(tmp_path: Path, **options: float | None) -> SuperNode:
    return SuperNode(
        tmp_path / "data",
        site="north",
        fleet_address="127.0.0.1:9092",
        files=_files(tmp_path / "consortium"),
        runtime_port=45678,
        **options,  # type: ignore[arg-type]
    )


def test_the_supernode_runs_through_the_launcher_with_the_poll_interval(tmp_path: Path) -> None:
    argv = _supernode(tmp_path, poll_s=0.25).process.argv
    flower = tmp_path / "data" / "flower"
    assert argv[:3] == [sys.executable, "-m", "node.supernode_launcher"]
    assert argv[argv.index("--poll") + 1] == "0.25"
    assert argv[argv.index("--bin-dir") + 1] == str((flower / "bin").resolve())
    assert argv[argv.index("--node-id-file") + 1] == str((flower / "node-id").resolve())
    flower_args = argv[argv.index("--") + 1 :]
    assert flower_args[:2] == ["--superlink", "127.0.0.1:9092"]
    assert "--auth-supernode-private-key" in flower_args and "--port" in flower_args


def test_the_default_poll_interval_is_half_a_second(tmp_path: Path) -> None:
    argv = _supernode(tmp_path).process.argv
    assert DEFAULT_POLL_S == 0.5 and argv[argv.index("--poll") + 1] == "0.5"


def test_without_the_launcher_it_is_flowers_own_supernode(tmp_path: Path) -> None:
    argv = _supernode(tmp_path, poll_s=None).process.argv
    assert Path(argv[0]).name == "flower-supernode" and argv[1:3] == [
        "--superlink",
        "127.0.0.1:9092",
    ]
    assert "--poll" not in argv and "node.supernode_launcher" not in argv


def test_the_poll_setting_is_bounded_by_flowers_3_s(tmp_path: Path) -> None:
    settings = NodeSettings(data_dir=tmp_path)
    assert settings.flower_poll_seconds == DEFAULT_POLL_S and settings.flower_supernode_launcher
    for bad in (0, 3.5):
        with pytest.raises(ValidationError, match="flower_poll_seconds"):
            NodeSettings(data_dir=tmp_path, flower_poll_seconds=bad)
