import numpy as np
import pytest

from shared.consensus import patterns as patterns_module
from shared.consensus.patterns import VotePatterns


def _check(votes: np.ndarray) -> None:
    groups = VotePatterns.of(votes)
    flat = votes.reshape(votes.shape[0], -1)
    index = groups.expand(np.arange(len(groups.patterns)), dtype=np.int64)
    np.testing.assert_array_equal(groups.patterns[index], flat.T.astype(np.int64))
    assert groups.counts.sum() == flat.shape[1]
    assert len(groups.patterns) == len({tuple(col) for col in flat.T.tolist()})


@pytest.mark.parametrize("readers", [3, 25, 70])
def test_binary_votes_group_exactly_on_every_path(readers: int) -> None:
    # 3 readers: one-byte codes; 25: np.unique on int64 codes; 70: np.unique on rows.
    rng = np.random.default_rng(readers)
    votes = rng.random((readers, 50)) < 0.5
    votes[:, 25:] = votes[:, :25]  # guarantee repeated patterns
    _check(votes)


@pytest.mark.parametrize(("readers", "labels"), [(4, 5), (3, 300), (12, 40)])
def test_label_votes_group_exactly(readers: int, labels: int) -> None:
    rng = np.random.default_rng(labels)
    votes = rng.integers(0, labels, (readers, 6, 7))
    votes[:, 3:] = votes[:, :3]
    _check(votes)


def test_counting_and_writing_back_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patterns_module, "_CHUNK", 7)
    rng = np.random.default_rng(0)
    _check(rng.random((3, 10, 11)) < 0.3)
