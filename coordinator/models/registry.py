"""The model registry: global model versions and the training runs that made them.

:class:`ModelRegistry` keeps, per model name, numbered versions
(:class:`ModelVersion`): the training plan, the guideline version the sites
trained under, the contributing sites, the privacy each site reported spending
(epsilon, delta per release, as charged by its egress gate), the metrics per
round and at the end, the aggregation used, and the SHA-256 of the weights
(stored content-addressed by :class:`~coordinator.models.WeightStore`). Versions
are never changed once written.

A :class:`TrainingRun` records a ``round train`` run from its start: each
completed round is appended to its history as it happens, so a run that stops
early (a coordinator restarted mid-run) ends ``interrupted`` with the rounds it
completed, instead of vanishing.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from coordinator.errors import NotFoundError
from coordinator.models.weights import WeightStore
from coordinator.store.model_tables import ModelVersionRow, TrainingRunRow
from shared.errors import InvalidInputError
from shared.weights import decode_weights

__all__ = ["ModelRegistry", "ModelVersion", "RunStatus", "TrainingRun"]


class RunStatus(enum.StrEnum):
    """Where a training run stands."""

    RUNNING = "running"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


@dataclass(frozen=True)
class ModelVersion:
    """One registered global model version (the facts its model card shows)."""

    name: str
    version: int
    run_id: str
    created_at: datetime
    plan: dict[str, Any]
    guideline: str
    guideline_version: str
    aggregation: str
    secure_aggregation: bool
    rounds: int
    sites: tuple[str, ...]
    privacy: dict[str, Any]
    metrics: dict[str, Any]
    weights_sha256: str
    weights_bytes: int
    parameters: int

    @property
    def imported_from(self) -> str | None:
        """Where an imported version's weights come from; None for a version a run made."""
        imported = self.metrics.get("imported")
        return str(imported.get("source", "")) if isinstance(imported, dict) else None

    def to_json(self) -> dict[str, Any]:
        """The version as JSON (the admin API's and ``model show``'s answer)."""
        return {
            "name": self.name,
            "version": self.version,
            "run_id": self.run_id,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "plan": self.plan,
            "guideline": {"name": self.guideline, "version": self.guideline_version},
            "aggregation": self.aggregation,
            "secure_aggregation": self.secure_aggregation,
            "rounds": self.rounds,
            "sites": list(self.sites),
            "privacy": self.privacy,
            "metrics": self.metrics,
            "weights": {
                "sha256": self.weights_sha256,
                "bytes": self.weights_bytes,
                "parameters": self.parameters,
            },
        }

    @classmethod
    def from_row(cls, row: ModelVersionRow) -> ModelVersion:
        """From its table row."""
        return cls(
            name=row.name,
            version=row.version,
            run_id=row.run_id,
            created_at=_aware(row.created_at),
            plan=json.loads(row.plan),
            guideline=row.guideline,
            guideline_version=row.guideline_version,
            aggregation=row.aggregation,
            secure_aggregation=row.secure_aggregation,
            rounds=row.rounds,
            sites=tuple(json.loads(row.sites)),
            privacy=json.loads(row.privacy),
            metrics=json.loads(row.metrics),
            weights_sha256=row.weights_sha256,
            weights_bytes=row.weights_bytes,
            parameters=row.parameters,
        )


