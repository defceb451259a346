"""Answering a statistics request: compute, noise, charge and release through the gate.

:func:`release_statistics` makes a site's **per-site** release: it opens the
node's store (reading the project through a read-only SQLite connection where
the store is SQLite), computes the agreement statistics
(:mod:`node.stats.agreement`) and the diversity histograms
(:mod:`node.stats.diversity`), noises them with the Gaussian mechanism
(:mod:`node.stats.privacy`) unless the request is noise-free, and passes each
payload through the :class:`~node.egress.EgressGate`, which charges its
``(epsilon, delta)`` to the site's ``statistics`` budget (composed by
:class:`~node.stats.privacy.RdpAccountant`) and ledgers it. Only the bytes
the gate returns are handed back. The secure-sum release is
:mod:`node.stats.secure`; both share :func:`statistics_payloads` and
:func:`statistics_gate`.

The site's policy lives in ``DATA_DIR/statistics-policy.json``
(:class:`StatisticsPolicy`): the budget, its period, whether per-site
releases are allowed at all (``allow_per_site_release``, default off: then
the site's statistics leave only inside a secure sum), and whether
noise-free releases are allowed — only ever on a development-profile node,
for the exactness tests. Without a policy file no statistics leave the node.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from node.consortium import MembershipFiles, consortium_dir
from node.egress import (
    EgressGate,
    KindRules,
    MessageKind,
    PrivacyBudget,
    PrivacyCharge,
    Purpose,
    site_ledger_key,
    vocabulary_of,
)
from node.errors import EgressRefusedError
from node.quality import ProjectData, load_project
from node.settings import DeploymentProfile, NodeSettings
from node.stats.agreement import agreement_payload
from node.stats.bounded import bounded_plan, repair_detection
from node.stats.diversity import diversity_payload
from node.stats.privacy import NoisedArray, RdpAccountant, gaussian_charge, noise_arrays
from node.store.database import create_database_engine

__all__ = [
    "POLICY_FILE",
    "Release",
    "StatisticsPolicy",
    "StatisticsRequest",
    "open_statistics",
    "release_statistics",
    "statistics_gate",
    "statistics_payloads",
]

POLICY_FILE = "statistics-policy.json"


@dataclass(frozen=True)
class StatisticsPolicy:
    """A site's statistics policy (``DATA_DIR/statistics-policy.json``)."""

    epsilon: float
    delta: float
    period_days: float | None = None
    allow_noise_free: bool = False
    allow_per_site_release: bool = False

    @classmethod
    def load(cls, data_dir: Path) -> StatisticsPolicy | None:
        """The policy, or None when the site has not set one."""
        path = data_dir / POLICY_FILE
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            epsilon=float(data["epsilon"]),
            delta=float(data["delta"]),
            period_days=float(data["period_days"]) if data.get("period_days") else None,
            allow_noise_free=bool(data.get("allow_noise_free", False)),
            allow_per_site_release=bool(data.get("allow_per_site_release", False)),
        )

    def budget(self) -> PrivacyBudget:
        """The ``statistics`` budget."""
        period = timedelta(days=self.period_days) if self.period_days else None
        return PrivacyBudget(self.epsilon, self.delta, period)


@dataclass(frozen=True)
class StatisticsRequest:
    """What the coordinator asks for (a round's configuration).

    ``guideline``/``version`` name the guideline version of a secure sum's
    layout (the secure-sum release refuses statistics of any other version).
    """

    project: str
    round_id: str
    noise: bool = True
    noise_multiplier: float = 4.0
    delta: float = 1e-6
    seed: int | None = None
    guideline: str | None = None
    version: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> StatisticsRequest:
        """From a Flower ConfigRecord's values."""
        seed = config.get("seed")
        guideline = config.get("guideline")
        version = config.get("version")
        return cls(
            project=str(config["project"]),
            round_id=str(config["round-id"]),
            noise=bool(config.get("noise", True)),
            noise_multiplier=float(config.get("noise-multiplier", 4.0)),
            delta=float(config.get("delta", 1e-6)),
            seed=int(seed) if isinstance(seed, int) and seed >= 0 else None,
            guideline=str(guideline) if guideline else None,
            version=str(version) if version else None,
        )


