"""Opening a coordinator's data directory: the services every entry point shares.

:func:`open_coordinator` creates the data directory, the CA and the
guideline-signing key on first start (``DATA_DIR/secrets``, 0600, never
overwritten), migrates the database and wires the services.
"""

from __future__ import annotations

from datetime import timedelta
from types import TracebackType

from coordinator.auth import AdminSessionService, AdminTokenService, IssuedAdminToken, Role
from coordinator.consortium import (
    ConsortiumKeys,
    EnrollmentService,
    SiteActivity,
    SiteService,
    load_or_create_keys,
)
from coordinator.guidelines import GuidelineReleases
from coordinator.harmonize import (
    CalibrationSets,
    HarmonizationService,
    RoundResultStore,
    SqlRoundResults,
)
from coordinator.models import ModelRegistry, WeightStore
from coordinator.rounds import RoundHistory, RoundStore
from coordinator.settings import CoordinatorSettings
from coordinator.store import create_database_engine, migrate

__all__ = ["BOOTSTRAP_ADMIN", "CoordinatorRuntime", "open_coordinator"]

BOOTSTRAP_ADMIN = "admin"
"""The admin user the first token belongs to."""


class CoordinatorRuntime:
    """The open services of one coordinator data directory; close it when done."""

    def __init__(self, settings: CoordinatorSettings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.keys: ConsortiumKeys = load_or_create_keys(
            settings.secrets_dir, server_names=settings.server_names
        )
        self.engine = create_database_engine(settings.resolved_database_url, durable=settings.fsync)
        migrate(self.engine)
        self.tokens = AdminTokenService(self.engine)
        self.sessions = AdminSessionService(self.engine, self.tokens)
        self.sites = SiteService(
            self.engine, default_token_ttl=timedelta(hours=settings.enrollment_token_hours)
        )
        self.enrollment = EnrollmentService(
            self.engine,
            self.keys.ca,
            signing_public_key_pem=self.keys.signing_public_key_pem.decode("ascii"),
            fleet_address=settings.resolved_fleet_address,
            coordinator_url=settings.resolved_site_api_url,
            certificate_lifetime=timedelta(days=settings.certificate_days),
        )
        self.guidelines = GuidelineReleases(self.engine, self.keys.signing_key)
        self.calibration = CalibrationSets(self.engine, self.keys.signing_key, self.guidelines)
        self.round_results: RoundResultStore = SqlRoundResults(self.engine)
        self.harmonization = HarmonizationService(
            self.guidelines, self.calibration, self.round_results
        )
        self.models = ModelRegistry(
            self.engine, WeightStore(settings.data_dir / "models", fsync=settings.fsync)
        )
        self.site_activity = SiteActivity(self.engine)
        self.rounds = RoundHistory(RoundStore(settings.data_dir))

    def ensure_admin_token(self) -> IssuedAdminToken | None:
        """Create the first coordinator-admin token when there is none.

        ``settings.bootstrap_token`` becomes that token when set. Returns the
        issued token (the only time its secret is visible), or ``None``.
        """
        if self.tokens.count():
            return None
        return self.tokens.issue(
            BOOTSTRAP_ADMIN,
            role=Role.COORDINATOR_ADMIN,
            name="bootstrap-admin",
            token=self.settings.bootstrap_token,
        )

    def close(self) -> None:
        """Release the database."""
        self.engine.dispose()

    def __enter__(self) -> CoordinatorRuntime:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_coordinator(settings: CoordinatorSettings) -> CoordinatorRuntime:
    """Open (creating on first use) the coordinator described by ``settings``."""
    return CoordinatorRuntime(settings)
