"""Model cards, generated from a registered version's recorded facts only.

:func:`model_card` gives the card as JSON (sections: model, intended use,
training data, training procedure, privacy, evaluation, weights, caveats);
:func:`card_markdown` renders the same facts as Markdown. Nothing in a card is
written by hand, so it cannot drift from the registry.
"""

from __future__ import annotations

from typing import Any

from coordinator.models.registry import ModelVersion

__all__ = ["card_markdown", "model_card"]


def _plan_facts(plan: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "project",
        "model",
        "architecture",
        "labels",
        "label",
        "epochs",
        "local_epochs",
        "batch_size",
        "learning_rate",
        "optimizer",
        "dp",
        "privacy",
        "clip_norm",
        "noise_multiplier",
        "compression",
    )
    return {key: plan[key] for key in keys if key in plan}


def model_card(version: ModelVersion) -> dict[str, Any]:
    """The model card of ``version`` as JSON."""
    final = dict(version.metrics.get("final", {}))
    per_site = {
        site: facts
        for site, facts in version.metrics.get("sites", {}).items()
        if isinstance(facts, dict)
    }
    imported_from = version.imported_from
    if imported_from is not None:
        caveats = [
            f"Imported, not trained by the consortium: {imported_from}. No site's "
            "data trained it and no site's privacy budget paid for it.",
            "Not evaluated by the consortium; validate it on your own data before any use.",
        ]
    else:
        caveats = [
            "Trained on each site's local consensus labels, not on a reference standard: its "
            "errors follow the readers' agreement under the stated guideline version.",
            "Evaluated on the contributing sites' local validation consensus only; validate it "
            "on your own data before clinical use.",
        ]
    if not version.privacy and imported_from is None:
        caveats.append("No site reported a differential-privacy charge for these updates.")
    if version.secure_aggregation:
        caveats.append(
            "Updates were securely aggregated (SecAgg+): the coordinator saw only their sum."
        )
    return {
        "model": {
            "name": version.name,
            "version": version.version,
            "created_at": version.created_at.isoformat(timespec="seconds"),
            "run_id": version.run_id,
        },
        "intended_use": {
            "task": "pre-annotation and active learning on the consortium's guideline labels",
            "guideline": {"name": version.guideline, "version": version.guideline_version},
        },
        "training_data": (
            {"sites": [], "labels": f"none of the consortium's: {imported_from}"}
            if imported_from is not None
            else {
                "sites": list(version.sites),
                "labels": "each site's local consensus (adjudicated, else STAPLE or majority)",
            }
        ),
        "training_procedure": {
            "rounds": version.rounds,
            "aggregation": version.aggregation,
            "secure_aggregation": version.secure_aggregation,
            "plan": _plan_facts(version.plan),
        },
        "privacy": version.privacy,
        "evaluation": {"final": final, "per_site": per_site},
        "weights": {
            "sha256": version.weights_sha256,
            "bytes": version.weights_bytes,
            "parameters": version.parameters,
        },
        "caveats": caveats,
    }


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def card_markdown(version: ModelVersion) -> str:
    """The model card of ``version`` as Markdown."""
    card = model_card(version)
    guideline = card["intended_use"]["guideline"]
    procedure = card["training_procedure"]
    lines = [
        f"# Model card: {version.name} v{version.version}",
        "",
        (
            f"Created {card['model']['created_at']} by training run `{version.run_id}`."
            if version.imported_from is None
            else f"Imported {card['model']['created_at']}: {card['training_data']['labels']}."
        ),
        "",
        "## Intended use",
        "",
        f"{card['intended_use']['task'].capitalize()}, for the labels of "
        + (
            f"guideline **{guideline['name']} v{guideline['version']}**."
            if guideline["name"]
            else f"plan **{version.plan.get('name', version.name)}** "
            f"({', '.join(map(str, version.plan.get('labels', [])))})."
        ),
        "",
        "## Training data",
        "",
        f"Sites: {', '.join(version.sites) or 'none'}. Targets: {card['training_data']['labels']}.",
        "",
        "## Training procedure",
        "",
        f"- Rounds: {procedure['rounds']}",
        f"- Aggregation: {procedure['aggregation']}",
        f"- Secure aggregation (SecAgg+): {'yes' if procedure['secure_aggregation'] else 'no'}",
    ]
    lines += [f"- {key}: {_value(value)}" for key, value in procedure["plan"].items()]
    lines += ["", "## Privacy", ""]
    if version.privacy:
        lines += ["| Site | Epsilon spent | Delta spent | Releases |", "|---|---|---|---|"]
        for site, facts in sorted(version.privacy.items()):
            lines.append(
                f"| {site} | {_value(facts.get('epsilon', ''))} | "
                f"{_value(facts.get('delta', ''))} | {facts.get('releases', '')} |"
            )
    else:
        lines.append("No site reported a privacy charge.")
    lines += ["", "## Evaluation", ""]
    final = card["evaluation"]["final"]
    if final:
        lines += [f"- {key}: {_value(value)}" for key, value in sorted(final.items())]
    else:
        lines.append("No federated evaluation was released.")
    if card["evaluation"]["per_site"]:
        lines += ["", "Per site (released under each site's DP policy):", ""]
        for site, facts in sorted(card["evaluation"]["per_site"].items()):
            figures = ", ".join(f"{k} {_value(v)}" for k, v in sorted(facts.items()))
            lines.append(f"- {site}: {figures}")
    lines += [
        "",
        "## Weights",
        "",
        f"- SHA-256: `{version.weights_sha256}`",
        f"- {version.parameters} parameters, {version.weights_bytes} bytes",
        "",
        "## Caveats",
        "",
        *[f"- {caveat}" for caveat in card["caveats"]],
        "",
    ]
    return "\n".join(lines)