@dataclass(frozen=True)
class Release:
    """One released payload: its kind, the gate's bytes and the charge."""

    kind: str
    data: bytes
    charge: PrivacyCharge | None
    skipped: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class OpenStatistics:
    """A project opened for a release: its data, the gate, the node's settings and policy."""

    data: ProjectData
    gate: EgressGate
    settings: NodeSettings
    policy: StatisticsPolicy | None
    reader: Engine
    noise_free: bool


def _read_only(url: str) -> str:
    if url.startswith("sqlite:///") and "?" not in url:
        return f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    return url


def statistics_gate(
    engine: Engine,
    settings: NodeSettings,
    data: ProjectData | None,
    policy: StatisticsPolicy | None,
    *,
    noise_free: bool = False,
) -> EgressGate:
    """The node's egress gate for a statistics round (every gate of a round is built here)."""
    vocabularies = {}
    if data is not None:
        vocabularies = {(g.name, g.version): vocabulary_of(g) for g in data.guidelines.values()}
        vocabularies[(data.guideline.name, data.guideline.version)] = vocabulary_of(data.guideline)
    site = MembershipFiles(consortium_dir(settings.data_dir)).membership().site
    return EgressGate(
        engine,
        site=site,
        rules=KindRules(vocabulary=lambda name, version: vocabularies.get((name, version))),
        budgets={Purpose.STATISTICS: policy.budget()} if policy else {},
        accountant=RdpAccountant(),
        require_privacy=not noise_free,
        ledger_key=site_ledger_key(settings.secrets_dir),
    )


@contextmanager
def open_statistics(
    data_dir: Path, request: StatisticsRequest, settings: NodeSettings | None = None
) -> Iterator[OpenStatistics]:
    """Open the store and the gate for ``request`` (checks the noise-free permission).

    Raises
    ------
    EgressRefusedError
        A noise-free request the site's policy (or profile) does not allow.
    NotFoundError
        No such project on this node.
    """
    settings = settings or NodeSettings(data_dir=data_dir)
    policy = StatisticsPolicy.load(data_dir)
    noise_free = not request.noise
    if noise_free and not (
        policy is not None
        and policy.allow_noise_free
        and settings.profile is DeploymentProfile.DEVELOPMENT
    ):
        raise EgressRefusedError(
            "refused a noise-free statistics request: this site's policy does not allow "
            "noise-free releases (only a development-profile node whose "
            f"{POLICY_FILE} sets allow_noise_free may). Ask for noised statistics.",
            field="noise",
        )
    engine = create_database_engine(settings.resolved_database_url, durable=settings.fsync)
    reader = create_database_engine(_read_only(settings.resolved_database_url), durable=False)
    try:
        data = load_project(reader, request.project)
        gate = statistics_gate(engine, settings, data, policy, noise_free=noise_free)
        yield OpenStatistics(data, gate, settings, policy, reader, noise_free)
    finally:
        reader.dispose()
        engine.dispose()


