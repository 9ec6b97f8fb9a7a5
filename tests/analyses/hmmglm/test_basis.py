"""History basis values and the history convolution."""

import numpy as np
import pytest

from neurotools.analyses.hmmglm.basis import exponential_basis, history_features


def test_default_basis_matches_the_spec_values():
    phi = exponential_basis(5, 5.0, 1)
    assert phi.shape == (1, 5)
    np.testing.assert_allclose(phi[0], [0.6364, 0.2341, 0.0861, 0.0317, 0.0117], atol=1e-4)
    assert (5.0 / 5) * phi.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("length,span,n_basis", [(5, 5.0, 1), (8, 3.0, 3), (1, 1.0, 2)])
def test_each_basis_function_has_unit_area(length, span, n_basis):
    phi = exponential_basis(length, span, n_basis)
    for j in range(n_basis):
        s = span / 2**j
        assert (s / length) * phi[j].sum() == pytest.approx(1.0)
        assert np.all(np.diff(phi[j]) < 0)  # decays with the lag


def test_history_features_equal_a_direct_sum_over_lags():
    rng = np.random.default_rng(3)
    x = rng.poisson(0.7, size=(2, 30, 4))
    basis = exponential_basis(6, 4.0, 2)
    h = history_features(x, basis)
    assert h.shape == (2, 30, 4 * 2)
    for s in range(2):
        for t in range(30):
            for n in range(4):
                for j in range(2):
                    want = sum(basis[j, lag - 1] * x[s, t - lag, n] for lag in range(1, 7) if t - lag >= 0)
                    assert h[s, t, n * 2 + j] == pytest.approx(want)


def test_current_bin_is_excluded_and_start_is_zero_padded():
    x = np.zeros((10, 1))
    x[4, 0] = 1
    h = history_features(x, exponential_basis(5, 5.0, 1))
    assert h[4, 0] == 0 and h[0, 0] == 0
    np.testing.assert_allclose(h[5:10, 0], exponential_basis(5, 5.0, 1)[0])
