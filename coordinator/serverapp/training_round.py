"""One training round on the grid: send, collect, check, aggregate; and the final evaluation.

:class:`RoundRunner` keeps what the run learns about its sites across rounds:
which rounds each contributed to, the privacy each reported spending (the
charges its egress gate ledgered), the bytes it sent, and the guideline
version it trained under.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import Context, Message
from flwr.serverapp import Grid

from coordinator.serverapp.training_aggregation import AggregationSettings, aggregate_updates
from coordinator.serverapp.training_exchange import Exchange, exchange
from coordinator.serverapp.training_records import (
    EVALUATION,
    TRAINING,
    SiteReply,
    read_reply,
    task_content,
)
from coordinator.serverapp.training_secure import secure_training_round
from shared.compression import CompressionError, decode_arrays
from shared.errors import ConfigurationError
from shared.schemas.training import TrainingPlan

__all__ = ["RoundOutcome", "RoundRunner", "TrainingConfig", "pool_evaluation"]

Arrays = dict[str, np.ndarray[Any, Any]]


@dataclass(frozen=True)
class TrainingConfig:
    """The run configuration ``round train`` passes (``--run-config``)."""

    run_id: str
    run_dir: Path
    plan_json: str
    project: str
    rounds: int
    min_sites: int
    expected_nodes: int
    registry_path: str = ""
    aggregation: str = "fedavg"
    trim_fraction: float = 0.2
    krum_malicious: int = 1
    secure_aggregation: bool = False
    wait_nodes_s: float = 30.0
    rejoin_wait_s: float = 5.0
    reply_timeout_s: float = 300.0
    poll_s: float = 0.1
    exchange: str = "fast"
    in_process: bool = False

    @classmethod
    def from_run_config(cls, config: Mapping[str, Any]) -> TrainingConfig:
        """From Flower's run config (keys as in the FAB's ``[tool.flwr.app.config]``)."""
        run_dir = Path(str(config["run-dir"]))
        return cls(
            run_id=str(config["run-id"]),
            run_dir=run_dir,
            plan_json=(run_dir / "plan.json").read_text(encoding="utf-8"),
            project=str(config["project"]),
            rounds=int(config["rounds"]),
            min_sites=int(config.get("min-sites", 1)),
            expected_nodes=int(config.get("expected-nodes", 0)),
            registry_path=str(config.get("registry-path", "")),
            aggregation=str(config.get("aggregation", "fedavg")),
            trim_fraction=float(config.get("trim-fraction", 0.2)),
            krum_malicious=int(config.get("krum-malicious", 1)),
            secure_aggregation=bool(config.get("secure-aggregation", False)),
            wait_nodes_s=float(config.get("wait-nodes-s", 30.0)),
            rejoin_wait_s=float(config.get("rejoin-wait-s", 5.0)),
            reply_timeout_s=float(config.get("reply-timeout-s", 300.0)),
            poll_s=float(config.get("poll-interval-s", 0.1)),
            exchange=str(config.get("exchange", "fast")),
            in_process=bool(config.get("in-process", False)),
        )


@dataclass
class RoundOutcome:
    """A round's progress entry, and the next global weights (None: the run stops)."""

    entry: dict[str, Any]
    weights: Arrays | None


def pool_evaluation(replies: list[SiteReply]) -> dict[str, Any]:
    """Evaluation sums pooled over the sites that released them, and per site.

    Each releasing site sends ``count`` and ``<metric>-sum`` (noised under its
    policy, so a small site's noised count may even be 0); the pooled metric is
    ``sum of sums / sum of counts`` when that count is positive. Per-site
    figures are shown for the sites whose policy released them
    (``status.per_site``), as ratios when their count is positive.
    """
    released = [r for r in replies if "count" in r.evaluation]
    total = math.fsum(r.evaluation["count"] for r in released)
    pooled: dict[str, float] = {}
    names = sorted({k for r in released for k in r.evaluation if k.endswith("-sum")})
    if total > 0:
        for name in names:
            pooled[name.removesuffix("-sum")] = (
                math.fsum(r.evaluation.get(name, 0.0) for r in released) / total
            )
    if released:
        pooled["count"] = total
    per_site: dict[str, dict[str, float | None]] = {}
    for r in released:
        if not r.status.get("per_site"):
            continue
        count = r.evaluation["count"]
        figures: dict[str, float | None] = {"count": count}
        for name in names:
            value = r.evaluation.get(name)
            figures[name.removesuffix("-sum")] = (
                value / count if value is not None and count > 0 else None
            )
        per_site[r.site] = figures
    withheld = sorted(r.site for r in replies if r.ok and r.site not in per_site)
    return {"pooled": pooled, "sites": per_site, "withheld": withheld}


