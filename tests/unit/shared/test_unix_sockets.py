import socket
from pathlib import Path

import pytest

from shared.unix_sockets import bind_unix, connect_unix, unix_address


def test_a_short_path_is_used_as_it_is(tmp_path: Path) -> None:
    with unix_address(tmp_path / "s.sock") as address:
        assert address == str(tmp_path / "s.sock")


def test_a_long_path_binds_and_connects_through_its_folder(tmp_path: Path) -> None:
    folder = tmp_path.joinpath(*(["x" * 40] * 4))
    folder.mkdir(parents=True)
    path = folder / "service.sock"
    with unix_address(path) as address:
        assert address.startswith("/proc/self/fd/") and len(address) < 108
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        bind_unix(listener, path)
        listener.listen(1)
        assert path.exists()  # the socket file is where the long path says
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            connect_unix(client, path)
            accepted, _ = listener.accept()
            with accepted:
                client.sendall(b"ping")
                assert accepted.recv(4) == b"ping"


def test_a_socket_name_too_long_even_for_its_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="too long"), unix_address(tmp_path / ("n" * 120)):
        pass
