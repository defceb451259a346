"""A SuperNode that died without leaving: its registration is deactivated before it starts again.

A SuperNode stopped with SIGTERM deactivates its registration on the SuperLink
(Flower's ``DeactivateNode``) and a new one is let in at once. One that was
killed (``kill -9``, its node killed, the machine lost power) stays *online*
on the SuperLink until two missed heartbeats (60 s) have passed; until then
the SuperLink refuses to activate the same key again ("Failed to activate
SuperNode", exit 305) and the restarted node sits out the rounds.

The SuperNode launcher therefore keeps the node id the SuperLink gave
(:func:`remember_node_id`, in ``DATA_DIR/flower/node-id``) and, before it
starts Flower's SuperNode, sends that id's ``DeactivateNode``
(:func:`deactivate_stale`), signed with the node's SuperNode key as Flower's
own does (the SuperLink accepts it only for the node id of that key). When
the registration is not online any more the SuperLink answers an error, which
is expected and ignored; so is an unreachable SuperLink (the SuperNode's own
connection retries then).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["NODE_ID_FILE", "deactivate_stale", "read_node_id", "remember_node_id"]

_log = logging.getLogger(__name__)

NODE_ID_FILE = "node-id"
"""The file, next to the SuperNode's log, that keeps the last node id."""


def read_node_id(path: Path) -> int | None:
    """The node id kept in ``path``, or None (missing or unreadable)."""
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def remember_node_id(module: ModuleType, path: Path) -> None:
    """Wrap ``module``'s ``_init_connection`` to write the node id it yields to ``path``.

    ``module`` is flwr 1.41's ``start_client_internal`` (checked by the
    launcher): its loop opens the Fleet connection with ``_init_connection``,
    whose first yielded value is the node id the SuperLink activated.
    """
    connect: Callable[..., Any] = module.__dict__["_init_connection"]

    @contextlib.contextmanager
    def init_connection(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with connect(*args, **kwargs) as connection:
            partial = path.with_suffix(".tmp")
            partial.write_text(str(int(connection[0])), encoding="ascii")
            partial.replace(path)
            yield connection

    module.__dict__["_init_connection"] = init_connection


def deactivate_stale(
    server_address: str, root_certificates: Path, private_key: Path, node_id_file: Path
) -> bool:
    """Deactivate the node id of ``node_id_file`` on the SuperLink; True if it was online.

    ``private_key`` is the SuperNode's key in OpenSSH form (as Flower reads it).
    Every failure (no id kept, the registration already offline, the SuperLink
    unreachable) is logged and answers False: the SuperNode starts either way.
    """
    node_id = read_node_id(node_id_file)
    if node_id is None:
        return False
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_ssh_private_key
    from flwr.proto.fleet_pb2 import DeactivateNodeRequest
    from flwr.supernode.fleet_http_client import FleetHttpClient
    from flwr.supernode.node_auth_http_interceptor import NodeAuthHttpInterceptor

    try:
        key = load_ssh_private_key(private_key.read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("not an elliptic-curve key")
        with FleetHttpClient.from_server_address(
            server_address,
            False,
            str(root_certificates),
            interceptors=[NodeAuthHttpInterceptor(key, key.public_key())],
        ) as client:
            client.DeactivateNode(DeactivateNodeRequest(node_id=node_id))
    except Exception as error:  # any failure: the SuperNode starts anyway
        _log.info("no stale registration of SuperNode %s deactivated: %s", node_id, error)
        return False
    _log.warning(
        "SuperNode %s had not left the SuperLink (killed?): its registration was deactivated",
        node_id,
    )
    return True
