"""Split-merge Metropolis-Hastings moves of the neuron clusters (Jain & Neal 2004 style).

The single-neuron label move (Neal's algorithm 8 in :mod:`.sampler`) rarely splits a cluster that
holds two true clusters: each neuron is compared with a latent path fitted to all members. These
moves change a whole block at once and target the same distribution as the label move::

    pi(z, lat) ~ p(z) * p(lat | states) * prod_neurons exp(l_i(lat_{z_i}))

with ``p(z)`` the MFM (or DP) partition prior, ``p(lat | states)`` the prior of the stacked
cluster paths under the switching dynamics with every state's (A, b, Q) integrated out
(:meth:`.sampler.Chain.paths_log_prior`; with ``path_prior="g0"``, the product of independent
base measures ``G0``, stationary AR(1) per dimension, as in the paper's scheme) and ``l_i`` the
Laplace log marginal likelihood of neuron i with its loadings integrated
(:func:`.laplace.laplace_loadings`).

One move: pick an ordered pair of neurons (i, j) uniformly. If they share a cluster, propose a
split: i's part keeps the cluster's latent path, j's part gets a new path drawn from a Gaussian
``q``: the Laplace approximation of the path's posterior under the AR(1) base measure given the
counts of the neurons of the block that correlate more with j than with i (smoothed log rates),
with their offsets ``d`` and loadings from a principal-component fit of those rates; the
other members are allocated one by one in random order, each with probability proportional to
(size + gamma) times its likelihood under either path (sequential allocation, Dahl 2003). If they
are in different clusters, propose the reverse merge (j's cluster joins i's and keeps i's path).
``q`` depends only on the data, the union of the two clusters, (i, j), ``d`` and ``r``, all
unchanged by the move, so the Hastings ratio is exact: ``pi ratio / (q(new path) * P(allocation))``.
The states do not change during the move, so ``p(lat | states)`` is evaluated at the current ones.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cholesky_banded, solve_banded, solveh_banded
from scipy.special import gammaln

from neurotools.analyses.biclustering.laplace import laplace_loadings

_LOG2PI = np.log(2 * np.pi)
def ar1_precision_banded(T: int, rho: float, sd: float) -> np.ndarray:
    """Upper banded form (2, T) of the precision of a stationary AR(1) path (marginal sd ``sd``)."""
    scale = 1.0 / (sd**2 * (1.0 - rho**2))
    ab = np.zeros((2, T))
    ab[1] = (1.0 + rho**2) * scale
    if T > 1:
        ab[1, 0] = ab[1, -1] = scale
        ab[0, 1:] = -rho * scale
    else:
        ab[1, 0] = 1.0 / sd**2
    return ab


def g0_logpdf(x: np.ndarray, rho: float, sd: float) -> float:
    """Log density of latent paths x (T, q) under independent stationary AR(1) per column."""
    T = x.shape[0]
    var_e = sd**2 * (1.0 - rho**2)
    out = -0.5 * (x[0] ** 2).sum() / sd**2 - 0.5 * x.shape[1] * (_LOG2PI + np.log(sd**2))
    if T > 1:
        e = x[1:] - rho * x[:-1]
        out += -0.5 * (e**2).sum() / var_e - 0.5 * e.size * (_LOG2PI + np.log(var_e))
    return float(out)


class PathProposal:
    """Gaussian proposal for a latent path (T, q) with a banded precision (time-major order).

    Parameters
    ----------
    mean : ndarray, shape (T, q)
    ab : ndarray, shape (q + 1, T * q)
        Upper banded form (``scipy.linalg`` layout, ``q`` super-diagonals) of the precision of
        the flattened path ``x.reshape(-1)``.
    """

    def __init__(self, mean: np.ndarray, ab: np.ndarray):
        self.mean = mean
        self.shape = mean.shape
        self.u = ab.shape[0] - 1
        self.U = cholesky_banded(ab)              # precision = U'U, U upper banded
        self.logdet_half = float(np.log(self.U[self.u]).sum())

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """One draw, shape (T, q)."""
        eps = rng.standard_normal(self.mean.size)
        return self.mean + solve_banded((0, self.u), self.U, eps).reshape(self.shape)

    def logpdf(self, x: np.ndarray) -> float:
        """Log density of the path x (T, q)."""
        v = (x - self.mean).reshape(-1)
        w = self.U[self.u] * v
        for k in range(1, self.u + 1):
            w[:-k] += self.U[self.u - k, k:] * v[k:]
        return float(-0.5 * (w**2).sum() + self.logdet_half - 0.5 * v.size * _LOG2PI)


def g0_banded(T: int, q: int, rho: float, sd: float) -> np.ndarray:
    """Upper banded precision (q + 1, T q) of q independent stationary AR(1) paths (time-major)."""
    ab = np.zeros((q + 1, T * q))
    ab[q] = np.repeat(ar1_precision_banded(T, rho, sd)[1], q)
    if T > 1:
        ab[0, q:] = -rho / (sd**2 * (1.0 - rho**2))
    return ab


def laplace_path_proposal(y: np.ndarray, d: np.ndarray, r: np.ndarray, ell: np.ndarray,
                          x0: np.ndarray, rho: float, sd: float, nb: bool = True,
                          n_newton: int = 5) -> PathProposal:
    """Laplace approximation of ``p(x | y) ~ G0(x) prod_{m,t} p(y_mt | d_m + ell_m . x_t)``.

    Parameters
    ----------
    y : ndarray, shape (M, T)
        Counts of the neurons that inform the path.
    d, r : ndarray, shape (M,)
        Their offsets and NB dispersions (ignored for Poisson).
    ell : ndarray, shape (M, q)
        Their loadings on the path (baseline first).
    x0 : ndarray, shape (T, q)
        Start of the Newton iterations.
    """
    T, q = x0.shape
    prior = g0_banded(T, q, rho, sd)
    x = x0.copy()
    iu = np.triu_indices(q)
    for it in range(n_newton + 1):
        eta = d[:, None] + ell @ x.T                                    # (M, T)
        mu = np.exp(np.minimum(eta, 30.0))
        if nb:
            frac = mu / (mu + r[:, None])
            g = y - (y + r[:, None]) * frac
            w = (y + r[:, None]) * frac * (1 - frac)
        else:
            g, w = y - mu, mu
        H = (w.T @ (ell[:, :, None] * ell[:, None, :]).reshape(-1, q * q)).reshape(T, q, q)
        ab = prior.copy()
        for k, l_ in zip(*iu):
            ab[q - (l_ - k), np.arange(T) * q + l_] += H[:, k, l_]
        if it == n_newton:
            break
        v = x.reshape(-1)
        px = prior[q] * v
        px[:-q] += prior[0, q:] * v[q:]
        px[q:] += prior[0, q:] * v[:-q]
        grad = (g.T @ ell).reshape(-1) - px
        x = x + solveh_banded(ab, grad).reshape(T, q)
    return PathProposal(x, ab)


def principal_path(rates: np.ndarray, p: int,
                   signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A cluster path and loadings from its members' log rates, by principal components.

    Parameters
    ----------
    rates : ndarray, shape (M, T)
        Log rates of the M members (e.g. smoothed and centred).
    p : int
        Number of factors.
    signed : bool
        Flip each factor (and its loadings) so that the left singular vector sums to >= 0, the
        rule of :func:`data_path`. The rule is arbitrary (those sums are zero up to rounding,
        since the deviations are centred over members), but it is fixed, so a proposal built
        on it depends on the data only.

    Returns
    -------
    path : ndarray, shape (T, 1 + p)
        The members' mean log rate (baseline), then the first p principal components of their
        deviations from it, scaled by singular value / sqrt(M) (zeros when M < 2).
    ell : ndarray, shape (M, 1 + p)
        Their loadings: 1 on the baseline, left singular vectors times sqrt(M) on the factors.
    """
    M, T = rates.shape
    path = np.zeros((T, 1 + p))
    ell = np.zeros((M, 1 + p))
    ell[:, 0] = 1.0
    path[:, 0] = rates.mean(0)
    if M > 1 and p > 0:
        u, sv, vt = np.linalg.svd(rates - path[:, 0], full_matrices=False)
        k = min(p, len(sv))
        if signed:
            sign = np.where(u[:, :k].sum(0) < 0, -1.0, 1.0)
            path[:, 1:1 + k] = (vt[:k].T * (sv[:k] * sign)) / np.sqrt(M)
            ell[:, 1:1 + k] = u[:, :k] * sign * np.sqrt(M)
        else:
            path[:, 1:1 + k] = (vt[:k].T * sv[:k]) / np.sqrt(M)
            ell[:, 1:1 + k] = u[:, :k] * np.sqrt(M)
    return path, ell


