"""Flower's own SuperNode, with shorter waits and a lighter ClientApp process.

``python -m node.supernode_launcher --poll S --bin-dir DIR -- FLOWER_SUPERNODE_ARGS``
runs ``flower-supernode`` (flwr 1.41's :func:`flower_supernode`, unchanged)
after two adjustments that flwr 1.41 offers no option for:

**Waits.** Flower's SuperNode loop (``flwr/supernode/start_client_internal.py``)
hard-codes three ``time.sleep`` calls:

* ``time.sleep(3)`` after a pull that found no message: a message the
  ServerApp sends waits up to 3 s (1.5 s on average) before the node sees it;
  a round waits for its slowest node, 2.25 s on average with 3 nodes;
* ``time.sleep(0.5)`` between looks for the ClientApp's reply, and
  ``time.sleep(0.5)`` between looks for a reply object's contents: up to
  0.5 s each, after the ClientApp answered.

The launcher gives the module a stand-in for ``time`` (:class:`FlowerWaits`)
whose ``sleep(0.5)`` waits :data:`REPLY_POLL_S` (0.05 s: a look into the
SuperNode's own in-memory state, free) and whose ``sleep(3)`` waits ``poll``
seconds while the node is *active* — it received a message less than
:data:`ACTIVE_WINDOW_S` (300 s) ago, i.e. it is taking part in a run, whose next
round's message follows the last one's reply — and Flower's 3 s otherwise
(the loop's ``_push_messages``, called once per received message, is wrapped
to note the time). An
idle consortium therefore loads its SuperLink as Flower's defaults do (one
``PullMessages`` per node every 3 s: ~170 requests/s for 500 sites); during a
run a node that has answered and waits for the next round polls every
``poll`` seconds (0.5 s by default: 2 requests/s per waiting node; a node
whose ClientApp is working does not poll at all).

**A lighter ClientApp process.** Flower starts one ``flwr-clientapp`` process
per message, by name (``PATH``). Its console script imports the
``flwr.supernode.cli`` package, whose ``__init__`` also imports the whole
SuperNode (SQLAlchemy, Alembic, FastAPI): 1.6 s of CPU before the ClientApp
starts, of which 0.7 s is not needed. The launcher writes ``DIR/flwr-clientapp``
(``python -m node.clientapp_launcher``: Flower's own ``flwr_clientapp()``
loaded without that package ``__init__``) and puts ``DIR`` first on the
``PATH`` the SuperNode passes to its SuperExec.

**Rejoining after a kill** (``--node-id-file``): see :mod:`node.supernode_rejoin`.

Both rely on flwr 1.41's internals, so the launcher checks them before it starts
(:func:`check_flower`): the installed version is :data:`PINNED_FLOWER` and the
module still makes exactly those ``time.sleep`` calls. Otherwise it exits with
:class:`FlowerInternalsChangedError`'s message (status 3) and the node's
SuperNode supervision logs it.
"""

from __future__ import annotations

import argparse
import inspect
import os
import stat
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from shared.errors import ConfigurationError

__all__ = [
    "ACTIVE_WINDOW_S",
    "FLOWER_WAITS",
    "PINNED_FLOWER",
    "REPLY_POLL_S",
    "FlowerInternalsChangedError",
    "FlowerWaits",
    "check_flower",
    "install_waits",
    "main",
    "write_clientapp_command",
]

PINNED_FLOWER = "1.41.0"
"""The Flower version whose SuperNode internals the launcher adjusts."""

FLOWER_WAITS: dict[str, int] = {"time.sleep(3)": 1, "time.sleep(0.5)": 2}
"""The ``time.sleep`` calls of ``start_client_internal.py`` (source text: count)."""

_PULL_WAIT_S = 3.0
_REPLY_WAIT_S = 0.5
REPLY_POLL_S = 0.05
"""What Flower's 0.5 s looks for a reply (and its objects) become."""
ACTIVE_WINDOW_S = 300.0
"""A node that received a message this recently polls every ``poll`` seconds, else 3 s."""

_EXIT_CONFIGURATION = 3
_HOOKS = ("_push_messages", "_init_connection")
"""The loop's functions the launcher wraps (see install_waits and node.supernode_rejoin)."""


