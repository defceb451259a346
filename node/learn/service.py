"""The node's learning service: one persistent process that keeps torch imported and models loaded.

``harmonia-node serve`` runs it (``python -m node.learn.service --data-dir
DIR``) beside the SuperNode once the node is enrolled, restarts it if it
exits, and stops it by its PID (:func:`learning_service_for`). It listens on
``DATA_DIR/learn/service.sock`` (:func:`node.learn.client.service_socket`):
the folder is created 0700 and the socket 0600, so only the node's own user
can ask it for work. Requests are served one at a time, in order.

Work (:class:`node.learn.round_work.RoundWork`): ``train`` (load the global
weights into the plan's model, train on the local consensus, release the
update through the egress gate, answer the gate's bytes) and ``evaluate``
(the global weights on the local validation consensus); and ``assist``
(:class:`node.assist.worker.DraftWorker`: a pulled model's drafts on a
project's open tasks, which ``serve``'s background drafts ask for). Models stay built
between rounds, keyed by the plan, so a round pays only for its compute — the
Flower ClientApp (:mod:`node.clientapp.training`) stays torch-free and starts
in a fraction of a second.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from node.learn.client import read_frame, service_socket, write_frame
from shared.errors import HarmoniaError
from shared.flower_process import SupervisedProcess
from shared.unix_sockets import bind_unix

__all__ = ["Handler", "LearningServer", "learning_service_for", "main"]

_log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], bytes], tuple[dict[str, Any], bytes]]
"""One operation: (request header, body) → (reply header, body)."""


class LearningServer:
    """Serves requests on the data directory's Unix socket with ``handlers``.

    Parameters
    ----------
    data_dir
        The node's data directory.
    handlers
        Operation name → handler. ``ping`` is built in.
    """

    def __init__(self, data_dir: Path, handlers: dict[str, Handler]) -> None:
        self.path = service_socket(data_dir)
        self.handlers = dict(handlers)
        self.served = 0
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None

    def bind(self) -> None:
        """Create the owner-only folder and socket (replacing a stale socket)."""
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        previous = os.umask(0o177)
        try:
            bind_unix(listener, self.path)
        finally:
            os.umask(previous)
        os.chmod(self.path, 0o600)
        listener.listen(8)
        listener.settimeout(0.5)
        self._listener = listener

    def serve_forever(self) -> None:
        """Answer requests until :meth:`stop`."""
        if self._listener is None:
            self.bind()
        assert self._listener is not None
        try:
            while not self._stopping.is_set():
                try:
                    connection, _ = self._listener.accept()
                except TimeoutError:
                    continue
                with connection:
                    self._serve(connection)
        finally:
            self._listener.close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def stop(self) -> None:
        """Stop after the request in progress."""
        self._stopping.set()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(60)
        try:
            header, body = read_frame(connection)
        except (OSError, ConnectionError, ValueError) as error:
            _log.warning("unreadable request: %s", error)
            return
        connection.settimeout(None)
        op = str(header.get("op", ""))
        started = time.monotonic()
        _log.info("%s request (round %s)", op, header.get("round_id", "-"))
        if op == "ping":
            reply: dict[str, Any] = {"ok": True, "pid": os.getpid(), "served": self.served}
            data = b""
        elif op in self.handlers:
            try:
                reply, data = self.handlers[op](header, body)
            except HarmoniaError as refusal:
                reply, data = (
                    {"ok": False, "error": type(refusal).__name__, "message": str(refusal)},
                    b"",
                )
            except Exception as error:  # the service must survive a failed round
                _log.exception("%s failed", op)
                reply = {"ok": False, "error": type(error).__name__, "message": str(error)}
                data = b""
        else:
            reply = {"ok": False, "error": "UnknownOperation", "message": f"no operation {op!r}"}
            data = b""
        self.served += 1
        reply["service_s"] = round(time.monotonic() - started, 4)
        try:
            write_frame(connection, reply, data)
        except OSError as error:
            _log.warning("could not answer %s: %s", op, error)


def learning_service_for(data_dir: Path) -> SupervisedProcess | None:
    """The supervised learning service of an enrolled node (None when torch is missing).

    The caller starts it and stops it by PID; it is restarted when it exits.
    """
    if importlib.util.find_spec("torch") is None:
        _log.warning("not starting the learning service: torch is not installed (learn extra)")
        return None
    folder = service_socket(data_dir).parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    return SupervisedProcess(
        "learning-service",
        [sys.executable, "-m", "node.learn.service", "--data-dir", str(data_dir.resolve())],
        env=env,
        log_path=folder / "service.log",
        restart_delay_s=2.0,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the service for ``--data-dir`` until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m node.learn.service")
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from node.assist.worker import DraftWorker
    from node.learn.round_work import RoundWork  # imports torch: only in the service process

    work = RoundWork(args.data_dir.resolve())
    drafts = DraftWorker(args.data_dir.resolve())
    server = LearningServer(
        args.data_dir.resolve(),
        {"train": work.train, "evaluate": work.evaluate, "assist": drafts.run},
    )
    server.bind()

    def _stop(_signum: int, _frame: object) -> None:
        server.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    _log.info("learning service of %s listening on %s", args.data_dir, server.path)
    try:
        server.serve_forever()
    finally:
        drafts.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
