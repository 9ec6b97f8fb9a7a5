"""Study: does the bi-clustering posterior prefer two true neuron clusters split or merged?

The cluster-count moves (label move, split-merge) target

    pi(z, X) ~ p(z) * p(X | states) * prod_i exp(l_i(X_{z_i}))

(:mod:`neurotools.analyses.biclustering.splitmerge`): the MFM partition prior, the cluster paths'
prior under the switching dynamics with every state's (A, b, Q) integrated out, and each
neuron's Laplace log marginal with its loadings integrated. This study takes a chain of the
default sampler after a number of sweeps, picks the neurons S of two true clusters, holds
everything else at the chain's values (the states, ``d``, ``r`` and the other clusters' paths),
and estimates the evidence of S's counts with S's paths integrated out, once with S as one
cluster and once split along the truth. The log Bayes factor (split minus merged, plus the MFM
prior ratio) says which of the two the exact sampler should prefer, given the rest.

The evidence is estimated by annealed importance sampling from a Gaussian reference ``q`` (a
Laplace fit of each path under Gaussian switching dynamics fitted to the chain's path) to the
target, along ``q^(1 - beta) pi^beta`` with ``beta = (k / steps)^3``, three preconditioned
Crank-Nicolson Metropolis steps per ``beta`` (reversible for ``q``, so the acceptance is the
tempered weight ratio). More steps give higher, converging estimates.

Usage::

    .venv/bin/python bench/study_bicluster_split_evidence.py --seed 0 --pairs 0-1,0-2,1-2
    .venv/bin/python bench/study_bicluster_split_evidence.py --seed 1 --pairs 0-2 --steps 6400
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.linalg import solveh_banded  # noqa: E402
from scipy.special import logsumexp  # noqa: E402

from neurotools.analyses.biclustering.fit import model_config  # noqa: E402
from neurotools.analyses.biclustering.kalman import (  # noqa: E402
    banded_upper,
    dynamics_information,
    symmetrize,
)
from neurotools.analyses.biclustering.laplace import laplace_loadings  # noqa: E402
from neurotools.analyses.biclustering.params import BiclusterParams, SimParams  # noqa: E402
from neurotools.analyses.biclustering.sampler import Chain  # noqa: E402
from neurotools.analyses.biclustering.simulate import simulate_counts  # noqa: E402
from neurotools.analyses.biclustering.splitmerge import (  # noqa: E402
    PathProposal,
    _log_partition_ratio,
    principal_path,
)
from neurotools.analyses.biclustering.summaries import adjusted_rand  # noqa: E402


def fitted_dynamics(path: np.ndarray, states: np.ndarray, v0: float, s0: float = 0.01,
                    nu_extra: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior-mean (A, b, Q) of each state for one path (T, q) under the sampler's MNIW."""
    T, q = path.shape
    Z = np.hstack([path[:-1], np.ones((T - 1, 1))])
    Y, moves = path[1:], states[1:]
    M0 = np.hstack([np.eye(q), np.zeros((q, 1))])
    V0i = np.eye(q + 1) / v0
    L = int(states.max()) + 1
    A, b, Q = np.empty((L, q, q)), np.empty((L, q)), np.empty((L, q, q))
    for k in range(L):
        m = moves == k
        Szz = Z[m].T @ Z[m] + V0i
        Syz = Y[m].T @ Z[m] + M0 @ V0i
        Syy = Y[m].T @ Y[m] + M0 @ V0i @ M0.T
        W = np.linalg.solve(Szz, Syz.T).T
        Q[k] = symmetrize(s0 * np.eye(q) + Syy - W @ Syz.T) / (nu_extra + m.sum() - 1)
        A[k], b[k] = W[:, :q], W[:, q]
    return A, b, Q


def laplace_path(y, d, r, ell, x0, states, A, b, Q, n_newton: int = 6) -> PathProposal:
    """Laplace approximation of one path's posterior: NB counts of its neurons, Gaussian
    switching dynamics (A, b, Q) per state."""
    T, q = x0.shape
    diag, upper, info = dynamics_information(states, A, b, Q)
    x = x0.copy()
    for it in range(n_newton + 1):
        mu = np.exp(np.minimum(d[:, None] + ell @ x.T, 30.0))
        frac = mu / (mu + r[:, None])
        grad_obs = (y - (y + r[:, None]) * frac).T @ ell
        H = np.einsum("mt,mk,ml->tkl", (y + r[:, None]) * frac * (1 - frac), ell, ell)
        ab = banded_upper(symmetrize(diag + H), upper)
        if it == n_newton:
            break
        prior_x = np.einsum("tkl,tl->tk", diag, x)
        prior_x[:-1] += np.einsum("tkl,tl->tk", upper, x[1:])
        prior_x[1:] += np.einsum("tlk,tl->tk", upper, x[:-1])
        x = x + solveh_banded(ab, (grad_obs - prior_x + info).reshape(-1)).reshape(T, q)
    return PathProposal(x, ab)


