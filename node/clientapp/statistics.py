"""The ClientApp's statistics work: the query answer and the secure-sum contribution.

:func:`answer_query` serves a round's ``query`` message: the secure sum's
layout when the round will sum securely (``secure``), and a per-site release
when the coordinator asks for one (``per-site``) and the site's policy allows
it (``allow_per_site_release``); otherwise it says per-site figures are not
released. It returns the gated form (:func:`node.clientapp.records.gated_records`).

:func:`secure_contribution` serves the statistics branch of the default
``train`` handler, in SecAgg+'s masked-vector stage: the legacy fit result
whose parameters are the site's limb vector (``num_examples`` = 1, the
workflow's ``max_weight``, so SecAgg+ sums the vectors with weight exactly 1)
and whose metrics are the receipt of the ledgered releases it encodes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flwr.app import Context, RecordDict
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters
from flwr.compat.common import recorddict_compat as compat

from node.clientapp.records import gated_records
from node.stats import (
    StatisticsPolicy,
    StatisticsRequest,
    describe_statistics,
    release_statistics,
    secure_statistics,
)
from shared.errors import HarmoniaError

__all__ = ["answer_query", "secure_contribution"]


def _where(context: Context) -> tuple[str, Path]:
    return str(context.node_config.get("site", "")), Path(str(context.node_config["data-path"]))


def answer_query(config: dict[str, Any], context: Context) -> RecordDict:
    """The gated answer to a statistics query (refusals are part of the envelope)."""
    site, data_dir = _where(context)
    envelope: dict[str, Any] = {"ok": True, "site": site}
    released: list[tuple[str, bytes]] = []
    try:
        request = StatisticsRequest.from_config(config)
    except (KeyError, TypeError, ValueError):
        return gated_records(
            {**envelope, "ok": False, "error": "InvalidInputError", "message": "bad request"}, []
        )
    secure = bool(config.get("secure", False))
    per_site = bool(config.get("per-site", True))
    envelope["secure"] = "not-requested"
    if secure:
        try:
            released.append(("secure_aggregation", describe_statistics(data_dir, request).data))
            envelope["secure"] = "ready"
        except HarmoniaError as refusal:
            envelope.update(
                ok=False, secure="refused", error=type(refusal).__name__, message=str(refusal)
            )
    policy = StatisticsPolicy.load(data_dir)
    if not per_site:
        envelope["per_site"] = "not-requested"
    elif policy is not None and not policy.allow_per_site_release:
        envelope["per_site"] = "not-allowed"
    elif envelope["ok"]:
        try:
            released.extend((r.kind, r.data) for r in release_statistics(data_dir, request))
            envelope["per_site"] = "released"
        except HarmoniaError as refusal:
            envelope.update(
                ok=False, per_site="refused", error=type(refusal).__name__, message=str(refusal)
            )
    else:
        envelope["per_site"] = "refused"
    return gated_records(envelope, released)


def secure_contribution(config: dict[str, Any], context: Context) -> RecordDict:
    """The legacy fit result carrying the site's limb vector (and the receipt of its releases)."""
    _site, data_dir = _where(context)
    contribution = secure_statistics(data_dir, StatisticsRequest.from_config(config))
    receipt: dict[str, Any] = {}
    for release in contribution.releases:
        receipt[f"{release.kind}.bytes"] = len(release.data)
        receipt[f"{release.kind}.sha256"] = hashlib.sha256(release.data).hexdigest()
        if release.charge is not None:
            receipt[f"{release.kind}.epsilon"] = release.charge.epsilon
            receipt[f"{release.kind}.delta"] = release.charge.delta
            receipt[f"{release.kind}.mechanism"] = release.charge.mechanism
    fitres = FitRes(
        status=Status(code=Code.OK, message=""),
        parameters=ndarrays_to_parameters([contribution.vector]),
        num_examples=1,
        metrics=receipt,
    )
    return compat.fitres_to_recorddict(fitres, keep_input=False)
