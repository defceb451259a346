import numpy as np
import pytest


def ball(shape: tuple[int, ...], centre: tuple[float, ...], radius: float) -> np.ndarray:
    grid = np.indices(shape)
    offset = np.asarray(centre, dtype=float).reshape((-1,) + (1,) * len(shape))
    return ((grid - offset) ** 2).sum(axis=0) <= radius * radius


@pytest.fixture
def two_balls() -> tuple[np.ndarray, np.ndarray]:
    return ball((24, 48, 48), (12, 24, 24), 9), ball((24, 48, 48), (13, 27, 22), 8)
