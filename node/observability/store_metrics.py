"""Metrics read from the node's store at each scrape: what it holds and what left it.

These are true for the whole data directory, whichever process wrote them
(``serve``, a command-line import or pull, the Flower ClientApp), and survive
restarts, because they are counts of append-only records:

=================================================  =====================================
``harmonia_node_instances{path}``                  instances held, by ingest path
``harmonia_node_annotation_revisions_total{action}``  annotation saves (``save``) and deletions
                                                   (``delete``: tombstone revisions)
``harmonia_node_egress_messages_total{kind,outcome}``  egress ledger entries (released, refused)
``harmonia_node_egress_bytes_total{kind,outcome}``     bytes of those messages
``harmonia_node_rounds_answered_total``            distinct federated rounds the node released
                                                   data for
=================================================  =====================================

Each scrape runs four aggregate queries; on SQLite the instance count scans
the ``instances`` table (about 0.1 s per million instances).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import cast

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, Table, case, func, select

from node.store.annotation_tables import AnnotationRevisionRow
from node.store.egress_tables import EgressLedgerRow
from node.store.schema import InstanceRow

__all__ = ["NodeStoreCollector"]

_instances = cast(Table, InstanceRow.__table__)
_revisions = cast(Table, AnnotationRevisionRow.__table__)
_ledger = cast(Table, EgressLedgerRow.__table__)

_PATH_OF_SOURCE = case(
    (_instances.c.source.like("stow:%"), "stow"),
    (_instances.c.source.like("dimse:%"), "cstore"),
    (_instances.c.source.like("import:%"), "import"),
    (_instances.c.source.like("pull:%"), "pull"),
    (_instances.c.source.like("calibration%"), "calibration"),
    else_="other",
)


def _families() -> tuple[
    GaugeMetricFamily, CounterMetricFamily, CounterMetricFamily, CounterMetricFamily,
    CounterMetricFamily,
]:  # fmt: skip
    return (
        GaugeMetricFamily(
            "harmonia_node_instances",
            "Instances held in the store, by the path they came in on.",
            labels=["path"],
        ),
        CounterMetricFamily(
            "harmonia_node_annotation_revisions",
            "Annotation revisions saved (action=save) and deletions (action=delete).",
            labels=["action"],
        ),
        CounterMetricFamily(
            "harmonia_node_egress_messages",
            "Egress ledger entries, by message kind and outcome (released, refused).",
            labels=["kind", "outcome"],
        ),
        CounterMetricFamily(
            "harmonia_node_egress_bytes",
            "Bytes of the messages in the egress ledger, by kind and outcome.",
            labels=["kind", "outcome"],
        ),
        CounterMetricFamily(
            "harmonia_node_rounds_answered",
            "Federated rounds this node released data for (distinct round ids in the ledger).",
        ),
    )


class NodeStoreCollector(Collector):
    """A Prometheus collector reading the node's store at each scrape.

    Parameters
    ----------
    engine
        Returns the node's database engine, or None while the node is not open
        (then the families are reported without samples).
    """

    def __init__(self, engine: Callable[[], Engine | None]) -> None:
        self._engine = engine

    def describe(self) -> Iterator[Metric]:
        """The families, without querying the store."""
        yield from _families()

    def collect(self) -> Iterator[Metric]:
        """Query the store and report its counts."""
        instances, revisions, messages, sent, rounds = _families()
        engine = self._engine()
        if engine is not None:
            with engine.connect() as connection:
                held: dict[str, int] = dict(
                    connection.execute(
                        select(_PATH_OF_SOURCE, func.count()).group_by(_PATH_OF_SOURCE)
                    ).all()
                )
                saved: dict[bool, int] = dict(
                    connection.execute(
                        select(_revisions.c.tombstone, func.count()).group_by(
                            _revisions.c.tombstone
                        )
                    ).all()
                )
                ledger = connection.execute(
                    select(
                        _ledger.c.kind,
                        _ledger.c.outcome,
                        func.count(),
                        func.coalesce(func.sum(_ledger.c.byte_count), 0),
                    ).group_by(_ledger.c.kind, _ledger.c.outcome)
                ).all()
                answered = connection.execute(
                    select(func.count(func.distinct(_ledger.c.round_id))).where(
                        _ledger.c.round_id.is_not(None), _ledger.c.outcome == "released"
                    )
                ).scalar_one()
            for path in ("stow", "cstore", "import", "pull", "calibration", "other"):
                instances.add_metric([path], float(held.get(path, 0)))
            revisions.add_metric(["save"], float(saved.get(False, 0)))
            revisions.add_metric(["delete"], float(saved.get(True, 0)))
            for kind, outcome, count, byte_count in ledger:
                messages.add_metric([kind, outcome], float(count))
                sent.add_metric([kind, outcome], float(byte_count))
            rounds.add_metric([], float(answered))
        yield from (instances, revisions, messages, sent, rounds)
