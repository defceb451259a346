"""The coordinator's settings: one class, read once at start, refusing unsafe defaults.

Values come from keyword arguments (the CLI), then ``HARMONIA_COORDINATOR_*``
environment variables, then the defaults below. The defaults embed everything a
coordinator needs on one machine: SQLite and its keys under ``data_dir``.

The coordinator listens on two ports (see ``docs/coordinator-guide.md``):

* ``host:port``, plain HTTP: the admin API (bearer tokens), enrollment and
  health. Bound to 127.0.0.1 by default; in production put a TLS reverse proxy
  in front of it and give nodes its ``https://`` URL.
* ``site_host:site_port``, HTTPS with a client certificate *required*: the
  site-facing API. The server certificate comes from the consortium CA; only
  certificates that CA issued pass the TLS handshake, and the app then refuses
  revoked or unknown ones.
"""

from __future__ import annotations

import enum
import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.errors import ConfigurationError
from shared.observability import LogFormat

__all__ = ["CoordinatorSettings", "DeploymentProfile"]

_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class DeploymentProfile(enum.StrEnum):
    """How strictly the coordinator treats insecure settings."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CoordinatorSettings(BaseSettings):
    """Everything configurable about the consortium coordinator."""

    model_config = SettingsConfigDict(env_prefix="HARMONIA_COORDINATOR_", extra="forbid")

    data_dir: Path
    profile: DeploymentProfile = DeploymentProfile.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(default=8200, ge=0, le=65535)
    site_host: str = "127.0.0.1"
    site_port: int = Field(default=8443, ge=0, le=65535)
    site_api_url: str | None = Field(
        default=None,
        description="The https:// URL nodes use for the site-facing API; defaults to "
        "https://SITE_HOST:SITE_PORT.",
    )
    public_url: str | None = Field(
        default=None,
        description="The URL nodes enroll at (printed by 'site add'); defaults to "
        "http://HOST:PORT.",
    )
    server_names: list[str] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1"],
        description="DNS names and IP addresses the site API's TLS certificate names.",
    )
    fleet_address: str = Field(
        default="",
        description="host:port of the Flower Fleet API nodes connect to; defaults to "
        "FLEET_HOST:FLEET_PORT (the Fleet proxy) when FLOWER is on, else empty.",
    )
    flower: bool = Field(
        default=False,
        description="Supervise the Flower SuperLink (loopback only) and serve its Fleet API "
        "through the Fleet proxy on FLEET_HOST:FLEET_PORT.",
    )
    fleet_host: str = "127.0.0.1"
    fleet_port: int = Field(default=9092, ge=0, le=65535)
    superlink_port: int = Field(
        default=9093, ge=0, le=65535, description="The SuperLink's own port, on 127.0.0.1."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to SQLite (WAL) at DATA_DIR/coordinator.sqlite3.",
    )
    bootstrap_token: str | None = Field(
        default=None,
        description="Becomes the first coordinator-admin token when there is none.",
    )
    enrollment_token_hours: float = Field(default=24, gt=0)
    certificate_days: float = Field(default=365, gt=0)
    fsync: bool = True
    capture_dir: Path | None = Field(
        default=None,
        description="Development and tests only: append every byte the admin, site and Fleet "
        "listeners receive (after TLS) to files in this directory, one per connection.",
    )
    log_format: LogFormat = Field(
        default=LogFormat.TEXT, description="'json' writes one JSON object per log line."
    )
    metrics_token: str | None = Field(
        default=None,
        min_length=16,
        description="Bearer token a monitoring host presents to read /metrics; without it, "
        "/metrics answers loopback callers only.",
    )

    @field_validator("site_api_url", "public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _site_certificate_names_the_site_url(self) -> CoordinatorSettings:
        host = urlsplit(self.resolved_site_api_url).hostname or ""
        if host not in self.server_names:
            raise ConfigurationError(
                f"nodes will call the site API at {host!r}, but its TLS certificate would name "
                f"only {', '.join(self.server_names)}; add {host!r} to server_names",
                setting="server_names",
            )
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> CoordinatorSettings:
        if self.profile is not DeploymentProfile.PRODUCTION:
            return self
        if not _is_loopback(self.host):
            raise ConfigurationError(
                "production profile: the admin API speaks plain HTTP, so bind it to 127.0.0.1 "
                "and put a TLS reverse proxy in front of it",
                setting="host",
            )
        if not self.public_url or not self.public_url.startswith("https://"):
            raise ConfigurationError(
                "production profile: set public_url to the https:// address of the reverse "
                "proxy in front of the admin API; nodes enroll there",
                setting="public_url",
            )
        if self.bootstrap_token is not None and len(self.bootstrap_token) < 32:
            raise ConfigurationError(
                "production profile: a chosen bootstrap token must be at least 32 characters",
                setting="bootstrap_token",
            )
        if self.enrollment_token_hours > 24 * 7:
            raise ConfigurationError(
                "production profile: enrollment tokens may live at most 7 days (168 hours)",
                setting="enrollment_token_hours",
            )
        if not self.fsync:
            raise ConfigurationError(
                "production profile: fsync cannot be disabled", setting="fsync"
            )
        if self.capture_dir is not None:
            raise ConfigurationError(
                "production profile: capture_dir records every byte the nodes send; it is for "
                "development and tests only",
                setting="capture_dir",
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'coordinator.sqlite3').resolve()}"

    @property
    def resolved_public_url(self) -> str:
        """Where nodes enroll (and admins call the API)."""
        return self.public_url or f"http://{_url_host(self.host)}:{self.port}"

    @property
    def resolved_site_api_url(self) -> str:
        """Where enrolled nodes call the site-facing API (mTLS)."""
        return self.site_api_url or f"https://{_url_host(self.site_host)}:{self.site_port}"

    @property
    def resolved_fleet_address(self) -> str:
        """The Fleet API address nodes are given at enrollment (empty: no Flower here)."""
        if self.fleet_address or not self.flower:
            return self.fleet_address
        return f"{_url_host(self.fleet_host)}:{self.fleet_port}"

    @property
    def secrets_dir(self) -> Path:
        """The CA key, the guideline-signing key and the server key (mode 0700)."""
        return self.data_dir / "secrets"


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):  # a wildcard bind is reached on loopback
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