def reference(chain: Chain, members: np.ndarray, dynamics) -> PathProposal:
    """Gaussian reference of one cluster path: PCA start, then path <-> loadings, 4 rounds."""
    s = chain.state
    x, ell = principal_path(chain.logr0[members], chain.p)
    for _ in range(4):
        q = laplace_path(chain.y[members], s.d[members], s.r[members], ell, x, s.states, *dynamics)
        x = q.mean
        _, modes, _ = laplace_loadings(chain.y[members], s.d[members], s.r[members],
                                       x[None, None], True)
        ell = np.concatenate([np.ones((len(members), 1)), modes[:, 0]], 1)
    return q


def ais_log_evidence(chain: Chain, groups: list[np.ndarray], others: np.ndarray, dynamics,
                     steps: int, rng: np.random.Generator) -> float:
    """One AIS estimate of ``log int prod_groups lik * p(paths | others, states) d paths``."""
    s = chain.state
    refs = [reference(chain, g, dynamics) for g in groups]
    base = chain.paths_log_prior(others)

    def log_weight(paths):
        total = chain.paths_log_prior(np.concatenate([others] + [x[:, None] for x in paths], 1))
        total -= base
        for g, q, x in zip(groups, refs, paths):
            ll, _, _ = laplace_loadings(chain.y[g], s.d[g], s.r[g], x[None, None], True)
            total += ll[:, 0].sum() - q.logpdf(x)
        return total

    betas = np.linspace(0.0, 1.0, steps + 1) ** 3
    paths = [q.sample(rng) for q in refs]
    current = log_weight(paths)
    log_w, rho, accepted, tried = 0.0, 0.3, 0, 0
    for k in range(1, steps + 1):
        log_w += (betas[k] - betas[k - 1]) * current
        for _ in range(3):
            prop = [q.mean + np.sqrt(1 - rho**2) * (x - q.mean) + rho * (q.sample(rng) - q.mean)
                    for q, x in zip(refs, paths)]
            value = log_weight(prop)
            tried += 1
            if np.log(rng.random()) < betas[k] * (value - current):
                paths, current = prop, value
                accepted += 1
        if k % 10 == 0:                       # keep the acceptance rate near 20-35%
            rate = accepted / tried
            rho *= 1.3 if rate > 0.35 else 0.75 if rate < 0.2 else 1.0
            rho = float(np.clip(rho, 0.005, 0.9))
            accepted = tried = 0
    return log_w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0, help="simulation seed")
    ap.add_argument("--pairs", default="0-1,0-2,1-2", help="true-cluster pairs, e.g. 0-1,0-2")
    ap.add_argument("--sweeps", type=int, default=100, help="sweeps of the chain before the study")
    ap.add_argument("--chain-seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=1600, help="AIS temperatures")
    ap.add_argument("--runs", type=int, default=2, help="AIS runs per partition")
    ap.add_argument("--dynamics-v0", type=float, default=None,
                    help="V0 of the paths' prior (default: the run's default, 10)")
    args = ap.parse_args()
    sim = simulate_counts(SimParams(), args.seed)
    truth = sim["neuron_clusters"]
    chain = Chain(sim["counts"].T, model_config(BiclusterParams()),
                  np.random.default_rng(args.chain_seed))
    t0 = time.perf_counter()
    for _ in range(args.sweeps):
        chain.step()
    if args.dynamics_v0 is not None:
        chain.cfg.dynamics_v0 = args.dynamics_v0
    s = chain.state
    print(f"simulation seed {args.seed}: chain after {args.sweeps} sweeps has K = {s.K}, "
          f"ARI {adjusted_rand(truth, s.z):.2f} ({time.perf_counter() - t0:.0f} s); "
          f"V0 = {chain.cfg.dynamics_v0:g}, {args.steps} AIS steps, {args.runs} runs")
    print("| pair | log evidence merged (runs) | log evidence split (runs) | MFM prior ratio | "
          "log BF split - merged |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(11)
    for pair in args.pairs.split(","):
        a, b = (int(v) for v in pair.split("-"))
        S = np.flatnonzero((truth == a) | (truth == b))
        touched = np.unique(s.z[S])
        if np.any(np.isin(s.z[~np.isin(np.arange(chain.N), S)], touched)):
            print(f"| {pair} | the chain's clusters mix these neurons with others: skipped | | | |")
            continue
        others = s.lat[:, np.setdiff1d(np.arange(s.K), touched)]
        kept = int(np.bincount(s.z[S]).argmax())
        dynamics = fitted_dynamics(s.lat[:, kept], s.states, chain.cfg.dynamics_v0)
        merged = [ais_log_evidence(chain, [S], others, dynamics, args.steps, rng)
                  for _ in range(args.runs)]
        split = [ais_log_evidence(chain, [S[truth[S] == a], S[truth[S] == b]], others, dynamics,
                                  args.steps, rng) for _ in range(args.runs)]
        sizes = [int((truth[S] == a).sum()), int((truth[S] == b).sum())]
        prior = _log_partition_ratio(*sizes, s.K - len(touched) + 2, chain.cfg.neuron_prior,
                                     chain.cfg.gamma_mfm, chain.log_v, chain.cfg.alpha_dp)
        bf = (logsumexp(split) - logsumexp(merged)) + prior
        print(f"| {pair} | {' / '.join(f'{v:.1f}' for v in merged)} | "
              f"{' / '.join(f'{v:.1f}' for v in split)} | {prior:.1f} | {bf:.1f} |", flush=True)


if __name__ == "__main__":
    main()
