"""The node's settings: one class, read once at start, refusing unsafe defaults.

Values come from keyword arguments (the CLI), then ``HARMONIA_NODE_*``
environment variables, then the defaults below. The defaults embed everything a
node needs to run on one machine: SQLite and content-addressed files under
``data_dir``.
"""

from __future__ import annotations

import enum
import logging
import os
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.errors import ConfigurationError
from shared.observability import LogFormat

__all__ = ["DeploymentProfile", "NodeSettings"]

_log = logging.getLogger(__name__)

MiB = 1024 * 1024


class DeploymentProfile(enum.StrEnum):
    """How strictly the node treats insecure settings."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class NodeSettings(BaseSettings):
    """Everything configurable about a hospital node."""

    model_config = SettingsConfigDict(env_prefix="HARMONIA_NODE_", extra="forbid")

    data_dir: Path
    profile: DeploymentProfile = DeploymentProfile.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(default=8104, ge=0, le=65535)
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to SQLite (WAL) at DATA_DIR/node.sqlite3.",
    )
    bootstrap_token: str | None = Field(
        default=None,
        description="Becomes the first admin API token when the node has none.",
    )

    # Observability (docs/observability.md).
    log_format: LogFormat = Field(
        default=LogFormat.TEXT, description="'json' writes one JSON object per log line."
    )
    metrics_token: str | None = Field(
        default=None,
        min_length=16,
        description="Bearer token a monitoring host presents to read /metrics; without it, "
        "/metrics answers loopback callers only.",
    )

    # Ingest limits.
    max_request_bytes: int = Field(default=4096 * MiB, gt=0)
    max_instance_bytes: int = Field(default=1024 * MiB, gt=0)
    fsync: bool = Field(
        default=True,
        description="fsync every stored file and its directory before the row commits.",
    )
    ingest_workers: int | None = Field(
        default=None,
        ge=0,
        le=64,
        description="Worker processes that parse and de-identify received instances; 0 does "
        "it on the receiving thread; unset uses one per core beyond two (up to 4) on 4+ cores.",
    )

    # DIMSE C-STORE SCP; disabled when dicom_port is None.
    dicom_port: int | None = Field(default=None, ge=0, le=65535)
    ae_title: str = "HARMONIA"
    allow_ae: list[str] = Field(default_factory=list)

    # De-identification (PS3.15 Annex E) options, per site.
    retain_longitudinal_modified_dates: bool = False
    retain_patient_characteristics: bool = False
    private_tag_safelist: list[str] = Field(
        default_factory=list,
        description="Private attributes to keep, as 'gggg,\"Creator\",ee' (empty by default).",
    )
    relink_public_key: Path | None = Field(
        default=None,
        description="PEM X25519 public key; when set, pseudonym->identity links are kept, "
        "sealed so that only the holder of the private key (hospital IT) can read them.",
    )

    # Users, browser sessions and sign-in lockout.
    session_cookie_secure: bool = Field(
        default=True,
        description="Mark the session cookie Secure (browsers still send it to "
        "http://127.0.0.1 and localhost); only the development profile may turn it off.",
    )
    session_idle_minutes: float = Field(default=30, gt=0)
    session_absolute_hours: float = Field(default=12, gt=0)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: float = Field(default=15, gt=0)
    password_min_length: int = Field(default=12, ge=8)

    # Consortium: how often serve syncs signed guideline releases (when enrolled).
    guideline_sync_minutes: float = Field(
        default=15,
        gt=0,
        description="Minutes between guideline syncs while enrolled; errors back off from "
        "30 s up to this interval. The first sync starts with serve, without delaying it.",
    )
    health_report_minutes: float = Field(
        default=15,
        gt=0,
        description="Minutes between health reports to the coordinator while enrolled "
        "(versions, uptime and store counters, through the egress gate as kind health); "
        "the first goes about 5 s after serve starts, errors back off from 30 s.",
    )

    # Flower: how the SuperNode runs (enrolled nodes; node.supernode_launcher).
    flower_supernode_launcher: bool = Field(
        default=True,
        description="Run Flower's SuperNode through Harmonia's launcher (shorter waits, a "
        "lighter ClientApp process, rejoining at once after a kill); false: Flower's own "
        "flower-supernode, unadjusted (e.g. if the launcher refuses an unexpected Flower).",
    )
    flower_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        le=3,
        description="Seconds between the SuperNode's pulls for the next message while the node "
        "takes part in a run (it received a message in the last 5 min); an idle node pulls "
        "every 3 s, Flower's default. Each pull is one request to the consortium's SuperLink.",
    )

    # AI drafts in the background (enrolled nodes: the learning service runs them).
    background_drafts: bool = Field(
        default=True,
        description="Whether serve runs the newest pulled model on the open tasks of projects "
        "whose drafts are on, as studies arrive and when a newer model is pulled "
        "(false: only 'harmonia-node assist run' makes drafts).",
    )
    background_drafts_seconds: float = Field(
        default=30,
        gt=0,
        description="Seconds between the background drafts' looks for unscored open tasks.",
    )

    # Fault injection for the robust-aggregation tests (development profile only).
    fault_corrupt_updates: str | None = Field(
        default=None,
        pattern=r"^scale:[-+0-9.eE]+$",
        description="Development only: 'scale:F' multiplies every model update this node "
        "releases by F, after its clipping (a misbehaving site, for robust-aggregation tests).",
    )

    @field_validator("fault_corrupt_updates")
    @classmethod
    def _valid_corruption(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                factor = float(value.removeprefix("scale:"))
            except ValueError:
                raise ValueError(
                    f"{value!r}: give 'scale:F' with a number F, e.g. scale:1e6"
                ) from None
            if factor != factor or factor in (float("inf"), float("-inf")):
                raise ValueError(f"{value!r}: the factor must be finite")
        return value

    @field_validator("ae_title", "allow_ae")
    @classmethod
    def _valid_ae_titles(cls, value: str | list[str]) -> str | list[str]:
        for title in [value] if isinstance(value, str) else value:
            if not 0 < len(title.strip()) <= 16 or "\\" in title:
                raise ValueError(f"AE title {title!r} must be 1-16 characters without '\\'")
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> NodeSettings:
        if self.profile is DeploymentProfile.PRODUCTION:
            if self.fault_corrupt_updates is not None:
                raise ConfigurationError(
                    "production profile: fault_corrupt_updates corrupts this node's model "
                    "updates and exists only for tests; unset HARMONIA_NODE_FAULT_CORRUPT_UPDATES",
                    setting="fault_corrupt_updates",
                )
            if self.dicom_port is not None and not self.allow_ae:
                raise ConfigurationError(
                    "production profile: set at least one --allow-ae for the C-STORE SCP",
                    setting="allow_ae",
                )
            if not self.fsync:
                raise ConfigurationError(
                    "production profile: fsync cannot be disabled", setting="fsync"
                )
            if not self.session_cookie_secure:
                raise ConfigurationError(
                    "production profile: the session cookie must be Secure; serve the node "
                    "over HTTPS (or on 127.0.0.1) instead",
                    setting="session_cookie_secure",
                )
        return self

    @property
    def resolved_ingest_workers(self) -> int:
        """Worker processes to run: the setting, or one per core beyond two, up to 4.

        A worker costs about 3 ms of extra CPU per instance (the pipe and the
        second process), which only pays when the serving process and the
        sender leave cores idle: measured on 2 cores, ingest on the receiving
        thread was faster than with workers.
        """
        if self.ingest_workers is not None:
            return self.ingest_workers
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        return min(cores - 2, 4) if cores >= 4 else 0

    @property
    def update_corruption(self) -> float | None:
        """The factor of ``fault_corrupt_updates`` (None: updates leave as trained)."""
        if self.fault_corrupt_updates is None:
            return None
        return float(self.fault_corrupt_updates.removeprefix("scale:"))

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'node.sqlite3').resolve()}"

    @property
    def blob_dir(self) -> Path:
        """Where content-addressed instance files live."""
        return self.data_dir / "instances"

    @property
    def secrets_dir(self) -> Path:
        """Where the node keeps the keys it generated for itself (mode 0700)."""
        return self.data_dir / "secrets"