def _site_weights(reply: SiteReply, weights: Arrays) -> list[np.ndarray[Any, Any]]:
    """The site's new weights: its decoded update added to ``weights`` (or taken as is)."""
    decoded = decode_arrays(
        list(reply.update.values()), str(reply.status.get("compression", "none"))
    )
    if len(decoded) != len(weights):
        raise ValueError(f"{len(decoded)} arrays for a model of {len(weights)}")
    arrays = []
    for array, (name, current) in zip(decoded, weights.items(), strict=True):
        if array.shape != current.shape:
            raise ValueError(
                f"array {name} has shape {array.shape}, the model's is {current.shape}"
            )
        base = np.asarray(current, dtype=np.float32)
        arrays.append(base + array if reply.is_delta else array)
    return arrays


class RoundRunner:
    """Runs the rounds of one training run and remembers each site's part in it."""

    def __init__(
        self,
        grid: Grid,
        config: TrainingConfig,
        aggregation: AggregationSettings,
        registry: Mapping[int, str],
        context: Context | None = None,
    ) -> None:
        self.context = context
        self.grid = grid
        self.config = config
        self.aggregation = aggregation
        self.registry = dict(registry)
        self._sites: dict[str, dict[str, Any]] = {}
        self._guideline: tuple[str, str] = ("", "")

    def _site_config(self, server_round: int) -> dict[str, Any]:
        return {
            "plan": self.config.plan_json,
            "project": self.config.project,
            "run-id": self.config.run_id,
            "round-id": f"{self.config.run_id}.r{server_round}",
            "server-round": server_round,
            "in-process": self.config.in_process,
        }

    def _send(self, nodes: list[int], task: str, weights: Arrays, server_round: int) -> Exchange:
        config = self._site_config(server_round)
        message_type = "train" if task == TRAINING else "evaluate"
        if self.config.exchange == "send-and-receive":  # Flower's default loop (benchmark only)
            started = time.monotonic()
            messages = [
                Message(
                    task_content(task, weights, config),
                    dst_node_id=n,
                    message_type=message_type,
                    group_id=str(config["round-id"]),
                )
                for n in nodes
            ]
            replies = list(
                self.grid.send_and_receive(messages, timeout=self.config.reply_timeout_s)
            )
            by_node = {r.metadata.src_node_id: r for r in replies}
            return Exchange(
                replies=by_node,
                missing=sorted(set(nodes) - set(by_node)),
                wall_s=time.monotonic() - started,
            )
        return exchange(
            self.grid,
            nodes,
            lambda _node: task_content(task, weights, config),
            message_type=message_type,
            group_id=str(config["round-id"]),
            timeout_s=self.config.reply_timeout_s,
            poll_s=self.config.poll_s,
            rejoin_s=self.config.rejoin_wait_s,
        )

    def _read(self, result: Exchange) -> tuple[list[SiteReply], dict[str, str], list[str]]:
        replies: list[SiteReply] = []
        refused: dict[str, str] = {}
        missing = [self.registry.get(node, f"node-{node}") for node in result.missing]
        for node, message in sorted(result.replies.items()):
            site = self.registry.get(node, f"node-{node}")
            if message.has_error():
                missing.append(site)
                continue
            reply = read_reply(site, message.content)
            if not reply.ok:
                refused[reply.site] = (
                    f"{reply.status.get('error', 'Refused')}: {reply.status.get('message', '')}"
                )
                continue
            replies.append(reply)
        return replies, refused, sorted(missing)

    def _record_site(self, reply: SiteReply, server_round: int | None) -> None:
        facts = self._sites.setdefault(
            reply.site,
            {
                "rounds": [],
                "epsilon": 0.0,
                "delta": 0.0,
                "releases": 0,
                "bytes": 0,
                "mechanisms": [],
            },
        )
        if server_round is not None:
            facts["rounds"].append(server_round)
        facts["bytes"] += reply.bytes_total
        for epsilon, delta, mechanism in reply.charges:
            facts["epsilon"] += epsilon
            facts["delta"] += delta
            facts["releases"] += 1
            if mechanism and mechanism not in facts["mechanisms"]:
                facts["mechanisms"].append(mechanism)
        if reply.guideline[0]:
            self._guideline = reply.guideline

    def _train_secure(self, server_round: int, nodes: list[int], weights: Arrays) -> RoundOutcome:
        """A round under SecAgg+ (:mod:`~coordinator.serverapp.training_secure`)."""
        started = time.monotonic()
        if self.context is None:
            raise ConfigurationError(
                "a secure round needs the ServerApp's context", setting="secure_aggregation"
            )
        outcome = secure_training_round(
            self.grid,
            self.context,
            nodes,
            weights,
            self._site_config(server_round),
            plan=TrainingPlan.from_json(self.config.plan_json),
            registry=self.registry,
            timeout_s=self.config.reply_timeout_s,
            poll_s=self.config.poll_s,
        )
        for reply in outcome.replies:
            self._record_site(reply, server_round)
        entry: dict[str, Any] = {
            "round": server_round,
            "answered": sorted(r.site for r in outcome.replies),
            "refused": {},
            "missing": sorted(outcome.dropped),
            "dropped": outcome.dropped,
            "examples": {},
            "bytes": {r.site: r.bytes_total for r in outcome.replies},
            "privacy": {
                r.site: [{"epsilon": e, "delta": d, "mechanism": m} for e, d, m in r.charges]
                for r in outcome.replies
            },
            "train_loss": None,
            "evaluation_of_received": pool_evaluation([]),
            "secure": outcome.facts,
        }
        count = len(outcome.replies)
        if outcome.mean_update is None or count < max(self.config.min_sites, 1):
            entry.update(
                aggregated=False,
                message=(
                    f"round {server_round}: "
                    + str(
                        outcome.facts.get("message")
                        or f"only {count} site update(s) in the secure sum, the run needs at "
                        f"least {self.config.min_sites} (--min-sites)"
                    )
                ),
                wall_s=round(time.monotonic() - started, 3),
            )
            return RoundOutcome(entry, None)
        merged = {
            name: np.asarray(current, dtype=np.float32) + delta
            for (name, current), delta in zip(weights.items(), outcome.mean_update, strict=True)
        }
        entry.update(aggregated=True, wall_s=round(time.monotonic() - started, 3))
        return RoundOutcome(entry, merged)

    def train_round(self, server_round: int, nodes: list[int], weights: Arrays) -> RoundOutcome:
        """Send ``weights`` for local training to ``nodes``; aggregate what comes back."""
        if self.config.secure_aggregation:
            return self._train_secure(server_round, nodes, weights)
        started = time.monotonic()
        result = self._send(nodes, TRAINING, weights, server_round)
        replies, refused, missing = self._read(result)
        updated: list[tuple[list[np.ndarray[Any, Any]], int]] = []
        for reply in list(replies):
            try:
                arrays = _site_weights(reply, weights)
            except (CompressionError, ValueError) as error:
                refused[reply.site] = f"UpdateMismatch: {error}"
                replies.remove(reply)
                continue
            updated.append((arrays, reply.examples))
            self._record_site(reply, server_round)
        examples = {r.site: r.examples for r in replies}
        total = sum(examples.values())
        entry: dict[str, Any] = {
            "round": server_round,
            "answered": sorted(r.site for r in replies),
            "refused": dict(sorted(refused.items())),
            "missing": missing,
            "asked_again": sorted(self.registry.get(n, f"node-{n}") for n in result.asked_again),
            "examples": examples,
            "bytes": {r.site: r.bytes_total for r in replies},
            "privacy": {
                r.site: [{"epsilon": e, "delta": d, "mechanism": m} for e, d, m in r.charges]
                for r in replies
            },
            "train_loss": (
                math.fsum(r.metrics.get("train-loss", 0.0) * r.examples for r in replies) / total
                if total
                else None
            ),
            "evaluation_of_received": pool_evaluation(replies),
            "push_s": round(result.push_s, 3),
            "exchange_s": round(result.wall_s, 3),
        }
        if len(updated) < max(self.config.min_sites, 1):
            entry.update(
                aggregated=False,
                message=(
                    f"round {server_round}: only {len(updated)} site update(s), the run needs at "
                    f"least {self.config.min_sites} (--min-sites); refused: "
                    f"{sorted(refused) or 'none'}, missing: {missing or 'none'}"
                ),
                wall_s=round(time.monotonic() - started, 3),
            )
            return RoundOutcome(entry, None)
        merged = aggregate_updates(updated, self.aggregation)
        entry.update(aggregated=True, wall_s=round(time.monotonic() - started, 3))
        return RoundOutcome(entry, dict(zip(weights, merged, strict=True)))

    def evaluate(self, nodes: list[int], weights: Arrays) -> dict[str, Any]:
        """The final model's evaluation on the sites' validation consensus."""
        result = self._send(nodes, EVALUATION, weights, self.config.rounds + 1)
        replies, refused, missing = self._read(result)
        for reply in replies:
            if reply.site in self._sites:
                self._record_site(reply, None)
        return {**pool_evaluation(replies), "refused": refused, "missing": missing}

    def contributions(self) -> dict[str, dict[str, Any]]:
        """Per site: rounds contributed, privacy spent (summed charges), releases, bytes."""
        return dict(sorted(self._sites.items()))

    def guideline(self) -> list[str]:
        """The guideline ``[name, version]`` the sites trained under."""
        return list(self._guideline)
