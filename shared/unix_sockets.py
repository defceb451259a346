"""Unix-domain socket addresses of any length.

``sun_path`` holds 107 bytes on Linux, and a node's data directory may be
deeper than that leaves room for. A longer path is reached through the
directory's open descriptor (``/proc/self/fd/N/NAME``), which the kernel
resolves to the same file: permissions and ownership apply as for the full path.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

__all__ = ["bind_unix", "connect_unix", "unix_address"]

_SUN_PATH_MAX = 107  # bytes, without the terminating NUL


@contextlib.contextmanager
def unix_address(path: Path) -> Iterator[str]:
    """An address naming ``path`` that fits ``sun_path``, valid inside the ``with`` block."""
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        yield str(path)
        return
    folder = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        address = f"/proc/self/fd/{folder}/{path.name}"
        if len(os.fsencode(address)) > _SUN_PATH_MAX:
            raise OSError(f"socket name {path.name!r} is too long for a Unix socket address")
        yield address
    finally:
        os.close(folder)


def bind_unix(listener: socket.socket, path: Path) -> None:
    """``listener.bind(path)``, whatever the length of ``path``."""
    with unix_address(path) as address:
        listener.bind(address)


def connect_unix(connection: socket.socket, path: Path) -> None:
    """``connection.connect(path)``, whatever the length of ``path``."""
    with unix_address(path) as address:
        connection.connect(address)
