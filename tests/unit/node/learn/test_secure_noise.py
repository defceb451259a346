import numpy as np

from node.learn.secure_noise import secure_coins, secure_normal, secure_uniform


def test_uniforms_cover_the_unit_interval() -> None:
    values = secure_uniform(100_000)
    assert values.min() >= 0.0 and values.max() < 1.0
    assert abs(values.mean() - 0.5) < 0.01
    assert len(np.unique(values)) > 99_000


def test_coins_come_up_at_their_rate() -> None:
    assert abs(secure_coins(100_000, 0.1).mean() - 0.1) < 0.006
    assert not secure_coins(1000, 0.0).any()
    assert secure_coins(1000, 1.0).all()


def test_normal_noise_has_the_asked_spread() -> None:
    noise = secure_normal(2.5, (400, 500)).numpy()
    assert noise.shape == (400, 500) and noise.dtype == np.float32
    assert abs(noise.mean()) < 0.03
    assert abs(noise.std() - 2.5) < 0.03
    assert abs(float(np.mean(np.abs(noise) < 2.5)) - 0.6827) < 0.01
    assert not np.array_equal(secure_normal(1.0, (10,)).numpy(), secure_normal(1.0, (10,)).numpy())
