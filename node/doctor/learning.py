"""The doctor's look at the node's learning service, which does the training rounds' work.

``harmonia-node serve`` runs the learning service beside the SuperNode once
the node is enrolled in a Flower federation (:mod:`node.learn.service`); a
round's ClientApp hands it the work over ``DATA_DIR/learn/service.sock``.
When it cannot start (a data directory it cannot use, a broken install), the
node still serves and answers ``/healthz``, but every training round fails
on this site. :func:`learning_check` asks it for a ``ping``; when nothing
answers it names the last error in ``DATA_DIR/learn/service.log``
(:func:`last_error`), which is where the service's own traceback goes.

Its findings are warnings: the node's other work goes on without it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from node.consortium import MembershipFiles, consortium_dir
from node.consortium.errors import NotEnrolledError
from node.doctor.result import CheckResult, ok, skipped, warned
from node.learn.client import LearningClient, LearningServiceUnavailableError, service_socket

__all__ = ["last_error", "learning_check"]

CHECK = "learning service"
_TAIL_BYTES = 64 * 1024
_STARTED = "listening on"
_TRACEBACK = "Traceback (most recent call last):"


def last_error(log: Path) -> str | None:
    """The exception line of the last traceback in ``log`` after the service last started.

    None when the log is missing or the service has not failed since it last listened.
    """
    try:
        with open(log, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - _TAIL_BYTES))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    lines = text.splitlines()
    started = max((i for i, line in enumerate(lines) if _STARTED in line), default=-1)
    traceback = max((i for i, line in enumerate(lines) if line.startswith(_TRACEBACK)), default=-1)
    if traceback <= started:
        return None
    error = None
    for line in lines[traceback + 1 :]:
        if line and not line[0].isspace():
            error = line.strip()
            break
    return error


def learning_check(data_dir: Path, *, timeout: float = 10.0) -> CheckResult:
    """Whether the learning service of ``data_dir`` answers; if not, why (from its log)."""
    if importlib.util.find_spec("torch") is None:
        return skipped(CHECK, "torch is not installed (the learn extra): no training on this node")
    try:
        membership = MembershipFiles(consortium_dir(data_dir)).membership()
    except NotEnrolledError:
        return skipped(CHECK, "the node is not enrolled: serve runs no learning service")
    if not membership.fleet_address:
        return skipped(CHECK, "the consortium runs no Flower rounds: no learning service")
    socket_path = service_socket(data_dir)
    log = socket_path.parent / "service.log"
    try:
        reply = LearningClient(data_dir, timeout_s=timeout).ping()
    except LearningServiceUnavailableError as unavailable:
        error = last_error(log)
        if error is not None:
            return warned(
                CHECK,
                f"the learning service does not start: {error} (see {log}); training rounds "
                "fail on this node",
                "fix what the error names (its log has the traceback), then restart "
                "'harmonia-node serve'; serve retries the service on its own meanwhile",
            )
        if "timed out" in str(unavailable):
            return warned(
                CHECK,
                f"the learning service did not answer within {timeout:g} s: it serves one "
                "request at a time, and a training round may be running",
                f"run the doctor again after the round; if it still does not answer, see {log}",
            )
        return warned(
            CHECK,
            f"the learning service is not running: {unavailable}",
            "start the node with 'harmonia-node serve', which runs it beside the SuperNode",
        )
    if not reply.ok:
        return warned(
            CHECK,
            f"the learning service answered with an error: {reply.header.get('message')}",
            f"see {log}",
        )
    return ok(
        CHECK,
        f"answering on {socket_path} (pid {reply.header.get('pid')}, "
        f"{reply.header.get('served', 0)} request(s) served)",
    )
