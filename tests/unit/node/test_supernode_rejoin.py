"""A killed SuperNode's node id is kept, and its registration deactivated before a restart."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from node.supernode_rejoin import deactivate_stale, read_node_id, remember_node_id
from tests.support.flower_loop import flower_loop_copy


def _openssh_key(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP384R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    return path


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_node_id_the_connection_yields_is_kept(tmp_path: Path) -> None:
    module = flower_loop_copy("_rejoin_copy_of_start_client_internal")
    opened: list[Any] = []

    @contextlib.contextmanager
    def connect(*args: Any, **kwargs: Any) -> Iterator[tuple[int, str]]:
        opened.append((args, kwargs))
        yield (18446744073709551615, "receive")

    module._init_connection = connect
    kept = tmp_path / "node-id"
    remember_node_id(module, kept)
    with module._init_connection("127.0.0.1:1", insecure=False) as connection:
        assert connection == (18446744073709551615, "receive")
        assert read_node_id(kept) == 18446744073709551615
    assert opened == [(("127.0.0.1:1",), {"insecure": False})]


def test_an_unreadable_node_id_reads_as_none(tmp_path: Path) -> None:
    assert read_node_id(tmp_path / "missing") is None
    (tmp_path / "node-id").write_text("not a number")
    assert read_node_id(tmp_path / "node-id") is None


def test_without_a_kept_node_id_nothing_is_sent(tmp_path: Path) -> None:
    key = _openssh_key(tmp_path / "key")
    assert not deactivate_stale("127.0.0.1:1", tmp_path / "ca.pem", key, tmp_path / "node-id")


def test_an_unreachable_superlink_does_not_stop_the_start(tmp_path: Path) -> None:
    key = _openssh_key(tmp_path / "key")
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"")
    (tmp_path / "node-id").write_text("42")
    address = f"127.0.0.1:{_closed_port()}"
    assert not deactivate_stale(address, ca, key, tmp_path / "node-id")


def test_a_key_that_is_not_an_elliptic_curve_key_is_not_used(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    path = tmp_path / "key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "node-id").write_text("42")
    assert not deactivate_stale("127.0.0.1:1", tmp_path / "ca.pem", path, tmp_path / "node-id")
