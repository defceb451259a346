"""The SuperNode launcher: Flower's waits shortened only on flwr 1.41, a lighter flwr-clientapp."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from node import supernode_launcher
from node.supernode_launcher import (
    ACTIVE_WINDOW_S,
    PINNED_FLOWER,
    REPLY_POLL_S,
    FlowerInternalsChangedError,
    FlowerWaits,
    check_flower,
    install_waits,
    main,
    write_clientapp_command,
)
from shared.errors import ConfigurationError
from tests.support.flower_loop import flower_loop_copy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _waits(poll_s: float = 0.5) -> tuple[FlowerWaits, Clock, list[float]]:
    clock, slept = Clock(), []
    return FlowerWaits(poll_s, clock=clock, sleep=slept.append), clock, slept


def test_an_idle_node_pulls_every_3_s_as_flower_does() -> None:
    waits, _, slept = _waits()
    waits.sleep(3)
    assert slept == [3.0] and not waits.active


def test_a_node_in_a_run_pulls_every_poll_seconds_until_the_window_passes() -> None:
    waits, clock, slept = _waits(0.5)
    waits.received()
    waits.sleep(3)
    clock.now += ACTIVE_WINDOW_S - 1
    waits.sleep(3)
    clock.now += 2
    waits.sleep(3)
    assert slept == [0.5, 0.5, 3.0]


def test_the_reply_waits_are_shortened_and_other_waits_kept() -> None:
    waits, _, slept = _waits()
    waits.sleep(0.5)
    waits.sleep(1.7)
    assert slept == [REPLY_POLL_S, 1.7]
    assert waits.monotonic is time.monotonic  # the rest of the time module is the real one


@pytest.mark.parametrize("poll_s", [0, -1, 3.5])
def test_a_poll_interval_outside_0_to_3_s_is_refused_with_the_setting_named(
    poll_s: float,
) -> None:
    with pytest.raises(ConfigurationError, match="flower_poll_seconds") as refused:
        FlowerWaits(poll_s)
    assert refused.value.setting == "flower_poll_seconds"


def test_the_installed_flower_is_the_pinned_one_and_passes_the_check() -> None:
    from flwr.supernode import start_client_internal

    check_flower(start_client_internal)


def test_another_flower_version_is_refused_with_both_versions_named() -> None:
    with pytest.raises(FlowerInternalsChangedError) as refused:
        check_flower(flower_loop_copy("_copy_of_start_client_internal"), installed="1.42.0")
    message = str(refused.value)
    assert "1.42.0" in message and PINNED_FLOWER in message and "harmonia[learn]" in message


def test_a_loop_without_the_known_waits_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "changed_loop.py"
    source.write_text(
        "import time\n\n"
        "def _push_messages():\n    time.sleep(0.25)\n\n"
        "def _init_connection():\n    time.sleep(3)\n"
    )
    spec = importlib.util.spec_from_file_location("changed_loop", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(FlowerInternalsChangedError, match="no longer has what the launcher"):
        check_flower(module, installed=PINNED_FLOWER)


def test_a_loop_without_the_wrapped_functions_is_refused() -> None:
    module = flower_loop_copy("_copy_of_start_client_internal")
    del module._init_connection
    with pytest.raises(FlowerInternalsChangedError, match="_init_connection"):
        check_flower(module, installed=PINNED_FLOWER)


def test_installed_waits_replace_the_loops_time_and_note_each_received_message() -> None:
    module = flower_loop_copy("_copy_of_start_client_internal")
    check_flower(module, installed=PINNED_FLOWER)
    waits, _, slept = _waits(0.25)
    pushed: list[Any] = []
    module._push_messages = lambda *args, **kwargs: pushed.append((args, kwargs))
    install_waits(module, waits)
    assert module.time is waits
    module._push_messages("state", send="send")
    assert pushed == [(("state",), {"send": "send"})] and waits.active
    module.time.sleep(3)
    assert slept == [0.25]


def test_the_launcher_exits_3_with_a_clear_message_on_another_flower(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(supernode_launcher, "_flower_version", lambda: "1.40.0")
    status = main(["--poll", "0.5", "--bin-dir", str(tmp_path / "bin"), "--", "--insecure"])
    assert status == 3
    err = capsys.readouterr().err
    assert "flwr 1.40.0 is installed" in err and f"flwr=={PINNED_FLOWER}" in err
    assert not (tmp_path / "bin").exists()  # nothing started, nothing written


def test_the_launcher_refuses_a_bad_poll_interval_before_starting(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["--poll", "7", "--bin-dir", str(tmp_path / "bin")]) == 3
    assert "flower_poll_seconds" in capsys.readouterr().err


def test_the_clientapp_command_runs_flowers_flwr_clientapp_without_the_supernode(
    tmp_path: Path,
) -> None:
    command = write_clientapp_command(tmp_path / "bin")
    assert os.access(command, os.X_OK) and command.name == "flwr-clientapp"
    shown = subprocess.run(
        [str(command), "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert shown.returncode == 0, shown.stderr
    assert "Run a Flower ClientApp" in shown.stdout and "--runtime-api-address" in shown.stdout
    probe = (
        "import sys\n"
        "from node.clientapp_launcher import flower_clientapp_module\n"
        "module = flower_clientapp_module()\n"
        "print(callable(module.flwr_clientapp), 'flwr.supernode.cli' in sys.modules, "
        "'alembic' in sys.modules)\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert loaded.stdout.split() == ["True", "False", "False"]
