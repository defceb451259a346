import numpy as np
import pytest
import torch
from opacus.validators import ModuleValidator

import shared.models as models
from shared.models import (
    SmallCnn,
    SmallDenseNet,
    UNet2d,
    WeightsMismatchError,
    add_weights,
    build_model,
    clip_update,
    load_weights,
    model_weights,
    subtract_weights,
    update_norm,
    weight_names,
)
from shared.schemas import TrainingPlan

EXPORTS = [
    "ModelError",
    "ModelSpecError",
    "SmallCnn",
    "SmallDenseNet",
    "UNet2d",
    "Weights",
    "WeightsMismatchError",
    "add_weights",
    "build_model",
    "clip_update",
    "load_weights",
    "model_weights",
    "subtract_weights",
    "update_norm",
    "weight_names",
]

PLANS = {
    "unet-2d": {"task": "segmentation", "labels": ["a", "b"], "input": {"size": 32}},
    "unet-25d-instance": {
        "task": "segmentation",
        "labels": ["a"],
        "input": {"size": 32, "context_slices": 1},
        "model": {"norm": "instance", "features": [8, 16], "dropout": 0.2},
    },
    "cnn": {
        "task": "classification",
        "labels": ["c"],
        "classes": ["x", "y", "z"],
        "input": {"size": 32},
        "model": {"architecture": "cnn", "features": [8, 16]},
    },
    "densenet": {
        "task": "classification",
        "labels": ["c"],
        "classes": ["x", "y"],
        "input": {"size": 32, "context_slices": 2},
        "model": {"architecture": "densenet", "features": [8, 16], "growth_rate": 8},
    },
}


def _plan(key: str) -> TrainingPlan:
    return TrainingPlan.model_validate({"name": key, **PLANS[key]})


def test_exports() -> None:
    assert models.__all__ == EXPORTS


@pytest.mark.parametrize("key", sorted(PLANS))
def test_networks_are_opacus_valid_and_shaped(key: str) -> None:
    plan = _plan(key)
    model = build_model(plan, seed=0)
    assert ModuleValidator.validate(model, strict=True) == []
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    x = torch.randn(3, plan.input.channels, 32, 32)
    y = model(x)
    if plan.task == "segmentation":
        assert isinstance(model, UNet2d)
        assert y.shape == (3, plan.out_channels, 32, 32)
    else:
        assert isinstance(model, SmallCnn | SmallDenseNet)
        assert y.shape == (3, plan.out_channels)


def test_seeded_builds_are_identical_and_do_not_touch_the_global_generator() -> None:
    plan = _plan("unet-2d")
    torch.manual_seed(5)
    before = torch.rand(1)
    torch.manual_seed(5)
    a = model_weights(build_model(plan, seed=3))
    after = torch.rand(1)
    b = model_weights(build_model(plan, seed=3))
    assert torch.equal(before, after)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    c = model_weights(build_model(plan, seed=4))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_weights_round_trip_in_state_dict_order() -> None:
    plan = _plan("cnn")
    source = build_model(plan, seed=1)
    target = build_model(plan, seed=2)
    weights = model_weights(source)
    assert len(weights) == len(weight_names(source)) == len(source.state_dict())
    assert all(w.dtype == np.float32 for w in weights)
    load_weights(target, weights)
    x = torch.randn(2, 1, 32, 32)
    assert torch.allclose(source(x), target(x))
    weights[0][...] = 99.0  # copies: the model is not aliased
    assert not np.array_equal(model_weights(source)[0], weights[0])


def test_load_weights_refuses_mismatches_and_leaves_the_model_alone() -> None:
    plan = _plan("cnn")
    model = build_model(plan, seed=1)
    good = model_weights(model)
    with pytest.raises(WeightsMismatchError, match="weight arrays but 1 were given"):
        load_weights(model, good[:1])
    bad = [*good]
    bad[2] = np.zeros((7, 7), dtype=np.float32)
    with pytest.raises(WeightsMismatchError, match=r"weight 2 \(.*\) has shape \(7, 7\)") as caught:
        load_weights(model, bad)
    assert caught.value.index == 2 and caught.value.name == weight_names(model)[2]
    nan = [w.copy() for w in good]
    nan[-1][...] = np.nan
    with pytest.raises(WeightsMismatchError, match="finite"):
        load_weights(model, nan)
    assert all(np.array_equal(a, b) for a, b in zip(good, model_weights(model), strict=True))


def test_update_arithmetic_and_clipping() -> None:
    a = [np.full((2, 2), 3.0, np.float32), np.array([4.0], np.float32)]
    b = [np.ones((2, 2), np.float32), np.zeros(1, np.float32)]
    delta = subtract_weights(a, b)
    assert np.array_equal(add_weights(b, delta)[0], a[0])
    assert update_norm(delta) == pytest.approx(np.sqrt(4 * 4 + 16))
    clipped, before = clip_update(delta, 1.0)
    assert before == pytest.approx(np.sqrt(32))
    assert update_norm(clipped) == pytest.approx(1.0, rel=1e-6)
    same, _ = clip_update(delta, 100.0)
    assert np.array_equal(same[0], delta[0])
    with pytest.raises(WeightsMismatchError, match="clip norm"):
        clip_update(delta, 0.0)
    with pytest.raises(WeightsMismatchError, match="shapes"):
        subtract_weights(a, [b[0], np.zeros(2)])


def test_unet_output_starts_at_a_low_foreground_probability() -> None:
    model = build_model(_plan("unet-2d"), seed=0)
    assert isinstance(model, UNet2d)
    assert torch.allclose(model.head.bias, torch.full_like(model.head.bias, -np.log(99.0)))