@dataclass(frozen=True)
class TrainingRun:
    """A training run's recorded state."""

    run_id: str
    model: str
    status: RunStatus
    plan: dict[str, Any]
    config: dict[str, Any]
    rounds_requested: int
    rounds_completed: int
    history: tuple[dict[str, Any], ...]
    message: str
    started_at: datetime
    ended_at: datetime | None
    model_version: int | None

    def to_json(self) -> dict[str, Any]:
        """The run as JSON."""
        return {
            "run_id": self.run_id,
            "model": self.model,
            "status": str(self.status),
            "plan": self.plan,
            "config": self.config,
            "rounds_requested": self.rounds_requested,
            "rounds_completed": self.rounds_completed,
            "history": list(self.history),
            "message": self.message,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "ended_at": self.ended_at.isoformat(timespec="seconds") if self.ended_at else None,
            "model_version": self.model_version,
        }

    @classmethod
    def from_row(cls, row: TrainingRunRow) -> TrainingRun:
        """From its table row."""
        return cls(
            run_id=row.run_id,
            model=row.model,
            status=RunStatus(row.status),
            plan=json.loads(row.plan),
            config=json.loads(row.config),
            rounds_requested=row.rounds_requested,
            rounds_completed=row.rounds_completed,
            history=tuple(json.loads(row.history)),
            message=row.message,
            started_at=_aware(row.started_at),
            ended_at=_aware(row.ended_at) if row.ended_at else None,
            model_version=row.model_version,
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=False)


def _check_name(name: str) -> str:
    if not (
        isinstance(name, str)
        and 0 < len(name) <= 64
        and name[0].isalnum()
        and all(c.isalnum() or c in "-_." for c in name)
    ):
        raise InvalidInputError(
            f"model name {name!r}: use up to 64 letters, digits and '-_.', starting with a "
            "letter or digit"
        )
    return name


