import numpy as np
import pytest
import SimpleITK as sitk  # noqa: N813 - the library's own convention

from shared.consensus import ConsensusInputError, staple, staple_multilabel

READERS = [(0.9, 0.98), (0.8, 0.99), (0.95, 0.9), (0.7, 0.97)]


def _synthetic(seed: int, shape: tuple[int, ...] = (40, 40)) -> tuple[np.ndarray, list]:
    rng = np.random.default_rng(seed)
    truth = np.zeros(shape, bool)
    truth[tuple(slice(s // 4, 3 * s // 4) for s in shape)] = True
    masks = [
        np.where(truth, rng.random(shape) < sens, rng.random(shape) > spec)
        for sens, spec in READERS
    ]
    return truth, masks


def _sitk_staple(masks: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    filt = sitk.STAPLEImageFilter()
    out = filt.Execute([sitk.GetImageFromArray(m.astype(np.uint8)) for m in masks])
    return (
        sitk.GetArrayFromImage(out),
        np.array(filt.GetSensitivity()),
        np.array(filt.GetSpecificity()),
    )


@pytest.mark.parametrize(("seed", "shape"), [(0, (40, 40)), (1, (12, 20, 20))])
def test_binary_staple_matches_simpleitk(seed: int, shape: tuple[int, ...]) -> None:
    _, masks = _synthetic(seed, shape)
    result = staple(masks)
    prob, sens, spec = _sitk_staple(masks)
    assert result.converged
    np.testing.assert_allclose(result.sensitivity, sens, atol=1e-5)
    np.testing.assert_allclose(result.specificity, spec, atol=1e-5)
    np.testing.assert_allclose(result.probability, prob, atol=1e-4)


def test_staple_recovers_reader_performance_and_truth() -> None:
    truth, masks = _synthetic(2, (80, 80))
    result = staple(masks)
    np.testing.assert_allclose(result.sensitivity, [s for s, _ in READERS], atol=0.03)
    np.testing.assert_allclose(result.specificity, [q for _, q in READERS], atol=0.02)
    assert (result.consensus() == truth).mean() > 0.97


def test_multilabel_with_two_labels_reduces_to_binary() -> None:
    _, masks = _synthetic(3)
    binary = staple(masks)
    multi = staple_multilabel([m.astype(int) for m in masks])
    np.testing.assert_allclose(multi.confusion[:, 1, 1], binary.sensitivity, atol=1e-6)
    np.testing.assert_allclose(multi.confusion[:, 0, 0], binary.specificity, atol=1e-6)
    np.testing.assert_allclose(multi.probabilities[1], binary.probability, atol=1e-6)


def test_multilabel_recovers_confusion_matrices() -> None:
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 3, (60, 60))
    confusions = []
    maps = []
    for accuracy in (0.95, 0.85, 0.75):
        flip = rng.random(truth.shape) > accuracy
        other = (truth + rng.integers(1, 3, truth.shape)) % 3
        maps.append(np.where(flip, other, truth))
        confusions.append(accuracy)
    result = staple_multilabel(maps)
    assert result.converged
    np.testing.assert_allclose(result.confusion.sum(axis=2), 1.0, atol=1e-9)
    diag = result.confusion[:, np.arange(3), np.arange(3)].mean(axis=1)
    np.testing.assert_allclose(diag, confusions, atol=0.02)
    assert (result.consensus == truth).mean() > 0.95


def test_degenerate_and_invalid_inputs() -> None:
    empty = [np.zeros((4, 4), bool)] * 3
    result = staple(empty)
    assert np.all(result.probability == 0) and np.all(np.isnan(result.sensitivity))
    with pytest.raises(ConsensusInputError, match="at least 2"):
        staple([np.zeros((4, 4), bool)])
    with pytest.raises(ConsensusInputError, match="boolean masks"):
        staple([np.full((2, 2), 2), np.zeros((2, 2), int)])
    with pytest.raises(ConsensusInputError, match="prior"):
        staple(empty, prior=1.5)
    with pytest.raises(ConsensusInputError, match="no -1"):
        staple_multilabel([np.array([0, -1]), np.array([0, 1])])
    with pytest.raises(ConsensusInputError, match="max_iter"):
        staple(empty, max_iter=0)


def test_max_iter_reports_non_convergence() -> None:
    _, masks = _synthetic(5)
    result = staple(masks, max_iter=1)
    assert result.iterations == 1 and not result.converged


def test_many_readers_staple_runs() -> None:
    rng = np.random.default_rng(9)
    truth = np.zeros((20, 20), bool)
    truth[5:15, 5:15] = True
    masks = [
        np.where(truth, rng.random(truth.shape) < 0.9, rng.random(truth.shape) < 0.05)
        for _ in range(30)
    ]
    result = staple(masks)
    assert (result.consensus() == truth).all()
