"""The allowlist of what may leave a node, and the schema each kind's payload must fit.

Every kind admits numbers, a few fixed keys, and strings from closed sets
only (identifiers that match a strict pattern, the guideline's own label
names and category codes, coded values); there is no free-text field anywhere.
A payload that does not fit is refused with
:class:`~node.errors.EgressRefusedError` naming the kind and the field, never
the value. The checks live in :mod:`node.egress.payloads`.

========================  ==========  ============================================
kind                      purpose     payload
========================  ==========  ============================================
model_update              training    ``arrays`` {name: float array, or int8 with
                                      ``metadata.compression`` int8}, ``metadata``
evaluation_metrics        training    ``metrics`` {``count``, ``<figure>_sum``}: a
                                      site's noised validation figures
agreement_statistics      statistics  ``guideline``, ``statistics`` [{label,
                                      statistic, arrays}] (``shared.agreement``
                                      statistics types, by their ``to_arrays``)
diversity_statistics      statistics  ``histograms`` {name: {edges|categories,
                                      counts}}
calibration_annotations   —           annotations of the coordinator's public
                                      calibration cases, comment-free
health                    —           versions and counters
enrollment_request        —           ``site``, ``csr_pem``, ``supernode_public_key_pem``;
                                      optional ``token`` (the one-time enrollment
                                      token, ``hce.<site>.<secret>``)
guideline_ack             —           ``guideline``, ``sha256``, ``status``
secure_aggregation        —           a secure sum's public ``layout`` (guideline
                                      vocabulary, fixed bins, shapes), or SecAgg+
                                      protocol traffic: ``stage`` and ``protocol``
                                      (public keys, encrypted key shares, node ids,
                                      masked integer vectors) with an optional
                                      ``receipt`` of the ledgered releases inside
========================  ==========  ============================================
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from node.egress.budget import Purpose
from node.errors import EgressRefusedError
from shared.schemas import Guideline

__all__ = [
    "PURPOSE_OF",
    "KindRules",
    "MessageKind",
    "Vocabulary",
    "parse_kind",
    "vocabulary_of",
]


class MessageKind(enum.StrEnum):
    """The message kinds a node may send out; nothing else leaves."""

    MODEL_UPDATE = "model_update"
    EVALUATION_METRICS = "evaluation_metrics"
    AGREEMENT_STATISTICS = "agreement_statistics"
    DIVERSITY_STATISTICS = "diversity_statistics"
    CALIBRATION_ANNOTATIONS = "calibration_annotations"
    HEALTH = "health"
    ENROLLMENT_REQUEST = "enrollment_request"
    GUIDELINE_ACK = "guideline_ack"
    SECURE_AGGREGATION = "secure_aggregation"


PURPOSE_OF: Mapping[MessageKind, Purpose | None] = {
    MessageKind.MODEL_UPDATE: Purpose.TRAINING,
    MessageKind.EVALUATION_METRICS: Purpose.TRAINING,
    MessageKind.AGREEMENT_STATISTICS: Purpose.STATISTICS,
    MessageKind.DIVERSITY_STATISTICS: Purpose.STATISTICS,
    MessageKind.CALIBRATION_ANNOTATIONS: None,
    MessageKind.HEALTH: None,
    MessageKind.ENROLLMENT_REQUEST: None,
    MessageKind.GUIDELINE_ACK: None,
    # the statistics a masked vector encodes are charged when they are released into it
    MessageKind.SECURE_AGGREGATION: None,
}
"""The privacy budget each kind is charged to (None: public or non-statistical content)."""


@dataclass(frozen=True)
class Vocabulary:
    """The strings a guideline version lets out: its label names and category codes."""

    labels: frozenset[str]
    categories: frozenset[str]


def vocabulary_of(guideline: Guideline) -> Vocabulary:
    """The :class:`Vocabulary` of a loaded guideline version."""
    return Vocabulary(
        labels=frozenset(label.name for label in guideline.labels),
        categories=frozenset(c.code for label in guideline.labels for c in label.categories),
    )


def _none(*_args: str) -> None:
    return None


@dataclass(frozen=True)
class KindRules:
    """What the kinds' checks need to know about this node.

    Parameters
    ----------
    vocabulary
        ``(guideline name, version) -> Vocabulary`` of a guideline loaded on
        this node, or None: statistics and calibration annotations of an
        unknown guideline are refused.
    calibration_cases
        ``calibration set id -> case ids`` published by the coordinator, or None.
    max_model_bytes
        Upper bound on a model update's total array bytes.
    """

    vocabulary: Callable[[str, str], Vocabulary | None] = field(default=_none)
    calibration_cases: Callable[[str], frozenset[str] | None] = field(default=_none)
    max_model_bytes: int = 512 * 2**20


def parse_kind(kind: str) -> MessageKind:
    """``kind`` as a :class:`MessageKind`, or :class:`EgressRefusedError` if it is not one."""
    try:
        return MessageKind(kind)
    except ValueError:
        raise EgressRefusedError(
            "that is not a message kind this node sends; the allowed kinds are "
            f"{', '.join(MessageKind)}.",
            field="kind",
        ) from None
