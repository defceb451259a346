"""``harmonia-coordinator serve``: the admin listener and the site (mTLS) listener.

Both serve the same app from one process: the admin API, enrollment and
health on plain HTTP (``--host``/``--port``), the site-facing API on HTTPS
with a client certificate required (``--site-host``/``--site-port``).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import ssl
import sys
from typing import TYPE_CHECKING

from coordinator.commands.options import add_data_dir, settings_from
from coordinator.exit_codes import ExitCode
from shared.errors import ConfigurationError

if TYPE_CHECKING:
    import uvicorn

    from coordinator.flower_services import FlowerServices
    from shared.observability import Readiness


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve", help="run the coordinator: admin API, enrollment and the site API (mTLS)"
    )
    add_data_dir(parser)
    parser.add_argument("--host", default=None, help="admin/enrollment bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="admin/enrollment port (8200)")
    parser.add_argument("--site-host", default=None, help="site API bind (default 127.0.0.1)")
    parser.add_argument("--site-port", type=int, default=None, help="site API port (8443)")
    parser.add_argument("--fleet-address", default=None, help="Flower Fleet API host:port")
    parser.add_argument(
        "--flower",
        action="store_true",
        default=None,
        help="also supervise the Flower SuperLink (127.0.0.1) and serve its Fleet API",
    )
    parser.add_argument("--fleet-host", default=None, help="Fleet proxy bind (127.0.0.1)")
    parser.add_argument("--fleet-port", type=int, default=None, help="Fleet proxy port (9092)")
    parser.add_argument(
        "--superlink-port", type=int, default=None, help="the SuperLink's loopback port (9093)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    import uvicorn

    from coordinator.api import create_app
    from coordinator.api.metrics import readiness_of
    from coordinator.api.tls import PeerCertificateH11Protocol
    from coordinator.capture import listener_protocol
    from coordinator.flower_services import FlowerServices
    from coordinator.runtime import open_coordinator
    from shared.observability import configure_logging

    settings = settings_from(
        args,
        host=args.host,
        port=args.port,
        site_host=args.site_host,
        site_port=args.site_port,
        fleet_address=args.fleet_address,
        flower=args.flower,
        fleet_host=args.fleet_host,
        fleet_port=args.fleet_port,
        superlink_port=args.superlink_port,
        log_format=getattr(args, "log_format", None),
    )
    configure_logging(getattr(args, "log_level", "INFO"), settings.log_format)
    with open_coordinator(settings) as runtime:
        admin_socket = _listen(settings.host, settings.port, "port")
        try:
            site_socket = _listen(settings.site_host, settings.site_port, "site_port")
        except ConfigurationError:
            admin_socket.close()
            raise
        issued = runtime.ensure_admin_token()
        if issued is not None and settings.bootstrap_token is None:
            print(
                "Created the first coordinator-admin token (shown once, store it safely):\n"
                f"  {issued.token}",
                flush=True,
            )
        app = create_app(settings, runtime=runtime)
        admin = uvicorn.Server(
            uvicorn.Config(
                app,
                host=settings.host,
                port=settings.port,
                log_level="warning",
                log_config=None,  # the root logger's handler: text or JSON (--log-format)
                access_log=False,  # the app writes its own access log (harmonia.access)
                lifespan="on",  # once, here: its shutdown ends a training run in progress
                http=listener_protocol(settings.capture_dir, "admin"),
            )
        )
        site = uvicorn.Server(
            uvicorn.Config(
                app,
                host=settings.site_host,
                port=settings.site_port,
                log_level="warning",
                log_config=None,
                access_log=False,
                lifespan="off",
                http=listener_protocol(settings.capture_dir, "site", PeerCertificateH11Protocol),
                ssl_certfile=str(runtime.keys.server_certificate_path),
                ssl_keyfile=str(runtime.keys.server_key_path),
                ssl_ca_certs=str(runtime.keys.ca_certificate_path),
                ssl_cert_reqs=ssl.CERT_REQUIRED,
            )
        )
        print(f"Harmonia coordinator serving {settings.data_dir}", flush=True)
        if settings.capture_dir is not None:
            print(
                f"WARNING: capturing every byte received into {settings.capture_dir} "
                "(capture_dir: development and tests only)",
                file=sys.stderr,
                flush=True,
            )
        print(f"  admin API:  {settings.resolved_public_url}/api/v1", flush=True)
        print(f"  enrollment: {settings.resolved_public_url}/api/v1/enroll", flush=True)
        print(f"  site API:   {settings.resolved_site_api_url}/api/v1/site (mTLS)", flush=True)
        print(f"  health:     {settings.resolved_public_url}/healthz", flush=True)
        servers = [(admin, admin_socket), (site, site_socket)]
        flower = None
        if settings.flower:
            flower = FlowerServices(settings, runtime)
            servers.append(flower.listen())
            _add_superlink_probe(readiness_of(app), flower)
            print(f"  Fleet API:  {settings.resolved_fleet_address} (TLS)", flush=True)
            print(f"  SuperLink:  {flower.superlink.address} (loopback only)", flush=True)
        try:
            with admin_socket, site_socket:
                asyncio.run(_serve_both(*servers))
        finally:
            if flower is not None:
                flower.stop()
    return ExitCode.OK if admin.started and site.started else ExitCode.FAILED


def _listen(host: str, port: int, setting: str) -> socket.socket:
    """Bind a listening socket now, so a busy port is a clear error before anything serves."""
    try:
        return socket.create_server((host, port), reuse_port=False)
    except OSError as exc:
        option = "--" + setting.replace("_", "-")
        raise ConfigurationError(
            f"cannot listen on {host}:{port}: {exc.strerror}; choose another {option} or stop "
            "what uses it",
            setting=setting,
        ) from exc


async def _serve_both(*servers: tuple[uvicorn.Server, socket.socket]) -> None:
    """Run both servers on their sockets; when either stops, stop the other."""
    tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in servers]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for server, _sock in servers:
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)


def _add_superlink_probe(readiness: Readiness, flower: FlowerServices) -> None:
    """``/readyz`` also checks that the supervised SuperLink runs and listens."""
    superlink = flower.superlink

    def probe() -> tuple[bool, str]:
        if superlink.pid is None:
            return False, "the SuperLink is not running (it is restarted; see flower/superlink.log)"
        try:
            with socket.create_connection(("127.0.0.1", superlink.port), timeout=2):
                pass
        except OSError as exc:
            return False, f"the SuperLink (pid {superlink.pid}) does not accept connections: {exc}"
        return True, f"the SuperLink runs (pid {superlink.pid}) on {superlink.address}"

    readiness.add("superlink", probe)
