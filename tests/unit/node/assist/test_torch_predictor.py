"""The runner's predictor agrees with node.learn.predict, and MC dropout gives its entropy."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.pixels import apply_modality_lut

from node.assist import label_figures
from node.assist.models import ModelBundle
from node.assist.torch_predictor import TorchPredictor
from node.learn.inference import predict
from shared.phantoms import SITE_STYLES, PhantomSpec, generate_series
from shared.schemas import load_guideline
from tests.unit.node.annotate.conftest import EXAMPLE


@pytest.fixture(scope="module")
def volume() -> np.ndarray:
    series = generate_series(
        PhantomSpec(
            modality="CT", rows=96, columns=96, slices=6, seed=77, style=SITE_STYLES["siemens-like"]
        )
    )
    planes = [
        apply_modality_lut(series.pixel_slice(i), ds) for i, ds in enumerate(series.datasets())
    ]
    return np.stack(planes).astype(np.float32)


def test_probabilities_equal_node_learn_predict(bundle: ModelBundle, volume: np.ndarray) -> None:
    ours = TorchPredictor(bundle).predict(volume)
    theirs = predict(bundle.plan, list(bundle.weights), volume)
    (label,) = bundle.plan.labels
    assert ours.masks[label].shape == volume.shape
    np.testing.assert_allclose(ours.masks[label], theirs.probabilities[:, 0], atol=1e-5)
    assert ours.mc_passes == 1 and ours.mask_mean_entropy == {}


def test_mc_dropout_passes_give_the_mean_and_the_mutual_information(
    bundle: ModelBundle, volume: np.ndarray
) -> None:
    output = TorchPredictor(bundle, mc_samples=4, seed=3).predict(volume)
    (label,) = bundle.plan.labels
    assert output.mc_passes == 4
    entropy = output.mask_mean_entropy[label]
    assert entropy.shape == volume.shape and float(entropy.max()) <= 1.0
    again = TorchPredictor(bundle, mc_samples=4, seed=3).predict(volume)
    np.testing.assert_array_equal(output.masks[label], again.masks[label])  # seeded
    (figures,) = label_figures(output, load_guideline(EXAMPLE))
    assert figures.method == "mutual_information" and 0.0 <= figures.uncertainty <= 1.0
