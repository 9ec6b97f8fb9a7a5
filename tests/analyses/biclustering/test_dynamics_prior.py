"""The MNIW prior of each state's dynamics with its own scale for the offset column b.

``W = [A b] | Q ~ MN([I 0], Q, V0)`` with ``V0 = diag(v_A, ..., v_A, v_b)``: prior draws have
the two column variances, and every marginal of the moves uses the same ``V0``.
"""

import numpy as np

from neurotools.analyses.biclustering.dynamics import (
    column_precision,
    mniw_log_marginal,
    mniw_log_marginal_from_sums,
    sample_dynamics,
)


def test_prior_draws_have_the_column_variances_of_a_and_b():
    rng = np.random.default_rng(0)
    D, L = 3, 4000
    # a one-bin path has no move: every state is a draw from the prior
    A, b, Q = sample_dynamics(np.zeros((1, D)), np.zeros(1, np.int64), L, rng, v0=(2.0, 50.0))
    chol = np.linalg.cholesky(Q)
    # given Q, chol(Q)^-1 [A - I, b] has independent N(0, v) entries, v per column
    wa = np.linalg.solve(chol, A - np.eye(D))
    wb = np.linalg.solve(chol, b[:, :, None])[..., 0]
    assert abs(wa.var() / 2.0 - 1) < 0.05
    assert abs(wb.var() / 50.0 - 1) < 0.07
    assert abs(np.mean(wa)) < 0.05 and abs(np.mean(wb)) < 0.3


def test_one_move_depends_on_v0_only_through_its_regressor_norm():
    # for one move y = W z + e, the marginal is a Student-t of scale (1 + z' V0 z) S0: with
    # z = [x; 1], |x|^2 = 5, V0 = diag(2, 2, 8) gives z' V0 z = 18, as does V0 = 3 I
    x = np.array([1.0, 2.0])
    z = np.append(x, 1.0)[None]
    y = np.array([[0.3, -0.2]])
    pair = mniw_log_marginal(y, z, v0=(2.0, 8.0))
    assert np.isclose(pair, mniw_log_marginal(y, z, v0=3.0))
    assert not np.isclose(pair, mniw_log_marginal(y, z, v0=2.0))
    assert np.isclose(mniw_log_marginal(y, z, v0=(3.0, 3.0)), mniw_log_marginal(y, z, v0=3.0))
    # the sums form and the precision agree with the moves form
    assert np.isclose(pair, mniw_log_marginal_from_sums(z.T @ z, y.T @ z, y.T @ y, 1, v0=(2.0, 8.0)))
    assert np.allclose(np.diag(column_precision(3, (2.0, 8.0))), [0.5, 0.5, 0.125])
