"""``harmonia-node serve``: the node's HTTP service and, optionally, its C-STORE SCP."""

from __future__ import annotations

import argparse
import logging

from node.commands.options import add_data_dir, settings_from
from node.exit_codes import ExitCode

_log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve", help="run the node: DICOMweb, admin API and optional C-STORE SCP"
    )
    add_data_dir(parser)
    parser.add_argument("--host", default=None, help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="HTTP port (default 8104)")
    parser.add_argument(
        "--dicom-port", type=int, default=None, help="run a C-STORE SCP on this port"
    )
    parser.add_argument("--ae-title", default=None, help="the SCP's AE title (default HARMONIA)")
    parser.add_argument(
        "--allow-ae",
        action="append",
        default=None,
        metavar="AE",
        help="calling AE title allowed to send (repeatable); without any, all are accepted",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    import uvicorn

    from node.api import create_app
    from node.api.metrics import readiness_of
    from node.consortium import guideline_sync_for, health_reporter_for
    from node.learn.service import learning_service_for
    from node.observability import listening_probe, process_probe
    from node.runtime import open_node
    from node.supernode import supernode_for
    from shared.observability import configure_logging

    settings = settings_from(
        args,
        host=args.host,
        port=args.port,
        dicom_port=args.dicom_port,
        ae_title=args.ae_title,
        allow_ae=args.allow_ae,
        log_format=getattr(args, "log_format", None),
    )
    configure_logging(getattr(args, "log_level", "INFO"), settings.log_format)
    with open_node(settings) as runtime:
        if runtime.ingest_workers is not None:
            runtime.ingest_workers.start()
        issued = runtime.ensure_admin_token()
        if issued is not None and settings.bootstrap_token is None:
            print(
                "Created the first admin API token (shown once, store it safely):\n"
                f"  {issued.token}",
                flush=True,
            )
        app = create_app(settings, runtime=runtime)
        readiness = readiness_of(app)
        scp = None
        if settings.dicom_port is not None:
            from node.dicom.scp import StoreScp

            scp = StoreScp(
                runtime.ingest,
                ae_title=settings.ae_title,
                host=settings.host,
                port=settings.dicom_port,
                allow_ae=settings.allow_ae,
            )
            scp.start()
            readiness.add("dicom_scp", listening_probe(settings.host, scp.port, "the C-STORE SCP"))
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            log_config=None,  # the root logger's handler: text or JSON (--log-format)
            access_log=False,  # the app writes its own access log (harmonia.access)
        )
        server = uvicorn.Server(config)
        base = f"http://{settings.host}:{settings.port}"
        print(f"Harmonia node serving {settings.data_dir}", flush=True)
        print(f"  health:   {base}/healthz", flush=True)
        print(f"  DICOMweb: {base}/dicom-web", flush=True)
        print(f"  API docs: {base}/docs", flush=True)
        print(f"  web UI:   {base}/ui/", flush=True)
        if not runtime.users.list():
            print(
                "  No users yet: create one to sign in to the web UI with\n"
                f"    harmonia-node user create --data-dir {settings.data_dir} "
                "--username NAME --role admin",
                flush=True,
            )
        if scp is not None:
            print(f"  C-STORE:  {settings.ae_title}@{settings.host}:{scp.port}", flush=True)
        guideline_sync = guideline_sync_for(
            settings.data_dir,
            runtime.annotation.guidelines,
            runtime.engine,
            interval_s=settings.guideline_sync_minutes * 60,
        )
        if guideline_sync is not None:
            guideline_sync.start()
            print(f"  Guidelines: synced every {settings.guideline_sync_minutes:g} min", flush=True)
        health = health_reporter_for(
            settings.data_dir,
            runtime.engine,
            ledger_key=runtime.egress_key,
            interval_s=settings.health_report_minutes * 60,
        )
        if health is not None:
            health.start()
            print(f"  Health:   reported every {settings.health_report_minutes:g} min", flush=True)
        supernode = supernode_for(
            settings.data_dir,
            poll_s=settings.flower_poll_seconds if settings.flower_supernode_launcher else None,
        )
        learning = learning_service_for(settings.data_dir) if supernode is not None else None
        drafts = None
        if learning is not None:
            learning.start()
            readiness.add(
                "learning_service", process_probe(lambda: learning.pid, "the learning service")
            )
            print(f"  Learning: service on {settings.data_dir / 'learn'}", flush=True)
            if settings.background_drafts:
                from node.assist import AssistService, BackgroundDrafts

                assist = AssistService(runtime.annotation, runtime.store)
                drafts = BackgroundDrafts(
                    settings.data_dir, assist.runner, interval_s=settings.background_drafts_seconds
                )
                drafts.start()
                print(
                    f"  Drafts:   every {settings.background_drafts_seconds:g} s with the newest "
                    "pulled model (projects with drafts on)",
                    flush=True,
                )
        if supernode is not None:
            supernode.start()
            readiness.add("supernode", process_probe(lambda: supernode.pid, "the SuperNode"))
            print(
                f"  Flower:   SuperNode of {supernode.site} -> {supernode.fleet_address}",
                flush=True,
            )
        try:
            _stop_on_sigterm()
            server.run()
        finally:
            if drafts is not None:
                drafts.stop()
            if guideline_sync is not None:
                guideline_sync.stop()
            if health is not None:
                health.stop()
            if supernode is not None:
                supernode.stop()
            if learning is not None:
                learning.stop()
            if scp is not None:
                scp.stop()
    return ExitCode.OK if server.started else ExitCode.FAILED


def _stop_on_sigterm() -> None:
    """Have SIGTERM end ``serve`` through its ``finally``: the SuperNode and services stop cleanly.

    uvicorn handles SIGTERM while it serves, then restores the handler it found
    and raises the signal again; with Python's default (terminate at once) the
    process died there, its SuperNode was killed with it (never deactivated on
    the SuperLink, so a restart waited ~60 s to be let in) and the learning
    service and SCP were not stopped. This handler makes that second SIGTERM a
    ``SystemExit(0)`` instead.
    """
    import signal

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(ExitCode.OK)

    signal.signal(signal.SIGTERM, stop)
