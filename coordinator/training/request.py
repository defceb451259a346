"""What a training run is asked to do, checked before anything is recorded (Flower-free).

:class:`TrainingRequest` holds the plan and the run's options (``round train``'s
command line, or the admin API's body); :meth:`TrainingRequest.check` refuses
what cannot work, saying why. :class:`Aggregation` names the aggregation
rules; the rules themselves are :mod:`coordinator.serverapp.training_aggregation`.
:func:`guideline_plan` finds a plan declared in a published guideline.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from coordinator.errors import TrainingRequestError
from shared.schemas.training import TrainingPlan

if TYPE_CHECKING:
    from coordinator.guidelines import GuidelineReleases

__all__ = ["Aggregation", "TrainingRequest", "check_aggregation", "guideline_plan"]


class Aggregation(enum.StrEnum):
    """How the sites' updates become the next global model."""

    FEDAVG = "fedavg"
    FEDMEDIAN = "fedmedian"
    TRIMMED_MEAN = "trimmed-mean"
    KRUM = "krum"

    @property
    def robust(self) -> bool:
        """Whether it needs each site's individual update."""
        return self is not Aggregation.FEDAVG


def check_aggregation(rule: Aggregation, *, secure_aggregation: bool) -> None:
    """Refuse a robust rule together with secure aggregation.

    Raises
    ------
    TrainingRequestError
        Saying why and what to choose instead (a ``ConfigurationError`` too).
    """
    if secure_aggregation and rule.robust:
        raise TrainingRequestError(
            f"--aggregation {rule} cannot run with --secure-aggregation: a robust rule needs "
            "each site's individual update, and SecAgg+ shows the coordinator only their sum. "
            "Choose one: SecAgg+ with fedavg, or a robust rule without SecAgg+.",
            setting="aggregation",
        )


@dataclass(frozen=True)
class TrainingRequest:
    """A training run to start.

    Parameters
    ----------
    plan
        The training plan.
    project
        The project whose consensus labels train it on the nodes.
    rounds, min_sites
        Rounds to run; the updates a round needs.
    aggregation, secure_aggregation
        The aggregation rule; whether updates are summed with SecAgg+.
    from_model
        ``NAME[:VERSION]`` of a registered model to start from (else a fresh one).
    expected_nodes
        Nodes to wait for (default: every registered SuperNode).
    options
        Further run-config values of the training app, by their names
        (``trim-fraction``, ``krum-malicious``, ``wait-nodes-s``, ``rejoin-wait-s``,
        ``reply-timeout-s``, ``exchange``, ``in-process``).
    """

    plan: TrainingPlan
    project: str
    rounds: int
    min_sites: int = 1
    aggregation: Aggregation = Aggregation.FEDAVG
    secure_aggregation: bool = False
    from_model: str | None = None
    expected_nodes: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Refuse a request that cannot work.

        Raises
        ------
        TrainingRequestError
            A robust rule with SecAgg+, SecAgg+ with a plan that sets no
            ``update_clip_norm``, rounds or minimum sites below 1, no project, a
            bad ``--from-model``, a negative ``--expected-nodes`` or
            ``--krum-malicious``, a ``--trim-fraction`` outside [0, 0.5).
        """
        check_aggregation(self.aggregation, secure_aggregation=self.secure_aggregation)
        if self.secure_aggregation and self.plan.update_clip_norm is None:
            raise TrainingRequestError(
                "--secure-aggregation needs a plan with update_clip_norm: SecAgg+ quantizes each "
                "coordinate within [-clip, clip], and only a clipped update has such a bound",
                setting="update_clip_norm",
            )
        if self.rounds < 1 or self.min_sites < 1:
            raise TrainingRequestError(
                "--rounds and --min-sites must be at least 1", setting="rounds"
            )
        if self.expected_nodes is not None and self.expected_nodes < 0:
            raise TrainingRequestError(
                "--expected-nodes must be 0 or more", setting="expected_nodes"
            )
        if not self.project.strip():
            raise TrainingRequestError(
                "name the project whose consensus labels train the model", setting="project"
            )
        trim = self.options.get("trim-fraction", 0.2)
        if not 0.0 <= float(trim) < 0.5:
            raise TrainingRequestError(
                f"--trim-fraction {trim}: give a fraction in [0, 0.5)", setting="trim_fraction"
            )
        if int(self.options.get("krum-malicious", 1)) < 0:
            raise TrainingRequestError(
                "--krum-malicious must be 0 or more", setting="krum_malicious"
            )
        if self.from_model is not None:
            self.model_source()

    def model_source(self) -> tuple[str, int | None] | None:
        """``from_model`` as (name, version or None for the newest), or None."""
        if self.from_model is None:
            return None
        name, _, version = self.from_model.partition(":")
        if not name or (version and not version.isdigit()):
            raise TrainingRequestError(
                f"--from-model {self.from_model!r}: give NAME or NAME:VERSION (a number)",
                setting="from_model",
            )
        return name, int(version) if version else None


def guideline_plan(
    guidelines: GuidelineReleases, guideline: str, version: str | None, plan: str
) -> TrainingPlan:
    """The training plan ``plan`` declared in the published guideline (its newest version).

    Raises
    ------
    NotFoundError
        No such release.
    TrainingRequestError
        The release declares no plan of that name.
    """
    if version is None:
        versions = guidelines.versions(guideline)
        if not versions:
            raise TrainingRequestError(
                f"no published guideline {guideline!r}: publish it first, or send the plan itself",
                setting="guideline",
            )
        version = versions[-1]
    release = guidelines.guideline(guideline, version)
    found = release.training_plan(plan)
    if found is None:
        declared = ", ".join(p.name for p in release.training_plans) or "none"
        raise TrainingRequestError(
            f"guideline {guideline}@{version} declares no training plan {plan!r} "
            f"(it declares: {declared})",
            setting="plan",
        )
    return found
