import numpy as np

from coordinator.models import card_markdown, model_card
from coordinator.runtime import CoordinatorRuntime
from shared.weights import encode_weights


def test_the_card_is_made_of_the_registered_facts(coordinator: CoordinatorRuntime) -> None:
    version = coordinator.models.register(
        "nodules",
        run_id="run-1",
        plan={"project": "lung", "model": "unet-tiny", "epochs": 2, "secret": "x"},
        guideline=("lung", "3"),
        aggregation="fedmedian",
        secure_aggregation=False,
        rounds=2,
        sites=["site-a", "site-b"],
        privacy={"site-a": {"epsilon": 1.25, "delta": 2e-5, "releases": 2}},
        metrics={"final": {"dice": 0.625}, "sites": {"site-a": {"dice": 0.6}}},
        weights=encode_weights({"w": np.ones(5, dtype=np.float32)}),
    )
    card = model_card(version)
    assert card["model"]["version"] == 1
    assert card["intended_use"]["guideline"] == {"name": "lung", "version": "3"}
    assert card["training_data"]["sites"] == ["site-a", "site-b"]
    assert card["training_procedure"]["aggregation"] == "fedmedian"
    assert card["training_procedure"]["plan"] == {
        "project": "lung",
        "model": "unet-tiny",
        "epochs": 2,
    }
    assert card["privacy"]["site-a"]["epsilon"] == 1.25
    assert card["evaluation"] == {"final": {"dice": 0.625}, "per_site": {"site-a": {"dice": 0.6}}}
    assert card["weights"]["parameters"] == 5
    text = card_markdown(version)
    assert text.startswith("# Model card: nodules v1")
    assert "guideline **lung v3**" in text
    assert "| site-a | 1.25 | 2e-05 | 2 |" in text
    assert "- dice: 0.625" in text
    assert version.weights_sha256 in text
    assert "Secure aggregation (SecAgg+): no" in text
