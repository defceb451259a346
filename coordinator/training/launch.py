"""Starting a training run: its folder, its record, its initial weights, its submission.

:func:`prepare_run` checks the request (:meth:`TrainingRequest.check`) and that
the data directory has a SuperLink (``serve --flower`` wrote its connection),
then writes the run's folder under ``DATA_DIR/flower/runs/<run id>``
(``plan.json``; ``owner.json``: the process that follows the run;
``initial.weights`` when the run starts from a registered model) and records
the run ``running`` in the registry. :func:`launch_run` writes a fresh model's
initial weights (:mod:`coordinator.training.initial`, in this process or in a
child process that keeps torch out of a serving coordinator) and submits the
training app (``coordinator/serverapp/training_fab``) to the local SuperLink
with ``flwr run``. Nothing here imports Flower: it runs Flower's own commands.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from coordinator.errors import SuperLinkUnavailableError
from coordinator.models import ModelRegistry, RunStatus, TrainingRun
from coordinator.run_config import run_config_text
from coordinator.settings import CoordinatorSettings
from coordinator.superlink import CONNECTION, FlowerPaths
from coordinator.training.request import TrainingRequest
from shared.errors import ConfigurationError
from shared.flower_process import flower_environment, flower_executable

__all__ = [
    "PreparedRun",
    "launch_run",
    "prepare_run",
    "process_alive",
    "run_owner",
    "superlink_accepts",
    "superlink_refuses",
]

_FAB_DIR = Path(__file__).parents[1] / "serverapp" / "training_fab"
_OWNER = "owner.json"


@dataclass(frozen=True)
class PreparedRun:
    """A recorded run whose folder is written, not yet submitted."""

    run_id: str
    run_dir: Path
    request: TrainingRequest
    config: dict[str, Any]
    paths: FlowerPaths


def _address(home: Path) -> tuple[str, int] | None:
    config = home / "config.toml"
    if not config.exists():
        return None
    text = config.read_text(encoding="utf-8")
    address = next(
        (
            line.split("=", 1)[1].strip().strip('"')
            for line in text.splitlines()
            if "address" in line
        ),
        "",
    )
    host, _, port = address.rpartition(":")
    return (host, int(port)) if host and port.isdigit() else None


def _connection(home: Path) -> bool | None:
    """What connecting to the SuperLink named in ``home/config.toml`` says now.

    True: it accepted. False: it refused, or there is no address at all. None:
    neither (a timeout or another error, e.g. on a loaded machine).
    """
    address = _address(home)
    if address is None:
        return False
    try:
        with socket.create_connection(address, timeout=2):
            return True
    except ConnectionRefusedError:
        return False
    except OSError:
        return None


def superlink_accepts(home: Path) -> bool:
    """Whether the SuperLink named in ``home/config.toml`` accepts a connection now."""
    return _connection(home) is True


def superlink_refuses(home: Path) -> bool:
    """Whether the local SuperLink refuses connections (it stopped).

    A connection that merely times out (a loaded machine) does not count: only a
    refusal (or no address at all) says the SuperLink is gone.
    """
    return _connection(home) is False


def run_owner(run: TrainingRun) -> int | None:
    """The process id that follows ``run`` (None: its folder names none)."""
    run_dir = run.config.get("run-dir")
    owner = Path(str(run_dir)) / _OWNER if run_dir else None
    if owner is None or not owner.exists():
        return None
    try:
        return int(json.loads(owner.read_text(encoding="utf-8"))["pid"])
    except (ValueError, KeyError, TypeError):
        return None


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def prepare_run(
    settings: CoordinatorSettings,
    registry: ModelRegistry,
    request: TrainingRequest,
    *,
    started_by: str,
) -> PreparedRun:
    """Check ``request``, write the run's folder and record the run ``running``.

    Raises
    ------
    TrainingRequestError
        See :meth:`TrainingRequest.check`.
    SuperLinkUnavailableError
        No SuperLink for the data directory.
    NotFoundError
        ``from_model`` names no registered version.
    """
    request.check()
    paths = FlowerPaths.of(settings.data_dir)
    if not (paths.home / "config.toml").exists():
        raise SuperLinkUnavailableError(
            f"no SuperLink for {settings.data_dir}: start 'harmonia-coordinator serve --flower' "
            "first",
            setting="flower",
        )
    source = request.model_source()
    initial = registry.weights_of(registry.get(*source)) if source else None
    registered = json.loads(paths.registrations.read_text()) if paths.registrations.exists() else {}
    run_id = f"train-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    run_dir = (paths.root / "runs" / run_id).resolve()
    run_dir.mkdir(parents=True)
    plan = request.plan
    (run_dir / "plan.json").write_text(plan.model_dump_json(), encoding="utf-8")
    (run_dir / _OWNER).write_text(
        json.dumps({"pid": os.getpid(), "started_by": started_by}), encoding="utf-8"
    )
    if initial is not None:
        (run_dir / "initial.weights").write_bytes(initial)
    config: dict[str, Any] = {
        "run-id": run_id,
        "run-dir": str(run_dir),
        "project": request.project,
        "rounds": request.rounds,
        "min-sites": request.min_sites,
        "expected-nodes": (
            len(registered) if request.expected_nodes is None else request.expected_nodes
        ),
        "registry-path": str(paths.registrations.resolve()),
        "aggregation": str(request.aggregation),
        "secure-aggregation": request.secure_aggregation,
        **request.options,
    }
    registry.start_run(
        run_id,
        model=plan.name,
        plan=plan.model_dump(mode="json"),
        config=config,
        rounds=request.rounds,
    )
    return PreparedRun(run_id, run_dir, request, config, paths)


class _StoppedError(Exception):
    """The follower was told to stop while a child process ran."""


def _child(
    command: list[str],
    *,
    timeout_s: float,
    stop: threading.Event | None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to its end; kill it and raise :class:`_StoppedError` once ``stop`` is set."""
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as child:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                out, err = child.communicate(timeout=0.2)
            except subprocess.TimeoutExpired:
                stopped = stop is not None and stop.is_set()
                if stopped or time.monotonic() > deadline:
                    child.kill()
                    child.communicate()
                    if stopped:
                        raise _StoppedError from None
                    raise
                continue
            return subprocess.CompletedProcess(command, child.returncode, out, err)


