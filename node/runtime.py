"""Opening a node's data directory: the services every entry point shares.

``harmonia-node serve``, ``import`` and ``pull`` all call :func:`open_node`.
It creates the data directory and the site's secret on first use, migrates
the database, and sweeps files a crashed writer left behind, but only when no
other process has the directory open (an advisory lock decides).
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from node.annotate import AnnotationService
from node.audit import AuditLog, audit_key
from node.auth import (
    IssuedToken,
    LockoutPolicy,
    PrincipalResolver,
    Scope,
    SessionService,
    TokenService,
    UserService,
)
from node.dicom.deid import Deidentifier, DeidOptions, RelinkSealer
from node.dicom.ingest import IngestService
from node.dicom.ingest_workers import IngestWorkerPool, PreparerConfig
from node.egress.ledger import SITE_SECRET_FILE, EgressLedger, ledger_key
from node.errors import NotFoundError
from node.settings import NodeSettings
from node.store import FileBlobStore, InstanceStore, create_database_engine, migrate
from shared.errors import ConfigurationError

__all__ = ["NodeRuntime", "open_node"]

_log = logging.getLogger(__name__)

_SITE_SECRET_BYTES = 32


class NodeRuntime:
    """The open services of one node data directory; close it when done."""

    def __init__(self, settings: NodeSettings) -> None:
        self.settings = settings
        data_dir = settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        settings.secrets_dir.mkdir(mode=0o700, exist_ok=True)
        self._lock_handle = open(data_dir / "node.lock", "a+b")  # noqa: SIM115 (held open)
        exclusive = _try_exclusive(self._lock_handle)
        self.engine = create_database_engine(settings.resolved_database_url, durable=settings.fsync)
        migrate(self.engine)
        blobs = FileBlobStore(settings.blob_dir, fsync=settings.fsync)
        self.store = InstanceStore(self.engine, blobs)
        if exclusive:
            swept = self.store.sweep_orphans()
            if swept:
                _log.warning("removed %d orphaned file(s) left by an interrupted write", swept)
        fcntl.flock(self._lock_handle, fcntl.LOCK_SH)
        self.site_secret = _load_or_create_secret(settings.secrets_dir / SITE_SECRET_FILE)
        sealer = None
        if settings.relink_public_key is not None:
            sealer = RelinkSealer(_read_key(settings.relink_public_key))
        deid_options = DeidOptions.from_settings(settings)
        self.deidentifier = Deidentifier(self.site_secret, deid_options)
        self.ingest_workers: IngestWorkerPool | None = None
        if settings.resolved_ingest_workers:
            self.ingest_workers = IngestWorkerPool(
                PreparerConfig(
                    self.site_secret,
                    deid_options,
                    settings.max_instance_bytes,
                    _read_key(settings.relink_public_key) if settings.relink_public_key else None,
                    staging_root=blobs.staging_root,
                    fsync=settings.fsync,
                ),
                settings.resolved_ingest_workers,
            )
        self.ingest = IngestService(
            self.store,
            self.deidentifier,
            max_instance_bytes=settings.max_instance_bytes,
            relink_sealer=sealer,
            workers=self.ingest_workers,
        )
        self.tokens = TokenService(self.engine)
        self.audit = AuditLog(self.engine, key=audit_key(self.site_secret))
        self.audit.initialise()
        self.egress_key = ledger_key(self.site_secret)
        self.egress_ledger = EgressLedger(self.engine, key=self.egress_key)
        self.egress_ledger.initialise()
        self.users = UserService(
            self.engine,
            self.audit,
            lockout=LockoutPolicy(
                settings.login_max_failures, timedelta(minutes=settings.login_lockout_minutes)
            ),
            min_password_length=settings.password_min_length,
        )
        self.sessions = SessionService(
            self.engine,
            idle_timeout=timedelta(minutes=settings.session_idle_minutes),
            absolute_timeout=timedelta(hours=settings.session_absolute_hours),
        )
        self.principals = PrincipalResolver(self.tokens, self.users, self.sessions)
        self.annotation = AnnotationService(
            self.engine, self.store, audit=self.audit, user_exists=self._user_exists
        )

    def _user_exists(self, username: str) -> bool:
        try:
            self.users.get(username)
        except NotFoundError:
            return False
        return True

    def ensure_admin_token(self) -> IssuedToken | None:
        """Create the first admin token when the node has none.

        ``settings.bootstrap_token`` becomes that token when set; otherwise a
        fresh one is generated. Returns the issued token (the only time its
        secret is visible), or ``None`` when tokens already exist.
        """
        if self.tokens.count():
            return None
        return self.tokens.issue(
            "bootstrap-admin",
            [Scope.ADMIN],
            token=self.settings.bootstrap_token,
        )

    def close(self) -> None:
        """Stop the ingest workers; release the database and the data-directory lock."""
        if self.ingest_workers is not None:
            self.ingest_workers.close()
        self.engine.dispose()
        fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
        self._lock_handle.close()

    def __enter__(self) -> NodeRuntime:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_node(settings: NodeSettings) -> NodeRuntime:
    """Open (creating on first use) the node described by ``settings``."""
    return NodeRuntime(settings)


def _try_exclusive(handle: BinaryIO) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fcntl.flock(handle, fcntl.LOCK_SH)
        return False
    return True


def _load_or_create_secret(path: Path) -> bytes:
    """Read the site's HMAC secret, creating it (0600, never overwritten) on first use.

    The secret is written to a temporary file and hard-linked into place, so
    a concurrent reader sees either no secret or the whole secret.
    """
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(_SITE_SECRET_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race; use its secret
        finally:
            tmp.unlink()
    secret = path.read_bytes()
    if len(secret) < _SITE_SECRET_BYTES:
        raise ConfigurationError(
            f"{path} holds {len(secret)} bytes, fewer than {_SITE_SECRET_BYTES}; restore it "
            "from backup: pseudonyms depend on it",
            setting="data_dir",
        )
    return secret


def _read_key(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the re-identification public key {path}: {exc.strerror}",
            setting="relink_public_key",
        ) from exc
