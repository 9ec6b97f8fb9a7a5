"""Study (not adopted): choosing the starting neuron partition by a leave-one-neuron-out score.

The bi-clustering chains keep the neuron partition they start from (docs/analyses/biclustering.md,
Limitations). This study asks whether a data-only score can pick a better start than the
silhouette cut of the correlation tree. Score of a partition: the sum over neurons of the
neuron's Laplace log marginal likelihood (loadings integrated, :func:`laplace_loadings`) under
its cluster's latent path fitted *without* it (a Laplace fit under the ``G0`` base measure,
:func:`laplace_path_proposal`, alternated three times with the members' loadings). A neuron
never scores against a path fitted to itself, so extra clusters are not rewarded for fitting
noise, and a singleton is scored against a flat path.

Search, from the default start: merges of any two clusters, splits of a cluster along any cut
(2-8 clusters) of the correlation tree, each split refined by single-neuron moves between its
parts, and single-neuron moves; the best improving candidate is taken until none improves.

Usage::

    .venv/bin/python bench/study_bicluster_loo_start.py --seeds 0,1,2,3,4,5
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.ndimage import gaussian_filter1d  # noqa: E402

from neurotools.analyses.biclustering.laplace import laplace_loadings  # noqa: E402
from neurotools.analyses.biclustering.params import SimParams  # noqa: E402
from neurotools.analyses.biclustering.sampler import initial_partition  # noqa: E402
from neurotools.analyses.biclustering.simulate import simulate_counts  # noqa: E402
from neurotools.analyses.biclustering.splitmerge import (  # noqa: E402
    laplace_path_proposal,
    principal_path,
)
from neurotools.analyses.biclustering.summaries import adjusted_rand, relabel  # noqa: E402

LATENT_DIM = 2
DISPERSION = 10.0


class LooScorer:
    """Leave-one-neuron-out scores of partitions of the counts ``y`` (N, T), with a cache."""

    def __init__(self, y: np.ndarray):
        self.y = np.asarray(y, float)
        self.N, self.T = self.y.shape
        self.d = np.log(self.y.mean(1) + 0.05)
        self.r = np.full(self.N, DISPERSION)
        logr = np.log(gaussian_filter1d(self.y, 2.0, axis=1, mode="nearest") + 0.1)
        self.logr = logr - logr.mean(1, keepdims=True)
        self._cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def _marginals(self, idx, path: np.ndarray) -> np.ndarray:
        ll, _, _ = laplace_loadings(self.y[idx], self.d[idx], self.r[idx], path[None, None], True)
        return ll[:, 0]

    def fit_path(self, members: np.ndarray, rounds: int = 3) -> np.ndarray:
        """Latent path (T, 1 + p) of a cluster: PCA start, then Laplace path <-> loadings."""
        if len(members) == 0:
            return np.zeros((self.T, 1 + LATENT_DIM))
        path, ell = principal_path(self.logr[members], LATENT_DIM)
        for _ in range(rounds):
            path = laplace_path_proposal(self.y[members], self.d[members], self.r[members], ell,
                                         path, 0.95, 0.3).mean
            _, modes, _ = laplace_loadings(self.y[members], self.d[members], self.r[members],
                                           path[None, None], True)
            ell = np.concatenate([np.ones((len(members), 1)), modes[:, 0]], 1)
        return path

    def cluster(self, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every neuron's score under the cluster's path, and the members' left-out scores."""
        key = tuple(sorted(int(i) for i in members))
        if key not in self._cache:
            m = np.array(key, dtype=int)
            everyone = self._marginals(np.arange(self.N), self.fit_path(m))
            own = np.array([self._marginals([i], self.fit_path(m[m != i]))[0] for i in m])
            self._cache[key] = (everyone, own)
        return self._cache[key]

    def table(self, z: np.ndarray) -> np.ndarray:
        """``score[i, k]``: neuron i under cluster k (left out of it when it is a member)."""
        K = int(z.max()) + 1
        out = np.empty((self.N, K))
        for k in range(K):
            members = np.flatnonzero(z == k)
            everyone, own = self.cluster(members)
            out[:, k] = everyone
            out[members, k] = own
        return out

    def total(self, z: np.ndarray) -> float:
        """Score of the partition z (nats)."""
        return float(self.table(z)[np.arange(self.N), z].sum())