def _write_initial_weights(
    prepared: PreparedRun, *, in_child: bool, stop: threading.Event | None
) -> None:
    target = prepared.run_dir / "initial.weights"
    if target.exists():
        return
    if not in_child:
        from coordinator.training.initial import initial_weights  # torch: only here

        target.write_bytes(initial_weights(prepared.request.plan))
        return
    built = _child(
        [sys.executable, "-m", "coordinator.training.initial", str(prepared.run_dir)],
        timeout_s=600,
        stop=stop,
    )
    if built.returncode != 0 or not target.exists():
        raise ConfigurationError(
            f"could not build the plan's initial model: {built.stderr.strip()[-2000:]}",
            setting="plan",
        )


def launch_run(
    prepared: PreparedRun,
    registry: ModelRegistry,
    *,
    in_child: bool = False,
    stop: threading.Event | None = None,
) -> float | None:
    """Write the initial weights and submit the run to the SuperLink with ``flwr run``.

    ``in_child``: build a fresh model in a child process (keeps torch out of
    this one). A run that cannot be launched is recorded ``failed``; one whose
    launch ``stop`` cut short (the service shuts down) ``interrupted``, and
    None is returned. Else returns the :func:`time.monotonic` of the
    submission (the run's wall time counts from it).

    Raises
    ------
    ConfigurationError
        The initial model could not be built, or the SuperLink did not accept the run.
    subprocess.TimeoutExpired
        ``flwr run`` did not return within 120 s.
    """
    app_dir = prepared.paths.root / "app-training"
    try:
        _write_initial_weights(prepared, in_child=in_child, stop=stop)
        shutil.copytree(_FAB_DIR, app_dir, dirs_exist_ok=True)
        started = time.monotonic()
        submitted = _child(
            [
                *(flower_executable("flwr"), "run", str(app_dir), CONNECTION),
                *("--run-config", run_config_text(prepared.config)),
                *("--format", "json"),
            ],
            env=flower_environment(prepared.paths.home),
            timeout_s=120,
            stop=stop,
        )
    except _StoppedError:
        registry.end_run(
            prepared.run_id,
            RunStatus.INTERRUPTED,
            "the coordinator stopped while the run was being launched; it did not start",
        )
        return None
    except ConfigurationError as error:
        registry.end_run(prepared.run_id, RunStatus.FAILED, str(error))
        raise
    if submitted.returncode != 0:
        registry.end_run(prepared.run_id, RunStatus.FAILED, "the SuperLink did not accept the run")
        raise ConfigurationError(
            f"the SuperLink did not accept the run: {submitted.stdout}{submitted.stderr}",
            setting="flower",
        )
    return started
