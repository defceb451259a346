"""A site's part of a secure sum: the public layout first, then the noised, charged contribution.

A secure statistics round asks every node twice:

1. :func:`describe_statistics` — the **layout** of the secure sum for the
   project's guideline version (:class:`~shared.privacy.StatisticsLayout`:
   labels, statistics, category codes, fixed bins, array shapes; no data of
   the site), released through the gate as ``secure_aggregation`` (stage
   ``layout``). It also checks that the site's budget can pay for the
   contribution, so a site that cannot is left out before the secure sum
   starts instead of dropping out in the middle of it.
2. :func:`secure_statistics` — the **contribution**: the agreement and
   diversity payloads, complete (every slot of the layout) and, unless the
   round is noise-free, bounded and noised, each released through the gate
   (charged to the ``statistics`` budget and ledgered, destination
   ``superlink/secure-sum``), then encoded from the gate's very bytes as the
   limb vector (:mod:`shared.privacy.secure_sum`) that SecAgg+ masks. The
   ledger thus shows each statistics release once, with its charge, and the
   masked vector (``secure_aggregation``) without one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from node.egress import EgressGate, MessageKind, PrivacyCharge, Purpose, decode_payload
from node.egress.budget import check_budget
from node.errors import EgressRefusedError
from node.quality import ProjectData
from node.settings import NodeSettings
from node.stats.agreement import agreement_payload
from node.stats.diversity import empty_diversity
from node.stats.privacy import gaussian_charge
from node.stats.release import (
    Release,
    StatisticsRequest,
    open_statistics,
    statistics_payloads,
)
from shared.privacy import StatisticsLayout

__all__ = [
    "SECURE_DESTINATION",
    "SecureContribution",
    "describe_statistics",
    "secure_statistics",
    "statistics_layout",
]

SECURE_DESTINATION = "superlink/secure-sum"
"""The ledger's destination of statistics released into a secure sum."""


@dataclass(frozen=True)
class SecureContribution:
    """What a site adds to a secure sum: the limb vector and the releases it encodes."""

    vector: NDArray[np.float64]
    releases: tuple[Release, ...]
    layout: StatisticsLayout


def statistics_layout(data: ProjectData) -> StatisticsLayout:
    """The secure-sum layout of ``data``'s guideline version (computed from no data at all)."""
    template = replace(data, pairs=())
    return StatisticsLayout.from_payloads(
        agreement_payload(template, complete=True), empty_diversity(data)
    )


def _charges(layout: StatisticsLayout, request: StatisticsRequest) -> list[PrivacyCharge]:
    z, delta = request.noise_multiplier, request.delta
    return [
        gaussian_charge(z, len(layout.entries), delta),
        gaussian_charge(z, len(layout.histograms), delta),
    ]


def _check_affordable(gate: EgressGate, charges: list[PrivacyCharge]) -> None:
    budget = gate.budgets.get(Purpose.STATISTICS)
    since = None
    if budget is not None and budget.period is not None:
        since = (datetime.now(UTC) - budget.period).isoformat(timespec="microseconds")
    with gate.engine.connect() as connection:
        spent = gate.ledger.charges(
            connection, site=gate.site, purpose=Purpose.STATISTICS, since=since
        )
    cost = gate.accountant.compose(charges)
    check_budget(
        kind="secure statistics",
        purpose=Purpose.STATISTICS,
        budget=budget,
        before=gate.accountant.compose(spent),
        after=gate.accountant.compose([*spent, *charges]),
        charge=PrivacyCharge(cost.epsilon, cost.delta, "composed"),
    )


def describe_statistics(
    data_dir: Path, request: StatisticsRequest, *, settings: NodeSettings | None = None
) -> Release:
    """Release the secure sum's layout for ``request.project`` (checking the site can pay).

    Raises
    ------
    EgressRefusedError
        A noise-free request the site's policy does not allow.
    BudgetExceededError
        The contribution would pass the site's statistics budget.
    NotFoundError
        No such project on this node.
    """
    with open_statistics(data_dir, request, settings) as opened:
        layout = statistics_layout(opened.data)
        if not opened.noise_free:
            _check_affordable(opened.gate, _charges(layout, request))
        payload: dict[str, Any] = {"stage": "layout", "layout": layout.to_json()}
        data = opened.gate.release(
            str(MessageKind.SECURE_AGGREGATION),
            payload,
            "superlink",
            round_id=request.round_id,
        )
        return Release(str(MessageKind.SECURE_AGGREGATION), data, None)


def secure_statistics(
    data_dir: Path, request: StatisticsRequest, *, settings: NodeSettings | None = None
) -> SecureContribution:
    """Compute, noise, charge and release the contribution; encode the gate's bytes.

    Raises
    ------
    EgressRefusedError
        The round's guideline version is not the project's, a noise-free
        request the policy does not allow, or any refusal of the gate.
    BudgetExceededError
        The release would pass the site's statistics budget.
    """
    with open_statistics(data_dir, request, settings) as opened:
        layout = statistics_layout(opened.data)
        if (request.guideline, request.version) != layout.guideline:
            raise EgressRefusedError(
                f"refused to add to the secure sum: the round sums {request.guideline} "
                f"{request.version}, but project {request.project} reads under "
                f"{layout.guideline[0]} {layout.guideline[1]} here.",
                field="guideline",
            )
        releases = []
        decoded = {}
        for kind, payload, charge in statistics_payloads(opened, request, complete=True):
            data = opened.gate.release(
                str(kind), payload, SECURE_DESTINATION, round_id=request.round_id, privacy=charge
            )
            releases.append(Release(str(kind), data, charge))
            decoded[kind] = decode_payload(data)
        vector = layout.encode(
            decoded[MessageKind.AGREEMENT_STATISTICS], decoded[MessageKind.DIVERSITY_STATISTICS]
        )
        return SecureContribution(vector, tuple(releases), layout)
