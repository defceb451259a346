"""The learning service's work for a round: train or evaluate, and release through the gate.

:class:`RoundWork` serves the ``train`` and ``evaluate`` operations of
:mod:`node.learn.service` (and, in the overhead benchmark's baseline, the
ClientApp process itself). It keeps each (project, plan)'s training data
loaded between rounds (reloaded when the consensus changes: the data's
fingerprint) and builds the node's :class:`~node.egress.EgressGate` with the
site's training budget (``DATA_DIR/training-policy.json``) and the
:class:`~node.learn.privacy.TrainingAccountant`.

``train``: the received global weights are evaluated on the local validation
split first (the figures of the model the site received), then
:func:`node.learn.train_local` trains — refusing the round before any
training if its DP cost would pass the budget — and the clipped update,
compressed as the plan says, leaves **only** through
``gate.release("model_update", ..., privacy=update.privacy)``: the gate checks,
charges and ledgers it, and its bytes are the reply's body.

Under SecAgg+ (``secure`` in the request) the update is released to
``superlink/secure-sum`` (:data:`node.stats.SECURE_DESTINATION`): charged and
ledgered here once, then encoded from the gate's bytes by the ClientApp and
masked by ``secaggplus_mod`` (the masked vector is ledgered as
``secure_aggregation``). No per-site evaluation goes with a secure update.

A development node with ``fault_corrupt_updates = "scale:F"`` multiplies its
update by F after clipping (the robust-aggregation test's misbehaving site);
the production profile refuses the setting.

Each ``train`` appends its data-load and compute seconds (training plus the
evaluation of the received weights) to ``DATA_DIR/learn/timings.jsonl``: the
round's compute, against which the federation's fixed cost per round is
measured (``benchmarks/federated_overhead.py``).

Evaluation figures leave per site only under the site's policy
(``"release_site_metrics": true`` in ``training-policy.json``): then as an
``evaluation_metrics`` release, noised with the Gaussian mechanism and charged
to the training budget; otherwise they are withheld.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from node.consortium import MembershipFiles, consortium_dir
from node.egress import EgressGate, Purpose, site_ledger_key
from node.learn.data import TrainingData, load_training_data
from node.learn.evaluation import evaluate_local
from node.learn.privacy import TRAINING_POLICY_FILE, TrainingAccountant, TrainingPolicy
from node.learn.training import train_local
from node.quality import load_project
from node.settings import NodeSettings
from node.stats import SECURE_DESTINATION
from node.stats.privacy import gaussian_charge
from node.store import create_database_engine
from shared.compression import encode_arrays
from shared.schemas.training import TrainingPlan
from shared.weights import decode_weights

__all__ = ["TIMINGS_FILE", "EvaluationPolicy", "RoundWork"]

TIMINGS_FILE = "timings.jsonl"
"""In ``DATA_DIR/learn``: one line per train request (round id, data load and compute seconds)."""

_FIGURES = ("loss", "dice", "accuracy")
_BOUNDS = {"loss": 5.0, "dice": 1.0, "accuracy": 1.0}


@dataclass(frozen=True)
class EvaluationPolicy:
    """Whether (and how noised) per-site evaluation figures may leave the node."""

    release: bool = False
    noise_multiplier: float = 2.0
    delta: float = 1e-6

    @classmethod
    def load(cls, data_dir: Path) -> EvaluationPolicy:
        """From ``training-policy.json`` (``release_site_metrics``, noise multiplier, delta)."""
        path = data_dir / TRAINING_POLICY_FILE
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            release=bool(data.get("release_site_metrics", False)),
            noise_multiplier=float(data.get("metrics_noise_multiplier", 2.0)),
            delta=float(data.get("metrics_delta", 1e-6)),
        )


class RoundWork:
    """Train and evaluate for the rounds of one node (one data directory)."""

    def __init__(self, data_dir: Path, *, settings: NodeSettings | None = None) -> None:
        self.data_dir = data_dir
        self.settings = settings or NodeSettings(data_dir=data_dir)
        self.engine = create_database_engine(
            self.settings.resolved_database_url, durable=self.settings.fsync
        )
        self.site = MembershipFiles(consortium_dir(data_dir)).membership().site
        self._data: dict[tuple[str, bytes, str], TrainingData] = {}

    def gate(self) -> EgressGate:
        """The node's egress gate with the site's training budget and the DP-SGD accountant."""
        policy = TrainingPolicy.load(self.data_dir)
        return EgressGate(
            self.engine,
            site=self.site,
            budgets={Purpose.TRAINING: policy.budget()} if policy else {},
            accountant=TrainingAccountant(),
            ledger_key=site_ledger_key(self.settings.secrets_dir),
        )

    def _training_data(self, project: str, plan: TrainingPlan, run_id: str) -> TrainingData:
        """The samples of ``project`` for ``plan``, loaded once per training run."""
        key = (project, plan.canonical_json(), run_id)
        cached = self._data.get(key)
        if cached is None:
            self._data = {k: v for k, v in self._data.items() if k[:2] != key[:2]}
            cached = self._data[key] = load_training_data(self.settings, project, plan)
        return cached

    def _guideline(self, project: str) -> tuple[str, str]:
        data = load_project(self.engine, project)
        return data.guideline.name, data.guideline.version

    def _evaluation(
        self,
        gate: EgressGate,
        project: str,
        plan: TrainingPlan,
        weights: list[Any],
        request: dict[str, Any],
    ) -> dict[str, Any]:
        """The figures of ``weights`` on the validation split, released per the site's policy."""
        policy = EvaluationPolicy.load(self.data_dir)
        if not policy.release:
            return {}
        data = self._training_data(project, plan, str(request.get("run_id", "")))
        figures = evaluate_local(
            self.data_dir, project, plan, weights, settings=self.settings, data=data
        )
        count = float(figures.get("num_examples", 0))
        sums = {"count": count}
        for name in _FIGURES:
            if name in figures:
                value = min(max(float(figures[name]), 0.0), _BOUNDS[name])
                sums[f"{name}_sum"] = value * count
        sensitivity = float(
            np.sqrt(1.0 + sum(_BOUNDS[n] ** 2 for n in _FIGURES if f"{n}_sum" in sums))
        )
        rng = np.random.default_rng()
        noised = {
            k: max(0.0, v + float(rng.normal(0.0, policy.noise_multiplier * sensitivity)))
            for k, v in sums.items()
        }
        charge = gaussian_charge(policy.noise_multiplier, 1, policy.delta)
        released = gate.release(
            "evaluation_metrics",
            {"metrics": noised},
            "superlink",
            round_id=str(request["round_id"]),
            privacy=charge,
        )
        return {"evaluation_release": base64.b64encode(released).decode("ascii")}

    def _record_timing(self, op: str, round_id: str, load_s: float, compute_s: float) -> None:
        """Append the work's timing to ``DATA_DIR/learn/timings.jsonl`` (what a round computed)."""
        folder = self.data_dir / "learn"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        line = {
            "op": op,
            "round_id": round_id,
            "load_s": round(load_s, 4),
            "compute_s": round(compute_s, 4),
            "pid": os.getpid(),
        }
        with (folder / TIMINGS_FILE).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, sort_keys=True) + "\n")

    def train(self, request: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
        """Train one round from the global weights in ``body``; the gate's bytes of the update."""
        plan = TrainingPlan.from_json(str(request["plan"]))
        project = str(request["project"])
        round_id = str(request["round_id"])
        arrays, _ = decode_weights(body)
        weights = list(arrays.values())
        gate = self.gate()
        loading = time.monotonic()
        data = self._training_data(project, plan, str(request.get("run_id", "")))
        computing = time.monotonic()
        update = train_local(
            self.data_dir,
            project,
            plan,
            weights,
            round_id=round_id,
            settings=self.settings,
            data=data,
            gate=gate,
        )
        secure = bool(request.get("secure", False))
        evaluation = {} if secure else self._evaluation(gate, project, plan, weights, request)
        self._record_timing("train", round_id, computing - loading, time.monotonic() - computing)
        outgoing = list(update.arrays)
        factor = self.settings.update_corruption
        if factor is not None:  # development-only fault injection (see the module docstring)
            outgoing = [np.asarray(a * factor, dtype=np.asarray(a).dtype) for a in outgoing]
        encoded = encode_arrays(outgoing, plan.compression)
        guideline = self._guideline(project)
        metadata: dict[str, Any] = {
            "guideline": guideline[0],
            "guideline_version": guideline[1],
            "compression": str(plan.compression),
            "update": "delta" if update.is_delta else "weights",
            "num_examples": int(update.num_examples),
            "train_loss": float(update.metrics.get("train_loss", 0.0)),
            "epochs": int(plan.local_epochs),
            "model": plan.name,
        }
        if plan.update_clip_norm is not None:
            metadata["clip_norm"] = float(plan.update_clip_norm)
        if plan.privacy is not None:
            metadata["noise_multiplier"] = float(plan.privacy.noise_multiplier)
        released = gate.release(
            "model_update",
            {"arrays": {f"u{i:04d}": a for i, a in enumerate(encoded)}, "metadata": metadata},
            SECURE_DESTINATION if secure else "superlink",
            round_id=round_id,
            privacy=update.privacy,
        )
        header: dict[str, Any] = {"ok": True, **evaluation}
        if update.privacy is not None:
            header["privacy"] = {
                "epsilon": float(update.privacy.epsilon),
                "delta": float(update.privacy.delta),
                "mechanism": str(update.privacy.mechanism),
            }
        return header, released

    def evaluate(self, request: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
        """Evaluate the weights in ``body``; the figures, released per the site's policy."""
        plan = TrainingPlan.from_json(str(request["plan"]))
        project = str(request["project"])
        arrays, _ = decode_weights(body)
        evaluation = self._evaluation(self.gate(), project, plan, list(arrays.values()), request)
        return {"ok": True, **evaluation}, b""