class ModelRegistry:
    """Model versions and training runs in the coordinator's database.

    Parameters
    ----------
    engine
        The coordinator's database.
    weights
        Where the weight files live.
    clock
        The current time (timezone-aware).
    """

    def __init__(
        self,
        engine: Engine,
        weights: WeightStore,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.weights = weights
        self._clock = clock

    # -- training runs -------------------------------------------------------------------------

    def start_run(
        self,
        run_id: str,
        *,
        model: str,
        plan: Mapping[str, Any],
        config: Mapping[str, Any],
        rounds: int,
    ) -> TrainingRun:
        """Record a run that is starting."""
        row = TrainingRunRow(
            run_id=run_id,
            model=_check_name(model),
            status=str(RunStatus.RUNNING),
            plan=_dumps(dict(plan)),
            config=_dumps(dict(config)),
            rounds_requested=rounds,
            rounds_completed=0,
            history="[]",
            message="",
            started_at=self._clock(),
        )
        with Session(self.engine) as session, session.begin():
            session.add(row)
            session.flush()
            return TrainingRun.from_row(row)

    def record_round(self, run_id: str, entry: Mapping[str, Any]) -> TrainingRun:
        """Append one completed round's progress entry to the run's history."""
        with Session(self.engine) as session, session.begin():
            row = self._run_row(session, run_id)
            history = json.loads(row.history)
            history.append(dict(entry))
            row.history = _dumps(history)
            row.rounds_completed = len(history)
            return TrainingRun.from_row(row)

    def end_run(
        self,
        run_id: str,
        status: RunStatus,
        message: str = "",
        *,
        model_version: int | None = None,
    ) -> TrainingRun:
        """Record how the run ended (once; a run already ended keeps its first ending)."""
        with Session(self.engine) as session, session.begin():
            row = self._run_row(session, run_id)
            if row.status == str(RunStatus.RUNNING):
                row.status = str(RunStatus(status))
                row.message = message
                row.ended_at = self._clock()
                row.model_version = model_version
            return TrainingRun.from_row(row)

    def run(self, run_id: str) -> TrainingRun:
        """One run (``NotFoundError`` if unknown)."""
        with Session(self.engine) as session:
            return TrainingRun.from_row(self._run_row(session, run_id))

    def runs(self) -> list[TrainingRun]:
        """Every run, oldest first."""
        with Session(self.engine) as session:
            rows = session.scalars(select(TrainingRunRow).order_by(TrainingRunRow.id))
            return [TrainingRun.from_row(row) for row in rows]

    @staticmethod
    def _run_row(session: Session, run_id: str) -> TrainingRunRow:
        row = session.scalar(select(TrainingRunRow).where(TrainingRunRow.run_id == run_id))
        if row is None:
            raise NotFoundError(f"no training run {run_id!r}; 'round runs' lists them")
        return row

    # -- model versions ------------------------------------------------------------------------

    def register(
        self,
        name: str,
        *,
        run_id: str,
        plan: Mapping[str, Any],
        guideline: tuple[str, str],
        aggregation: str,
        secure_aggregation: bool,
        rounds: int,
        sites: Sequence[str],
        privacy: Mapping[str, Any],
        metrics: Mapping[str, Any],
        weights: bytes,
    ) -> ModelVersion:
        """Store ``weights`` and register them as ``name``'s next version.

        Raises
        ------
        InvalidInputError
            A bad model name, or ``weights`` that are not a weights file.
        """
        arrays, _ = decode_weights(weights)
        digest = self.weights.put(weights)
        for _attempt in range(5):
            try:
                return self._insert(
                    _check_name(name),
                    run_id=run_id,
                    plan=plan,
                    guideline=guideline,
                    aggregation=aggregation,
                    secure_aggregation=secure_aggregation,
                    rounds=rounds,
                    sites=sites,
                    privacy=privacy,
                    metrics=metrics,
                    digest=digest,
                    size=len(weights),
                    parameters=sum(int(a.size) for a in arrays.values()),
                )
            except IntegrityError:  # a concurrent register took the number: take the next
                continue
        raise InvalidInputError(f"could not number a new version of {name!r}; try again")

    def _insert(self, name: str, **facts: Any) -> ModelVersion:
        with Session(self.engine) as session, session.begin():
            latest = session.scalar(
                select(func.max(ModelVersionRow.version)).where(ModelVersionRow.name == name)
            )
            row = ModelVersionRow(
                name=name,
                version=(latest or 0) + 1,
                run_id=facts["run_id"],
                created_at=self._clock(),
                plan=_dumps(dict(facts["plan"])),
                guideline=facts["guideline"][0],
                guideline_version=facts["guideline"][1],
                aggregation=facts["aggregation"],
                secure_aggregation=bool(facts["secure_aggregation"]),
                rounds=int(facts["rounds"]),
                sites=_dumps(sorted(facts["sites"])),
                privacy=_dumps(dict(facts["privacy"])),
                metrics=_dumps(dict(facts["metrics"])),
                weights_sha256=facts["digest"],
                weights_bytes=facts["size"],
                parameters=facts["parameters"],
            )
            session.add(row)
            session.flush()
            return ModelVersion.from_row(row)

    def names(self) -> list[str]:
        """The registered model names."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(ModelVersionRow.name).distinct().order_by(ModelVersionRow.name)
            )
            return list(rows)

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        """Every version (of ``name``), oldest first."""
        query = select(ModelVersionRow).order_by(ModelVersionRow.name, ModelVersionRow.version)
        if name is not None:
            query = query.where(ModelVersionRow.name == name)
        with Session(self.engine) as session:
            return [ModelVersion.from_row(row) for row in session.scalars(query)]

    def get(self, name: str, version: int | None = None) -> ModelVersion:
        """Version ``version`` of ``name`` (its newest when None).

        Raises
        ------
        NotFoundError
            No such model or version.
        """
        query = select(ModelVersionRow).where(ModelVersionRow.name == name)
        if version is None:
            query = query.order_by(ModelVersionRow.version.desc()).limit(1)
        else:
            query = query.where(ModelVersionRow.version == version)
        with Session(self.engine) as session:
            row = session.scalar(query)
            if row is None:
                which = f"version {version} of {name!r}" if version else f"model {name!r}"
                raise NotFoundError(f"no {which} in the registry; 'model list' shows what is there")
            return ModelVersion.from_row(row)

    def weights_of(self, version: ModelVersion) -> bytes:
        """The version's weight file, verified against its SHA-256."""
        return self.weights.get(version.weights_sha256)