def data_path(logr: np.ndarray, zs: np.ndarray, S: np.ndarray, i: int, j: int,
              p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Data-driven latent path for j's part of the block S (depends on S, i, j and data only).

    The neurons P of S (except i) whose standardised smoothed log rate correlates at least as
    much with j's as with i's: their mean centred log rate is the baseline and the first p
    principal components of their deviations are the factors (signs: summed loadings positive).

    Returns
    -------
    path : ndarray, shape (T, 1 + p)
    P : ndarray of int
        The neurons used.
    ell : ndarray, shape (len(P), 1 + p)
        Their loadings on the path (1 for the baseline).
    """
    ci = zs[S] @ zs[i]
    cj = zs[S] @ zs[j]
    P = S[((cj >= ci) | (S == j)) & (S != i)]          # j itself always (ties, flat rates)
    out, ell = principal_path(logr[P], p, signed=True)
    return out, P, ell


def _log_partition_ratio(n0: int, n1: int, t_split: int, prior: str, gamma: float,
                         log_v: np.ndarray, alpha_dp: float) -> float:
    """``log p(split partition) - log p(merged partition)`` (blocks of sizes n0, n1 vs n0 + n1)."""
    if prior == "dp":
        return float(np.log(alpha_dp) + gammaln(n0) + gammaln(n1) - gammaln(n0 + n1))
    lr = gammaln(gamma + np.array([n0, n1, n0 + n1])) - gammaln(gamma)
    return float(log_v[t_split] - log_v[t_split - 1] + lr[0] + lr[1] - lr[2])


def split_merge_move(chain) -> bool:
    """One split-or-merge proposal on ``chain`` (a :class:`.sampler.Chain`); True if accepted."""
    s, cfg, rng = chain.state, chain.cfg, chain.rng
    N = chain.N
    if N < 2:
        return False
    i, j = (int(v) for v in rng.choice(N, 2, replace=False))
    ki, kj = int(s.z[i]), int(s.z[j])
    split = ki == kj
    S = np.flatnonzero((s.z == ki) | (s.z == kj))
    m, P, ell = data_path(chain.logr0, chain.zs0, S, i, j, chain.p)
    q = laplace_path_proposal(chain.y[P], s.d[P], s.r[P], ell, m, cfg.g0_rho, cfg.g0_sd,
                              cfg.model == "nb")
    lat_keep = s.lat[:, ki]
    lat_other = q.sample(rng) if split else s.lat[:, kj]
    cand = np.stack([lat_keep, lat_other])
    ll, modes, covs = laplace_loadings(chain.y[S], s.d[S], s.r[S], cand[None], cfg.model == "nb")
    if cfg.prior_only:
        ll[:] = 0.0
    side = (s.z[S] == kj).astype(np.int64) if not split else np.zeros(len(S), np.int64)
    ai, aj = int(np.flatnonzero(S == i)[0]), int(np.flatnonzero(S == j)[0])
    side[ai], side[aj] = 0, 1
    sizes = np.array([1.0, 1.0])
    conc = 0.0 if cfg.neuron_prior == "dp" else cfg.gamma_mfm
    log_alloc = 0.0
    for a in rng.permutation(len(S)):
        if a in (ai, aj):
            continue
        w = np.log(sizes + conc) + ll[a]
        lp = w - np.logaddexp(w[0], w[1])
        if split:
            side[a] = int(rng.random() < np.exp(lp[1]))
        log_alloc += lp[side[a]]
        sizes[side[a]] += 1
    t_split = s.K + 1 if split else s.K
    # log p(paths of the split configuration) - log p(paths of the merged one) under the chain's
    # path prior (switching dynamics with (A, b, Q) integrated out; or G0, where it is G0(other))
    if split:
        with_other, without_other = np.concatenate([s.lat, lat_other[:, None, :]], 1), s.lat
    else:
        with_other, without_other = s.lat, s.lat[:, np.arange(s.K) != kj]
    log_paths = chain.paths_log_prior(with_other) - chain.paths_log_prior(without_other)
    log_r = (_log_partition_ratio(int(sizes[0]), int(sizes[1]), t_split, cfg.neuron_prior,
                                  cfg.gamma_mfm, chain.log_v, cfg.alpha_dp)
             + log_paths - q.logpdf(lat_other) - log_alloc
             + float((ll[side == 1, 1] - ll[side == 1, 0]).sum()))
    counts = chain.move_counts["split" if split else "merge"]
    counts[0] += 1
    if np.log(rng.random()) >= (log_r if split else -log_r):
        return False
    counts[1] += 1
    if split:
        s.lat = np.concatenate([s.lat, lat_other[:, None, :]], 1)
        s.z[S[side == 1]] = s.K - 1
        new_side = side
    else:
        s.z[S] = ki
        keep = np.arange(s.K) != kj
        s.lat = s.lat[:, keep]
        s.z = np.where(s.z > kj, s.z - 1, s.z)
        new_side = np.zeros(len(S), np.int64)
    # loadings of the moved block from their Laplace conditionals, as in the single-neuron move
    for a, m in enumerate(S if chain.p > 0 else ()):
        c = covs[a, new_side[a]]
        Lc = np.linalg.cholesky(0.5 * (c + c.T))
        s.c[m] = modes[a, new_side[a]] + Lc @ rng.standard_normal(chain.p)
    return True
