"""Weights trained elsewhere: read (both forms), checked against the plan, registered, carded."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from coordinator.models import (
    IMPORTED_AGGREGATION,
    card_markdown,
    check_architecture,
    import_version,
    model_card,
    read_weights,
)
from coordinator.runtime import CoordinatorRuntime
from shared.errors import InvalidInputError
from shared.models import build_model, model_weights, weight_names
from shared.schemas import TrainingPlan
from shared.weights import decode_weights, encode_weights
from tests.support.learn_sites import tiny_plan

PLAN = TrainingPlan.model_validate(tiny_plan())


def _state() -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in build_model(PLAN, seed=3).state_dict().items()}


def test_a_state_dict_and_a_weights_file_read_the_same() -> None:
    state = _state()
    saved = io.BytesIO()
    torch.save(state, saved)
    from_torch = read_weights(saved.getvalue())
    model = build_model(PLAN, seed=3)
    ours = encode_weights(dict(zip(weight_names(model), model_weights(model), strict=True)))
    from_file = read_weights(ours)
    assert list(from_torch) == list(from_file) == list(state)
    for name in state:
        np.testing.assert_array_equal(from_torch[name], from_file[name])
    wrapped = io.BytesIO()
    torch.save({"state_dict": state, "epoch": 3}, wrapped)  # a training checkpoint's layout
    assert list(read_weights(wrapped.getvalue())) == list(state)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not weights at all", "neither a Harmonia weights file nor a PyTorch state_dict"),
        (None, "is not a tensor"),
    ],
)
def test_other_bytes_are_refused_with_the_reason(data: bytes | None, message: str) -> None:
    if data is None:
        buffer = io.BytesIO()
        torch.save({"conv.weight": torch.zeros(2), "note": "hello"}, buffer)
        data = buffer.getvalue()
    with pytest.raises(InvalidInputError, match=message):
        read_weights(data, source="seed.pt")


def test_weights_of_another_network_are_refused_naming_the_differences() -> None:
    other = TrainingPlan.model_validate(tiny_plan(model={"features": [8, 16], "groups": 4}))
    arrays = {k: v.numpy() for k, v in build_model(other).state_dict().items()}
    with pytest.raises(InvalidInputError, match=r"do not fit plan 'lesion-seg'.*other shapes"):
        check_architecture(PLAN, arrays)
    arrays = {k: v.numpy() for k, v in _state().items()}
    first = next(iter(arrays))
    del arrays[first]
    arrays["extra.weight"] = np.zeros(1, dtype=np.float32)
    with pytest.raises(InvalidInputError, match=f"missing {first}.*extra.weight"):
        check_architecture(PLAN, arrays)


def test_non_finite_weights_are_refused() -> None:
    arrays = {k: v.numpy().copy() for k, v in _state().items()}
    name = next(iter(arrays))
    arrays[name].flat[0] = np.nan
    with pytest.raises(InvalidInputError, match=f"NaN or infinite values in {name}"):
        check_architecture(PLAN, arrays)


def test_an_import_registers_a_version_without_sites_or_privacy(
    coordinator: CoordinatorRuntime,
) -> None:
    arrays = {k: v.numpy().astype(np.float64) for k, v in _state().items()}  # any float dtype
    source = "pre-trained on 40 public synthetic phantoms"
    version = import_version(coordinator.models, PLAN, arrays, source=source)
    assert (version.name, version.version, version.run_id) == ("lesion-seg", 1, "")
    assert version.sites == () and version.privacy == {} and version.rounds == 0
    assert version.aggregation == IMPORTED_AGGREGATION
    stored, metadata = decode_weights(coordinator.models.weights_of(version))
    assert list(stored) == list(arrays) and metadata == {"imported": source}
    assert all(a.dtype == np.float32 for a in stored.values())
    card = model_card(version)
    assert card["training_data"]["sites"] == [] and source in card["training_data"]["labels"]
    assert any("Imported, not trained by the consortium" in c for c in card["caveats"])
    text = card_markdown(version)
    assert f"Imported {card['model']['created_at']}: none of the consortium's: {source}." in text
    assert "for the labels of plan **lesion-seg** (lesion)." in text
    again = import_version(coordinator.models, PLAN, arrays, source=source, name="seed")
    assert (again.name, again.version) == ("seed", 1)


def test_an_import_must_say_where_the_weights_come_from(coordinator: CoordinatorRuntime) -> None:
    arrays = {k: v.numpy() for k, v in _state().items()}
    with pytest.raises(InvalidInputError, match="say where the weights come from"):
        import_version(coordinator.models, PLAN, arrays, source="  ")
    assert coordinator.models.versions() == []
