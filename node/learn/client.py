"""The torch-free client of the node's learning service, and the wire format they share.

The Flower ClientApp runs in a fresh ``flwr-clientapp`` process for every
message; importing torch there would cost seconds per message. It imports
this module instead and hands the work to the node's persistent learning
service (:mod:`node.learn.service`), which keeps torch imported and the model
loaded, over a Unix socket in the data directory that only the node's user can
open (``DATA_DIR/learn/service.sock``, folder 0700, socket 0600).

Frames: ``u64 header length | JSON header | u64 body length | body`` (big-endian
lengths). A request's header names the ``op`` (``ping``, ``train``,
``evaluate``) and its parameters; its body is the global weights as a
:mod:`shared.weights` file. A reply's header says ``ok`` (or ``error`` and
``message``); a ``train`` reply's body is exactly the bytes the egress gate
released for the update (the gate runs in the service, which owns the
node's database), so the ClientApp forwards nothing else.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.errors import LearnError
from shared.unix_sockets import connect_unix

__all__ = [
    "LearningClient",
    "LearningServiceUnavailableError",
    "ServiceReply",
    "read_frame",
    "service_socket",
    "write_frame",
]

_LENGTH = struct.Struct(">Q")
_MAX_HEADER = 16 * 2**20
_MAX_BODY = 2 * 2**30


class LearningServiceUnavailableError(LearnError):
    """The node's learning service is not running (or not answering) for this data directory."""


def service_socket(data_dir: Path) -> Path:
    """Where the learning service of ``data_dir`` listens."""
    return data_dir / "learn" / "service.sock"


def _read_exact(connection: socket.socket, count: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < count:
        chunk = connection.recv(min(count - len(chunks), 4 * 2**20))
        if not chunk:
            raise ConnectionError("the peer closed the connection mid-frame")
        chunks += chunk
    return bytes(chunks)


def write_frame(connection: socket.socket, header: dict[str, Any], body: bytes = b"") -> None:
    """Send one frame."""
    encoded = json.dumps(header, sort_keys=True, allow_nan=False).encode("utf-8")
    connection.sendall(_LENGTH.pack(len(encoded)) + encoded + _LENGTH.pack(len(body)))
    if body:
        connection.sendall(body)


def read_frame(connection: socket.socket) -> tuple[dict[str, Any], bytes]:
    """Receive one frame: its header and body."""
    (length,) = _LENGTH.unpack(_read_exact(connection, _LENGTH.size))
    if length > _MAX_HEADER:
        raise ConnectionError(f"frame header of {length} bytes is too large")
    header = json.loads(_read_exact(connection, length))
    if not isinstance(header, dict):
        raise ConnectionError("a frame header must be a JSON object")
    (size,) = _LENGTH.unpack(_read_exact(connection, _LENGTH.size))
    if size > _MAX_BODY:
        raise ConnectionError(f"frame body of {size} bytes is too large")
    return header, _read_exact(connection, size) if size else b""


@dataclass(frozen=True)
class ServiceReply:
    """The service's answer: its header and body."""

    header: dict[str, Any]
    body: bytes

    @property
    def ok(self) -> bool:
        """Whether the work was done (else ``error`` and ``message`` say why not)."""
        return bool(self.header.get("ok"))


class LearningClient:
    """Talks to the learning service of one data directory.

    Parameters
    ----------
    data_dir
        The node's data directory.
    timeout_s
        How long one request may take (training included).
    start_wait_s
        How long to wait for a service that is not listening yet (the node is
        starting: its SuperNode may be let in before the service has imported
        torch; a killed node leaves its socket file behind, which refuses
        connections until the new service binds it). Only connecting is
        retried: a request once sent is never sent again.
    """

    def __init__(
        self, data_dir: Path, *, timeout_s: float = 3600.0, start_wait_s: float = 0.0
    ) -> None:
        self.path = service_socket(data_dir)
        self.timeout_s = timeout_s
        self.start_wait_s = start_wait_s

    def _connect(self) -> socket.socket:
        deadline = time.monotonic() + self.start_wait_s
        while True:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                connect_unix(connection, self.path)
                return connection
            except (FileNotFoundError, ConnectionRefusedError):
                connection.close()
                if time.monotonic() >= deadline:
                    raise
            except OSError:
                connection.close()
                raise
            time.sleep(0.2)

    def request(self, op: str, parameters: dict[str, Any], body: bytes = b"") -> ServiceReply:
        """Send one request and wait for its reply.

        Raises
        ------
        LearningServiceUnavailableError
            No service listens, or it went away mid-request.
        """
        try:
            with self._connect() as connection:
                connection.settimeout(self.timeout_s)
                write_frame(connection, {"op": op, **parameters}, body)
                header, data = read_frame(connection)
        except (OSError, ConnectionError, ValueError) as error:
            if not self.path.exists():
                raise LearningServiceUnavailableError(
                    f"the node's learning service is not running (no {self.path}): start the "
                    "node with 'harmonia-node serve', which runs it once the node is enrolled"
                ) from None
            raise LearningServiceUnavailableError(
                f"the node's learning service did not answer ({error}); see "
                f"{self.path.parent / 'service.log'}"
            ) from None
        return ServiceReply(header, data)

    def ping(self) -> ServiceReply:
        """Whether the service is up (its PID and what it has loaded)."""
        return self.request("ping", {})