class FlowerInternalsChangedError(ConfigurationError):
    """The installed Flower is not the one whose SuperNode the launcher knows how to adjust."""

    def __init__(self, message: str) -> None:
        super().__init__(message, setting="flower_supernode_launcher")


class FlowerWaits:
    """A stand-in for the ``time`` module inside Flower's SuperNode loop.

    ``sleep(3)`` (no message pulled) waits ``poll_s`` while the node is active
    (:meth:`received` was called within ``active_window_s``), 3 s otherwise;
    ``sleep(0.5)`` (waiting for the ClientApp's reply) waits ``reply_poll_s``;
    other waits and every other attribute are the real ``time`` module's.

    Parameters
    ----------
    poll_s
        The pause after an empty pull while active.
    reply_poll_s
        The pause between looks for the reply.
    active_window_s
        How long after its last message a node counts as active.
    clock
        Monotonic seconds (tests pass their own).
    sleep
        The real sleep (tests pass a recorder).
    """

    def __init__(
        self,
        poll_s: float,
        *,
        reply_poll_s: float = REPLY_POLL_S,
        active_window_s: float = ACTIVE_WINDOW_S,
        clock: Any = time.monotonic,
        sleep: Any = time.sleep,
    ) -> None:
        if not 0 < poll_s <= _PULL_WAIT_S:
            raise ConfigurationError(
                f"the SuperNode's poll interval must be more than 0 and at most Flower's "
                f"{_PULL_WAIT_S:g} s, got {poll_s!r}: set flower_poll_seconds "
                "(HARMONIA_NODE_FLOWER_POLL_SECONDS) accordingly",
                setting="flower_poll_seconds",
            )
        self.poll_s = poll_s
        self.reply_poll_s = reply_poll_s
        self.active_window_s = active_window_s
        self._clock = clock
        self._sleep = sleep
        self._last_message: float | None = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @property
    def active(self) -> bool:
        """Whether the node received a message within the active window."""
        with self._lock:
            last = self._last_message
        return last is not None and self._clock() - last < self.active_window_s

    def received(self) -> None:
        """Note that the node received a message (it takes part in a run)."""
        with self._lock:
            self._last_message = self._clock()

    def sleep(self, seconds: float) -> None:
        """Flower's wait ``seconds``, shortened as the class says."""
        if seconds == _PULL_WAIT_S:
            self._sleep(self.poll_s if self.active else _PULL_WAIT_S)
        elif seconds == _REPLY_WAIT_S:
            self._sleep(self.reply_poll_s)
        else:
            self._sleep(seconds)


def _flower_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flwr")
    except PackageNotFoundError:
        return "not installed"


def check_flower(module: ModuleType, installed: str | None = None) -> None:
    """Raise :class:`FlowerInternalsChangedError` unless ``module`` is flwr 1.41's SuperNode loop.

    ``module`` is ``flwr.supernode.start_client_internal``; ``installed`` the
    installed flwr version (read from the package metadata when None).
    """
    installed = _flower_version() if installed is None else installed
    advice = (
        "Install the Flower version Harmonia pins (pip install 'harmonia[learn]', "
        f"flwr=={PINNED_FLOWER}), or update Harmonia to one written for this Flower; "
        "meanwhile HARMONIA_NODE_FLOWER_SUPERNODE_LAUNCHER=false runs Flower's own "
        "flower-supernode, unadjusted."
    )
    if installed != PINNED_FLOWER:
        raise FlowerInternalsChangedError(
            f"the SuperNode launcher adjusts flwr {PINNED_FLOWER}'s SuperNode, but flwr "
            f"{installed} is installed. {advice}"
        )
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError) as unreadable:
        raise FlowerInternalsChangedError(
            f"cannot read the source of {module.__name__} ({unreadable}). {advice}"
        ) from unreadable
    found = {call: source.count(call) for call in FLOWER_WAITS}
    hooks = [name for name in _HOOKS if not callable(getattr(module, name, None))]
    if found != FLOWER_WAITS or getattr(module, "time", None) is not time or hooks:
        raise FlowerInternalsChangedError(
            f"{module.__name__} no longer has what the launcher adjusts (the waits "
            f"{FLOWER_WAITS} and the functions {list(_HOOKS)}; found {found}, missing "
            f"{hooks or 'none'}). {advice}"
        )


