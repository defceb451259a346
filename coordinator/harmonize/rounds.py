"""Where the harmonization report finds statistics-round results.

The federated statistics round hands its outcome over as a
:class:`~shared.schemas.harmonization.RoundResult` and calls
:meth:`RoundResultStore.add`; the report reads them back per guideline.
:class:`SqlRoundResults` keeps them in the coordinator's database,
:class:`InMemoryRoundResults` in a list (tests, sandboxes);
:func:`round_result_store` picks one.
"""

from __future__ import annotations

import json
from typing import Protocol

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from coordinator.errors import RoundResultExistsError
from coordinator.store.harmonization_tables import RoundResultRow
from shared.schemas.harmonization import RoundResult

__all__ = [
    "InMemoryRoundResults",
    "RoundResultStore",
    "SqlRoundResults",
    "round_result_store",
]


class RoundResultStore(Protocol):
    """Round results, added once each and read back per guideline."""

    def add(self, result: RoundResult) -> None:
        """Store one round's result."""
        ...

    def results(self, guideline: str) -> list[RoundResult]:
        """The results of ``guideline``'s rounds, oldest first."""
        ...


class InMemoryRoundResults:
    """Round results in a list."""

    def __init__(self) -> None:
        self._results: list[RoundResult] = []

    def add(self, result: RoundResult) -> None:
        """Store one round's result."""
        if any(r.round_id == result.round_id for r in self._results):
            raise RoundResultExistsError(f"round {result.round_id} is already stored")
        self._results.append(result)

    def results(self, guideline: str) -> list[RoundResult]:
        """The results of ``guideline``'s rounds, oldest first."""
        return [r for r in self._results if r.guideline == guideline]


class SqlRoundResults:
    """Round results in the coordinator's database (table ``round_results``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, result: RoundResult) -> None:
        """Store one round's result."""
        row = RoundResultRow(
            round_id=result.round_id,
            guideline=result.guideline,
            version=result.version,
            completed_at=result.completed_at,
            content=json.dumps(result.to_json(), sort_keys=True),
        )
        try:
            with Session(self.engine) as session, session.begin():
                session.add(row)
        except IntegrityError:
            raise RoundResultExistsError(
                f"round {result.round_id} is already stored; a round's result never changes"
            ) from None

    def results(self, guideline: str) -> list[RoundResult]:
        """The results of ``guideline``'s rounds, oldest first."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(RoundResultRow.content)
                .where(RoundResultRow.guideline == guideline)
                .order_by(RoundResultRow.id)
            ).scalars()
            return [RoundResult.from_json(json.loads(content)) for content in rows]


def round_result_store(engine: Engine | None) -> RoundResultStore:
    """The SQL store over ``engine``, or an in-memory one without an engine."""
    return InMemoryRoundResults() if engine is None else SqlRoundResults(engine)
