import math

import numpy as np
import pytest
from opacus.accountants import RDPAccountant
from opacus.accountants.analysis import rdp as real_rdp

from node.egress import PrivacyCharge
from node.stats import NoisedArray, RdpAccountant, gaussian_charge, gaussian_epsilon, noise_arrays
from node.stats.opacus_rdp import DEFAULT_ALPHAS, opacus_rdp


def test_the_torch_free_loader_is_opacus_own_analysis() -> None:
    assert list(DEFAULT_ALPHAS) == [float(a) for a in RDPAccountant.DEFAULT_ALPHAS]
    orders = list(DEFAULT_ALPHAS)
    ours = opacus_rdp.compute_rdp(q=1.0, noise_multiplier=1.3, steps=5, orders=orders)
    theirs = real_rdp.compute_rdp(q=1.0, noise_multiplier=1.3, steps=5, orders=orders)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(("z", "k"), [(1.0, 1), (2.0, 2), (4.0, 6)])
def test_gaussian_epsilon_matches_opacus_rdp_accountant(z: float, k: int) -> None:
    accountant = RDPAccountant()
    accountant.history = [(z, 1.0, k)]
    assert gaussian_epsilon(z, k, 1e-5) == pytest.approx(accountant.get_epsilon(1e-5))


def test_charge_names_its_mechanism_so_the_ledger_can_recompose() -> None:
    charge = gaussian_charge(2.0, 6, 1e-5)
    assert charge.mechanism == "gaussian-z2-k6"
    assert charge.delta == 1e-5
    assert RdpAccountant().compose([charge]).epsilon == pytest.approx(charge.epsilon)


def test_rdp_composition_is_tighter_than_basic_and_never_worse() -> None:
    charges = [gaussian_charge(2.0, 2, 1e-5)] * 10
    rdp = RdpAccountant().compose(charges)
    basic = sum(c.epsilon for c in charges)
    assert rdp.epsilon < basic / 2
    assert rdp.delta == pytest.approx(1e-4)
    # composing all at once equals composing one mechanism of 20 arrays
    assert rdp.epsilon == pytest.approx(gaussian_epsilon(2.0, 20, 1e-4))


def test_other_mechanisms_compose_basically() -> None:
    laplace = PrivacyCharge(0.5, 0.0, "laplace")
    spent = RdpAccountant().compose([laplace, laplace])
    assert (spent.epsilon, spent.delta) == (1.0, 0.0)
    mixed = RdpAccountant().compose([laplace, gaussian_charge(4.0, 1, 1e-6)])
    assert mixed.epsilon == pytest.approx(0.5 + gaussian_epsilon(4.0, 1, 1e-6))


def test_noise_keeps_layout_arrays_and_post_processes_counts() -> None:
    counts = np.array([[3, 1], [0, 5]])
    arrays = {"categories": np.array(["1", "2"]), "counts": counts}
    rng = np.random.default_rng(0)
    noised = noise_arrays(arrays, {"counts": NoisedArray(1.0)}, noise_multiplier=1.0, rng=rng)
    assert noised["categories"] is arrays["categories"]
    assert noised["counts"].dtype == np.int64
    assert (noised["counts"] >= 0).all()
    exact = noise_arrays(arrays, {"counts": NoisedArray(1.0)}, noise_multiplier=0.0, rng=rng)
    np.testing.assert_array_equal(exact["counts"], counts)


def test_symmetric_noise_stays_symmetric() -> None:
    matrix = np.full((4, 4), 2.0)
    noised = noise_arrays(
        {"c": matrix},
        {"c": NoisedArray(3.0, integer=False, symmetric=True)},
        noise_multiplier=1.0,
        rng=np.random.default_rng(1),
    )["c"]
    np.testing.assert_array_equal(noised, noised.T)


def test_noise_scale_is_z_times_sensitivity() -> None:
    rng = np.random.default_rng(2)
    zeros = np.full(20000, 1000.0)
    noised = noise_arrays(
        {"x": zeros}, {"x": NoisedArray(3.0, integer=False)}, noise_multiplier=2.0, rng=rng
    )["x"]
    assert math.isclose(float(np.std(noised - zeros)), 6.0, rel_tol=0.03)