def install_waits(module: ModuleType, waits: FlowerWaits) -> None:
    """Give ``module`` (the checked SuperNode loop) ``waits`` as its ``time``.

    Its ``_push_messages`` (the loop calls it once per received message) is
    wrapped to call :meth:`FlowerWaits.received` first.
    """
    push = module.__dict__["_push_messages"]

    def push_messages(*args: Any, **kwargs: Any) -> None:
        waits.received()
        push(*args, **kwargs)

    module.__dict__["_push_messages"] = push_messages
    module.__dict__["time"] = waits


CLIENTAPP_COMMAND = "flwr-clientapp"


def write_clientapp_command(bin_dir: Path, python: str | None = None) -> Path:
    """Write ``bin_dir/flwr-clientapp``, which runs :mod:`node.clientapp_launcher`."""
    bin_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = bin_dir / CLIENTAPP_COMMAND
    text = (
        f"#!{python or sys.executable}\n"
        "# Written by Harmonia's SuperNode launcher: Flower's flwr-clientapp, lighter to start.\n"
        "import sys\n\n"
        "from node.clientapp_launcher import main\n\n"
        "sys.exit(main())\n"
    )
    partial = target.with_suffix(".tmp")
    partial.write_text(text, encoding="utf-8")
    partial.chmod(stat.S_IRWXU)
    partial.replace(target)
    return target


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m node.supernode_launcher",
        description="Flower's SuperNode with shorter waits (see the module's docstring).",
    )
    parser.add_argument("--poll", type=float, required=True, help="seconds between pulls")
    parser.add_argument(
        "--bin-dir", type=Path, required=True, help="where to write the flwr-clientapp command"
    )
    parser.add_argument(
        "--node-id-file",
        type=Path,
        default=None,
        help="keep the node id here; deactivate a killed predecessor's registration at start",
    )
    parser.add_argument("flower_args", nargs=argparse.REMAINDER, help="-- flower-supernode args")
    return parser


def _rejoin(module: ModuleType, node_id_file: Path, flower_args: list[str]) -> None:
    """Deactivate a killed predecessor's registration, and keep this SuperNode's node id."""
    import logging

    from node.supernode_rejoin import deactivate_stale, remember_node_id

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(asctime)s: %(message)s"))
    logger = logging.getLogger("node.supernode_rejoin")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    known = argparse.ArgumentParser(add_help=False)
    for option in ("--superlink", "--root-certificates", "--auth-supernode-private-key"):
        known.add_argument(option)
    flower, _ = known.parse_known_args(flower_args)
    if flower.superlink and flower.root_certificates and flower.auth_supernode_private_key:
        deactivate_stale(
            flower.superlink,
            Path(flower.root_certificates),
            Path(flower.auth_supernode_private_key),
            node_id_file,
        )
    remember_node_id(module, node_id_file)


def main(argv: Sequence[str] | None = None) -> int:
    """Check Flower, adjust its SuperNode, and run it with ``flower-supernode``'s arguments."""
    args = _parser().parse_args(argv)
    flower_args = list(args.flower_args)
    if flower_args[:1] == ["--"]:
        flower_args = flower_args[1:]
    try:
        waits = FlowerWaits(args.poll)
        from flwr.supernode import start_client_internal

        check_flower(start_client_internal)
    except ConfigurationError as error:
        print(f"harmonia SuperNode launcher: {error}", file=sys.stderr, flush=True)
        return _EXIT_CONFIGURATION
    install_waits(start_client_internal, waits)
    if args.node_id_file is not None:
        _rejoin(start_client_internal, args.node_id_file, flower_args)
    write_clientapp_command(args.bin_dir)
    os.environ["PATH"] = str(args.bin_dir) + os.pathsep + os.environ.get("PATH", "")
    from flwr.supernode.cli.flower_supernode import flower_supernode

    sys.argv = ["flower-supernode", *flower_args]
    flower_supernode()
    return 0


if __name__ == "__main__":
    sys.exit(main())
