"""Answering a statistics request: compute, noise, charge and release through the gate.

:func:`release_statistics` opens the node's store (reading the project through
a read-only SQLite connection where the store is SQLite), computes the
agreement statistics (:mod:`node.stats.agreement`) and the diversity
histograms (:mod:`node.stats.diversity`), noises them with the Gaussian
mechanism (:mod:`node.stats.privacy`) unless the request is noise-free, and
passes each payload through the :class:`~node.egress.EgressGate`, which
charges its ``(epsilon, delta)`` to the site's ``statistics`` budget (composed
by :class:`~node.stats.privacy.RdpAccountant`) and ledgers it. Only the bytes
the gate returns are handed back.

The site's policy lives in ``DATA_DIR/statistics-policy.json``
(:class:`StatisticsPolicy`): the budget, its period, and whether noise-free
releases are allowed — only ever on a development-profile node, for the
exactness tests. Without a policy file no statistics leave the node.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
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
from node.quality import load_project
from node.settings import DeploymentProfile, NodeSettings
from node.stats.agreement import agreement_payload
from node.stats.diversity import diversity_payload
from node.stats.privacy import NoisedArray, RdpAccountant, gaussian_charge, noise_arrays
from node.store.database import create_database_engine

__all__ = [
    "POLICY_FILE",
    "Release",
    "StatisticsPolicy",
    "StatisticsRequest",
    "release_statistics",
]

POLICY_FILE = "statistics-policy.json"


@dataclass(frozen=True)
class StatisticsPolicy:
    """A site's statistics policy (``DATA_DIR/statistics-policy.json``)."""

    epsilon: float
    delta: float
    period_days: float | None = None
    allow_noise_free: bool = False

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
        )

    def budget(self) -> PrivacyBudget:
        """The ``statistics`` budget."""
        period = timedelta(days=self.period_days) if self.period_days else None
        return PrivacyBudget(self.epsilon, self.delta, period)


@dataclass(frozen=True)
class StatisticsRequest:
    """What the coordinator asks for (a round's configuration)."""

    project: str
    round_id: str
    noise: bool = True
    noise_multiplier: float = 4.0
    delta: float = 1e-6
    seed: int | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> StatisticsRequest:
        """From a Flower ConfigRecord's values."""
        seed = config.get("seed")
        return cls(
            project=str(config["project"]),
            round_id=str(config["round-id"]),
            noise=bool(config.get("noise", True)),
            noise_multiplier=float(config.get("noise-multiplier", 4.0)),
            delta=float(config.get("delta", 1e-6)),
            seed=int(seed) if isinstance(seed, int) and seed >= 0 else None,
        )


@dataclass(frozen=True)
class Release:
    """One released payload: its kind, the gate's bytes and the charge."""

    kind: str
    data: bytes
    charge: PrivacyCharge | None
    skipped: tuple[str, ...] = field(default=())


def _read_only(url: str) -> str:
    if url.startswith("sqlite:///") and "?" not in url:
        return f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    return url


def _agreement_plan(
    payload: dict[str, Any], readers: int, noise: bool
) -> tuple[dict[str, Any], dict[int, dict[str, NoisedArray]], list[str]]:
    pairs = max(readers * (readers - 1) // 2, 1)
    plans: dict[int, dict[str, NoisedArray]] = {}
    kept: list[dict[str, Any]] = []
    skipped: list[str] = []
    for entry in payload["statistics"]:
        if entry["statistic"] == "confusion":
            plan = {"counts": NoisedArray(float(pairs))}
        elif entry["statistic"] == "coincidence":
            plan = {"coincidences": NoisedArray(float(readers), integer=False, symmetric=True)}
        elif noise:
            skipped.append(f"{entry['label']}:{entry['statistic']}")
            continue
        else:
            plan = {}
        plans[len(kept)] = plan
        kept.append(entry)
    return {**payload, "statistics": kept}, plans, skipped


def _noise_agreement(
    payload: dict[str, Any],
    plans: dict[int, dict[str, NoisedArray]],
    z: float,
    rng: np.random.Generator,
) -> tuple[dict[str, Any], int]:
    count = 0
    entries = []
    for index, entry in enumerate(payload["statistics"]):
        plan = plans[index]
        count += len(plan)
        arrays = noise_arrays(entry["arrays"], plan, noise_multiplier=z, rng=rng)
        entries.append({**entry, "arrays": arrays})
    return {**payload, "statistics": entries}, count


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


def release_statistics(
    data_dir: Path,
    request: StatisticsRequest,
    *,
    destination: str = "superlink",
    settings: NodeSettings | None = None,
) -> list[Release]:
    """Compute, noise, charge and release the statistics of ``request.project``.

    Raises
    ------
    EgressRefusedError
        A noise-free request the site's policy (or profile) does not allow, or
        any refusal of the gate.
    BudgetExceededError
        The release would pass the site's statistics budget.
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
        return _release(
            engine, reader, settings, policy, request, destination, data_dir, noise_free
        )
    finally:
        reader.dispose()
        engine.dispose()


def _release(
    engine: Engine,
    reader: Engine,
    settings: NodeSettings,
    policy: StatisticsPolicy | None,
    request: StatisticsRequest,
    destination: str,
    data_dir: Path,
    noise_free: bool,
) -> list[Release]:
    data = load_project(reader, request.project)
    vocabularies = {(g.name, g.version): vocabulary_of(g) for g in data.guidelines.values()}
    vocabularies[(data.guideline.name, data.guideline.version)] = vocabulary_of(data.guideline)
    site = MembershipFiles(consortium_dir(data_dir)).membership().site
    gate = EgressGate(
        engine,
        site=site,
        rules=KindRules(vocabulary=lambda name, version: vocabularies.get((name, version))),
        budgets={Purpose.STATISTICS: policy.budget()} if policy else {},
        accountant=RdpAccountant(),
        require_privacy=not noise_free,
        ledger_key=site_ledger_key(settings.secrets_dir),
    )
    readers = max((len(task.readers) for task in data.tasks.values()), default=2)
    rng = np.random.default_rng(request.seed)
    agreement, plans, skipped = _agreement_plan(agreement_payload(data), readers, not noise_free)
    diversity = diversity_payload(reader, data, settings.blob_dir)
    z = request.noise_multiplier
    released: list[Release] = []
    for kind, payload, extra in (
        (MessageKind.AGREEMENT_STATISTICS, agreement, tuple(skipped)),
        (MessageKind.DIVERSITY_STATISTICS, diversity, ()),
    ):
        charge = None
        if kind is MessageKind.AGREEMENT_STATISTICS and not payload["statistics"]:
            continue
        if not noise_free:
            if kind is MessageKind.AGREEMENT_STATISTICS:
                payload, count = _noise_agreement(payload, plans, z, rng)
            else:
                payload, count = _noise_diversity(payload, len(data.guideline.labels), z, rng)
            charge = gaussian_charge(z, count, request.delta)
        data_bytes = gate.release(
            str(kind), payload, destination, round_id=request.round_id, privacy=charge
        )
        released.append(Release(str(kind), data_bytes, charge, extra))
    return released