def _noise_agreement(
    payload: dict[str, Any], readers: int, z: float, rng: np.random.Generator
) -> tuple[dict[str, Any], int]:
    """Noise every statistic as one Gaussian mechanism each; the count of mechanisms."""
    pairs = max(readers * (readers - 1) // 2, 1)
    entries = []
    for entry in payload["statistics"]:
        statistic = entry["statistic"]
        plan: dict[str, NoisedArray]
        if statistic == "confusion":
            plan = {"counts": NoisedArray(float(pairs))}
        elif statistic == "coincidence":
            plan = {"coincidences": NoisedArray(float(readers), integer=False, symmetric=True)}
        else:
            plan = bounded_plan(statistic, str(np.asarray(entry["arrays"].get("score", "iou"))))
        arrays = noise_arrays(entry["arrays"], plan, noise_multiplier=z, rng=rng)
        for name in plan:  # 0-d fields stay 0-d arrays
            arrays[name] = np.asarray(arrays[name]).reshape(np.shape(entry["arrays"][name]))
        if statistic == "detection":
            arrays = repair_detection(arrays)
        entries.append({**entry, "arrays": arrays})
    return {**payload, "statistics": entries}, len(entries)


def _noise_diversity(
    payload: dict[str, Any], labels: int, z: float, rng: np.random.Generator
) -> tuple[dict[str, Any], int]:
    histograms = {}
    for name, histogram in payload["histograms"].items():
        sensitivity = math.sqrt(max(labels, 1)) if name == "label_prevalence" else 1.0
        histograms[name] = noise_arrays(
            histogram, {"counts": NoisedArray(sensitivity)}, noise_multiplier=z, rng=rng
        )
    return {**payload, "histograms": histograms}, len(histograms)


def statistics_payloads(
    opened: OpenStatistics, request: StatisticsRequest, *, complete: bool
) -> list[tuple[MessageKind, dict[str, Any], PrivacyCharge | None]]:
    """The agreement and diversity payloads of ``request``, noised unless noise-free.

    Noised payloads are always ``complete`` and ``bounded``
    (:func:`~node.stats.agreement.agreement_payload`): what a site releases then
    has a data-independent shape and a bounded sensitivity.
    """
    data = opened.data
    noised = not opened.noise_free
    agreement = agreement_payload(data, bounded=noised, complete=complete or noised)
    diversity = diversity_payload(opened.reader, data, opened.settings.blob_dir)
    if not noised:
        return [
            (MessageKind.AGREEMENT_STATISTICS, agreement, None),
            (MessageKind.DIVERSITY_STATISTICS, diversity, None),
        ]
    readers = max((len(task.readers) for task in data.tasks.values()), default=2)
    rng = np.random.default_rng(request.seed)
    z = request.noise_multiplier
    agreement, agreement_count = _noise_agreement(agreement, readers, z, rng)
    diversity, diversity_count = _noise_diversity(diversity, len(data.guideline.labels), z, rng)
    return [
        (
            MessageKind.AGREEMENT_STATISTICS,
            agreement,
            gaussian_charge(z, agreement_count, request.delta),
        ),
        (
            MessageKind.DIVERSITY_STATISTICS,
            diversity,
            gaussian_charge(z, diversity_count, request.delta),
        ),
    ]


def release_statistics(
    data_dir: Path,
    request: StatisticsRequest,
    *,
    destination: str = "superlink",
    settings: NodeSettings | None = None,
) -> list[Release]:
    """Compute, noise, charge and release a per-site release of ``request.project``.

    Raises
    ------
    EgressRefusedError
        The site's policy does not allow per-site releases, a noise-free
        request the policy (or profile) does not allow, or any refusal of the gate.
    BudgetExceededError
        The release would pass the site's statistics budget.
    NotFoundError
        No such project on this node.
    """
    policy = StatisticsPolicy.load(data_dir)
    if policy is not None and not policy.allow_per_site_release:
        raise EgressRefusedError(
            "refused a per-site statistics release: this site's policy does not allow "
            f"them ({POLICY_FILE}: allow_per_site_release is off), so its statistics leave "
            "only inside a secure sum. Ask for the secure round's totals.",
            field="per_site",
        )
    with open_statistics(data_dir, request, settings) as opened:
        released: list[Release] = []
        for kind, payload, charge in statistics_payloads(opened, request, complete=False):
            if kind is MessageKind.AGREEMENT_STATISTICS and not payload["statistics"]:
                continue
            data_bytes = opened.gate.release(
                str(kind), payload, destination, round_id=request.round_id, privacy=charge
            )
            released.append(Release(str(kind), data_bytes, charge))
        return released