def _refine(scorer: LooScorer, z: np.ndarray, members: np.ndarray, rounds: int = 6) -> np.ndarray:
    """Best single-neuron moves among the clusters holding ``members`` while the score rises.

    A move is tried only when the neuron scores at most 20 nats worse under the target cluster
    than under its own (the table's scores are a cheap screen; the total decides).
    """
    current = scorer.total(z)
    for _ in range(rounds):
        table = scorer.table(z)
        clusters = np.unique(z[members])
        best, best_z = current, None
        for i in members:
            for k in clusters:
                if k == z[i] or table[i, k] < table[i, z[i]] - 20.0:
                    continue
                cand = z.copy()
                cand[i] = k
                if np.all(np.isin(clusters, cand)):
                    value = scorer.total(cand)
                    if value > best:
                        best, best_z = value, cand
        if best_z is None:
            break
        current, z = best, best_z
    return z


def search(scorer: LooScorer, z: np.ndarray, cuts: list[np.ndarray],
           max_steps: int = 60) -> tuple[np.ndarray, float]:
    """Greedy search over merges, refined tree-cut splits and single-neuron moves."""
    z = relabel(z.copy())
    current = scorer.total(z)
    for _ in range(max_steps):
        K = int(z.max()) + 1
        cands = []
        for a in range(K):
            for b in range(a + 1, K):
                cands.append(np.where(z == b, a, z))
        for k in range(K):
            members = np.flatnonzero(z == k)
            for cut in cuts:
                parts = cut[members]
                if len(members) < 2 or len(np.unique(parts)) < 2:
                    continue
                cand = z.copy()
                cand[members] = np.where(parts == parts[0], k, K + parts)
                cands.append(_refine(scorer, relabel(cand), members))
        table = scorer.table(z)
        gain = table.max(1) - table[np.arange(len(z)), z]
        for i in np.argsort(-gain)[:5]:
            for k in range(K):
                if k != z[i] and table[i, k] > table[i, z[i]]:
                    cand = z.copy()
                    cand[i] = k
                    cands.append(cand)
        best, best_z = current, None
        for cand in cands:
            cand = relabel(cand)
            value = scorer.total(cand)
            if value > best + 1e-6:
                best, best_z = value, cand
        if best_z is None:
            break
        current, z = best, best_z
    return z, current


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2,3,4,5", help="simulation seeds, comma-separated")
    args = ap.parse_args()
    print("| seed | default start: K / ARI / score | truth: score | search: K / ARI / score | "
          "seconds |")
    print("|---|---|---|---|---|")
    for seed in (int(s) for s in args.seeds.split(",")):
        t0 = time.perf_counter()
        sim = simulate_counts(SimParams(), seed)
        y, truth = sim["counts"].T, sim["neuron_clusters"]
        scorer = LooScorer(y)
        sd = scorer.logr.std(1, keepdims=True)
        standardised = scorer.logr / np.where(sd > 0, sd, 1.0)
        start = relabel(initial_partition(standardised))
        cuts = [initial_partition(standardised, k) for k in range(2, 9)]
        found, score = search(scorer, start, cuts)
        print(f"| {seed} | {start.max() + 1} / {adjusted_rand(truth, start):.2f} / "
              f"{scorer.total(start):.1f} | {scorer.total(relabel(truth)):.1f} | "
              f"{found.max() + 1} / {adjusted_rand(truth, found):.2f} / {score:.1f} | "
              f"{time.perf_counter() - t0:.0f} |", flush=True)


if __name__ == "__main__":
    main()
