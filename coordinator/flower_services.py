"""What ``serve --flower`` adds: the SuperLink, its SuperNode registry and the Fleet proxy.

:class:`FlowerServices` starts the supervised SuperLink on 127.0.0.1, the
registry thread that keeps its SuperNode keys equal to the enrolled sites, and
prepares the Fleet proxy's HTTPS server (the coordinator's certificate) on
``fleet_host:fleet_port`` for ``serve`` to run beside its other listeners.
:meth:`FlowerServices.stop` stops them, the SuperLink by its PID.
"""

from __future__ import annotations

import socket

import uvicorn

from coordinator.capture import listener_protocol
from coordinator.fleet_proxy import create_fleet_proxy
from coordinator.runtime import CoordinatorRuntime
from coordinator.settings import CoordinatorSettings
from coordinator.superlink import FlowerPaths, SuperLink, SuperNodeRegistry
from shared.errors import ConfigurationError

__all__ = ["FlowerServices"]


class FlowerServices:
    """The SuperLink, its registry and the Fleet proxy of one coordinator."""

    def __init__(self, settings: CoordinatorSettings, runtime: CoordinatorRuntime) -> None:
        self.settings = settings
        keys = runtime.keys
        self.superlink = SuperLink(
            FlowerPaths.of(settings.data_dir),
            port=settings.superlink_port,
            certificate=keys.server_certificate_path,
            key=keys.server_key_path,
            ca_certificate=keys.ca_certificate_path,
        )
        self.registry = SuperNodeRegistry(runtime.engine, self.superlink)
        self.proxy = uvicorn.Server(
            uvicorn.Config(
                create_fleet_proxy(
                    f"https://127.0.0.1:{settings.superlink_port}",
                    ca_certificate=keys.ca_certificate_path,
                ),
                host=settings.fleet_host,
                port=settings.fleet_port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                ssl_certfile=str(keys.server_certificate_path),
                ssl_keyfile=str(keys.server_key_path),
                http=listener_protocol(settings.capture_dir, "fleet"),
            )
        )
        self._socket: socket.socket | None = None

    def listen(self) -> tuple[uvicorn.Server, socket.socket]:
        """Bind the Fleet proxy, then start the SuperLink and the registry."""
        host, port = self.settings.fleet_host, self.settings.fleet_port
        try:
            self._socket = socket.create_server((host, port), reuse_port=False)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on {host}:{port}: {exc.strerror}; choose another --fleet-port "
                "or stop what uses it",
                setting="fleet_port",
            ) from exc
        self.superlink.start()
        self.registry.start()
        return self.proxy, self._socket

    def stop(self) -> None:
        """Stop the registry and the SuperLink (by PID); close the proxy's socket."""
        self.registry.stop()
        self.superlink.stop()
        if self._socket is not None:
            self._socket.close()
